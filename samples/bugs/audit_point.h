/*
 * Shared by every sample in samples/bugs/: the marked function where the audit driver stops.
 *
 * The driver breaks on audit_point(), runs `heap check --json`, then lets the program go on into
 * its fatal operation.  noinline and the empty asm keep it a real call even if someone builds a
 * sample with optimisation.  Samples hand the pointer they are about to free to the driver
 * through `pending_free`, so `heap check --free pending_free` can judge that call before it runs.
 */
#ifndef SAMPLES_BUGS_AUDIT_POINT_H
#define SAMPLES_BUGS_AUDIT_POINT_H

void *volatile pending_free;

__attribute__((noinline)) void audit_point(void) { __asm__ volatile(""); }

#endif
