/*
 * The integrity-check cases, one per abort message of glibc 2.36 that a program can provoke.
 */
#ifndef UNIT_INTEGRITY_SUITES_H
#define UNIT_INTEGRITY_SUITES_H

#include "heap_case.h"

extern const struct heap_case integrity_malloc_cases[];
extern const struct heap_case integrity_free_cases[];

#endif
