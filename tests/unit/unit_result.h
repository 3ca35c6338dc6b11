/*
 * Running a CUnit registry with the basic runner and turning its outcome into an exit status.
 * CUnit's basic runner returns success even when assertions failed, so the verdict is read from
 * the failure counters instead.
 */
#ifndef UNIT_RESULT_H
#define UNIT_RESULT_H

/* Runs every registered suite verbosely, prints CUnit's summary, cleans up; 0 only if all passed. */
int unit_run_registry(void);
/* Reports a registry error (out of memory, duplicate name) and returns a failing exit status. */
int unit_registry_error(void);

#endif
