/*
 * Public header of libptmalloc.  The library exports exactly glibc's allocation API, so programs
 * need nothing beyond <stdlib.h> and <malloc.h> to use it; this header adds the heap's data
 * structures (glibc 2.36 names and layout) for tools that read a heap themselves.
 */
#ifndef PTMALLOC_H
#define PTMALLOC_H

#include <malloc.h>
#include <stdlib.h>

#include <ptmalloc/malloc_types.h>

/* The glibc release whose behaviour and layout the library reproduces. */
#define PTMALLOC_GLIBC_VERSION "2.36"

#endif
