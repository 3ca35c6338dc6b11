/*
 * The CUnit side of heap scenarios: one CUnit test per (case, allocator configuration), each of
 * which re-executes this very binary as `BINARY --case SUITE CASE ALLOCATOR` and judges how it ended.
 */
#ifndef UNIT_CASE_RUNNER_H
#define UNIT_CASE_RUNNER_H

#include <stddef.h>

#include "heap_case.h"

/* default_configs: comma-separated list of "self" (the binary as linked), "glibc" (dynamic binary,
   allocator environment removed) and "clone" (the same with LD_PRELOAD=libptmalloc.so).
   Command line: --configs LIST, --clone PATH (default: ../libptmalloc.so next to the binary),
   --known-failures FILE (lines "suite/case" left out under "clone"/"self", and listed),
   --case SUITE CASE ALLOCATOR (the child side). */
int case_runner_main(int argc, char **argv, const struct heap_suite *suites, size_t suite_count,
                     const char *default_configs);

#endif
