/*
 * See staging.h.
 */
#include "staging.h"

struct malloc_chunk decoy_chunk;
static void *volatile laundry;

void *launder(void *pointer)
{
	laundry = pointer;
	return laundry;
}

void fill_tcache_bin(size_t request)
{
	void *chunks[TCACHE_BIN_CAPACITY];
	for (int i = 0; i < TCACHE_BIN_CAPACITY; i++)
		chunks[i] = must_malloc(request);
	for (int i = 0; i < TCACHE_BIN_CAPACITY; i++)
		free(chunks[i]);
}

void drain_tcache_bin(size_t request)
{
	for (int i = 0; i < TCACHE_BIN_CAPACITY; i++)
		launder(must_malloc(request));
}
