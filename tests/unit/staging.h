/*
 * Small tools for staging heap states inside a case body: filling a tcache bin, corrupting a link
 * with the right safe-linking, and a decoy chunk whose links point nowhere useful.
 *
 * gcc 12 warns about (and may reason about) a pointer used after free; the corruptions here are
 * deliberate, so pointers pass through launder() to hide their history from the compiler.
 */
#ifndef UNIT_STAGING_H
#define UNIT_STAGING_H

#include <stdlib.h>

#include "heap_case.h"

/* Using a chunk after freeing it is the whole point of these files. */
#pragma GCC diagnostic ignored "-Wuse-after-free"

#define TCACHE_BIN_CAPACITY 7

void *launder(void *pointer);

/* Fresh process: the bin is empty, so seven frees fill it exactly.  Allocate the chunks under
   test first: once the bin is full, a malloc of that size is served from it. */
void fill_tcache_bin(size_t request);
/* Takes the seven chunks of a full tcache bin back out (they stay allocated). */
void drain_tcache_bin(size_t request);

/* A fake free chunk in .bss: every link is NULL, so any "does it point back?" test fails on it. */
extern struct malloc_chunk decoy_chunk;

/* Store target in a safe-linked slot (tcache next, fastbin fd) as the allocator would. */
static inline void store_safe_link(void *slot, void *target)
{
	*(void **)slot = protect_pointer(slot, target);
}
static inline void *misaligned(void *pointer) { return (char *)pointer + 8; }

#endif
