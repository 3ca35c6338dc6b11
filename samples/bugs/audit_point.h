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

/* Each sample's bug is deliberate: the compiler's own use-after-free and overflow warnings
   would refuse to build the very code the audit is meant to catch at run time. */
#pragma GCC diagnostic ignored "-Wuse-after-free"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

void *volatile pending_free;

__attribute__((noinline)) void audit_point(void) { __asm__ volatile(""); }

#endif
