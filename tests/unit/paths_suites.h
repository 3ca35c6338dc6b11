/*
 * The cases for each path through malloc, free, realloc, calloc and the memalign family, with the
 * addresses and headers glibc 2.36 produces on a fresh heap (GLIBC-2.36-FACTS.md §4).
 */
#ifndef UNIT_PATHS_SUITES_H
#define UNIT_PATHS_SUITES_H

#include "heap_case.h"

extern const struct heap_case malloc_path_cases[];
extern const struct heap_case free_path_cases[];
extern const struct heap_case realloc_path_cases[];
extern const struct heap_case calloc_and_aligned_cases[];

#endif
