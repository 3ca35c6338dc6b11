/*
 * Healthy heaps in every state, for the prediction oracle: a tcache bin partly filled or full,
 * fastbins, small bins, the unsorted bin, large bins, chunks against top, the last remainder,
 * mmapped chunks, realloc's paths, chunks of another thread's arena and long random histories.
 * Each builder ends by asking for one call on the state it made (situations.h).
 */
#include <stdlib.h>

#include "situations.h"

/* One of the blocks, or a new request, for a call on a healthy heap. */
static void ask_some(void **blocks, int count)
{
	void *block = count ? blocks[rnd((uint64_t)count)] : NULL;
	switch (rnd(block ? 3 : 1)) {
	case 0:
		ask_malloc(request_any());
		break;
	case 1:
		ask_free(block);
		break;
	default:
		ask_realloc(block, rnd(4) ? request_any() : rnd(2) * 8);
		break;
	}
}

static int fresh(size_t *stack)
{
	(void)stack;
	void *blocks[8];
	int count = (int)rnd(8);
	for (int i = 0; i < count; i++)
		blocks[i] = must_malloc(request_any());
	ask_some(blocks, count);
	return 1;
}

static int tcache_partial(size_t *stack)
{
	(void)stack;
	size_t request = request_tcache();
	void *blocks[8];
	int count = 1 + (int)rnd(6), freed = 1 + (int)rnd((uint64_t)count);
	for (int i = 0; i < count; i++)
		blocks[i] = must_malloc(request);
	must_malloc(24);
	for (int i = 0; i < freed; i++)
		free(blocks[i]);
	if (freed < count && rnd(2))
		ask_free(blocks[freed + (int)rnd((uint64_t)(count - freed))]);
	else if (rnd(4))
		ask_malloc((chunk_size(request) - 24) + rnd(16));
	else
		ask_some(blocks + freed, count - freed);
	return 1;
}

static int tcache_full(size_t *stack)
{
	(void)stack;
	size_t request = rnd(2) ? request_fast() : request_tcache();
	void *blocks[12];
	int extra = 1 + (int)rnd(4);
	for (int i = 0; i < TCACHE_FILL + extra; i++)
		blocks[i] = must_malloc(request);
	if (rnd(2))
		must_malloc(24);
	for (int i = 0; i < TCACHE_FILL; i++)
		free(blocks[i]);
	if (rnd(3))
		ask_free(blocks[TCACHE_FILL + (int)rnd((uint64_t)extra)]);
	else
		ask_malloc(request);
	return 1;
}

static int fastbin(size_t *stack)
{
	(void)stack;
	size_t request = request_fast();
	void *blocks[12];
	int extra = 1 + (int)rnd(4);
	for (int i = 0; i < TCACHE_FILL + extra + 1; i++)
		blocks[i] = must_malloc(request);
	must_malloc(24);
	for (int i = 0; i < TCACHE_FILL + extra; i++)
		free(blocks[i]);
	int drained = (int)rnd(TCACHE_FILL + 1);
	for (int i = 0; i < drained; i++)
		must_malloc(request);
	switch (rnd(4)) {
	case 0:
		ask_free(blocks[TCACHE_FILL + extra]);
		break;
	case 1:
		ask_malloc(request_large());
		break; /* consolidates the fastbins first */
	default:
		ask_malloc(request);
		break;
	}
	return 1;
}

/* `count` chunks of `request` with a guard after each, freed past a full tcache: in the unsorted
   bin, or sorted into their bins by a larger request when `sort`. */
static void freed_with_guards(size_t request, int count, int sort, void **blocks, void **guards)
{
	for (int i = 0; i < count; i++) {
		blocks[i] = must_malloc(request);
		guards[i] = must_malloc(rnd(3) ? 24 : request_large());
	}
	fill_tcache(request);
	for (int i = 0; i < count; i++)
		free(blocks[i]);
	if (sort)
		must_malloc(0x5000 + rnd(0x1000));
}

static int smallbin(size_t *stack)
{
	(void)stack;
	size_t request = request_small();
	void *blocks[4], *guards[4];
	int count = 1 + (int)rnd(4);
	freed_with_guards(request, count, 1, blocks, guards);
	if (rnd(2))
		drain_tcache(request);
	switch (rnd(4)) {
	case 0:
		ask_free(guards[rnd((uint64_t)count)]);
		break;
	case 1:
		ask_malloc(request_small());
		break;
	default:
		ask_malloc(request);
		break;
	}
	return 1;
}

static int unsorted(size_t *stack)
{
	(void)stack;
	size_t request = rnd(3) ? request_large() : request_small();
	void *blocks[4], *guards[4];
	int count = 1 + (int)rnd(3);
	freed_with_guards(request, count, 0, blocks, guards);
	if (rnd(2))
		drain_tcache(request);
	switch (rnd(5)) {
	case 0:
		ask_malloc(request);
		break;
	case 1:
		ask_malloc(request_tcache());
		break;
	case 2:
		ask_malloc(request + 0x100 + rnd(0x1000));
		break;
	case 3:
		ask_free(guards[rnd((uint64_t)count)]);
		break;
	default:
		ask_realloc(guards[rnd((uint64_t)count)], request_any());
		break;
	}
	return 1;
}

static int largebin(size_t *stack)
{
	(void)stack;
	void *blocks[4], *guards[4];
	size_t requests[4];
	int count = 1 + (int)rnd(4);
	for (int i = 0; i < count; i++) {
		requests[i] = request_large();
		blocks[i] = must_malloc(requests[i]);
		guards[i] = must_malloc(24);
	}
	for (int i = 0; i < count; i++)
		free(blocks[i]);
	must_malloc(0x4000 + rnd(0x1000));
	size_t pick = requests[rnd((uint64_t)count)];
	switch (rnd(4)) {
	case 0:
		ask_malloc(pick);
		break;
	case 1:
		ask_malloc(pick - rnd(0x200));
		break;
	case 2:
		ask_free(guards[rnd((uint64_t)count)]);
		break;
	default:
		ask_malloc(request_large());
		break;
	}
	return 1;
}

static int top_adjacent(size_t *stack)
{
	(void)stack;
	for (int i = (int)rnd(4); i > 0; i--)
		must_malloc(request_any());
	size_t request = rnd(2) ? request_large() : request_tcache();
	void *fill[TCACHE_FILL];
	int filled = rnd(2) ? TCACHE_FILL : 0;
	for (int i = 0; i < filled; i++)
		fill[i] = must_malloc(request);
	void *last = must_malloc(request);
	for (int i = 0; i < filled; i++)
		free(fill[i]);
	switch (rnd(4)) {
	case 0:
		ask_free(last);
		break;
	case 1:
		ask_realloc(last, request + rnd(0x2000));
		break;
	case 2:
		ask_realloc(last, request / 2);
		break;
	default:
		ask_malloc(request_any());
		break;
	}
	return 1;
}

static int last_remainder(size_t *stack)
{
	(void)stack;
	size_t small = request_small();
	void *big = must_malloc(0x800 + rnd(0x800));
	must_malloc(24);
	free(big);
	must_malloc(small);
	ask_malloc(rnd(2) ? small : request_small());
	return 1;
}

static int mmapped(size_t *stack)
{
	(void)stack;
	void *block = must_malloc(request_mmapped());
	if (rnd(3) == 0) {
		free(must_malloc(request_mmapped())); /* raises the mmap threshold */
		block = must_malloc(request_mmapped());
	}
	switch (rnd(4)) {
	case 0:
		ask_free(block);
		break;
	case 1:
		ask_realloc(block, rnd(2) ? request_mmapped() : request_tcache());
		break;
	case 2:
		ask_malloc(request_mmapped());
		break;
	default:
		ask_realloc(block, 0x200000 + rnd(0x100000));
		break;
	}
	return 1;
}

static int realloc_paths(size_t *stack)
{
	(void)stack;
	size_t request = request_any();
	void *block = must_malloc(request);
	void *next = must_malloc(rnd(2) ? request_large() : request_tcache());
	must_malloc(24);
	if (rnd(2)) {
		fill_tcache((size_t)(header_of(next)[1] & ~7UL) - SIZE_WORD);
		free(next);
	}
	size_t size = rnd(3) ? request + rnd(0x600) : request / (1 + rnd(4));
	ask_realloc(block, rnd(10) ? size : 0);
	return 1;
}

static int other_arena(size_t *stack)
{
	(void)stack;
	static void *blocks[8];
	size_t request = rnd(2) ? request_tcache() : request_large();
	int count = 2 + (int)rnd(6);
	helper_thread(request, count, (int)rnd(2), blocks);
	void *block = blocks[count - 1];
	if (rnd(2))
		fill_tcache(request);
	switch (rnd(3)) {
	case 0:
		ask_realloc(block, request_any());
		break;
	default:
		ask_free(block);
		break;
	}
	return 1;
}

static int random_mix(size_t *stack)
{
	(void)stack;
	void *blocks[32] = {0};
	int steps = 50 + (int)rnd(300);
	for (int i = 0; i < steps; i++) {
		int slot = (int)rnd(32);
		if (blocks[slot]) {
			free(blocks[slot]);
			blocks[slot] = NULL;
		} else {
			blocks[slot] = must_malloc(request_any());
		}
	}
	void *held[32];
	int count = 0;
	for (int i = 0; i < 32; i++)
		if (blocks[i])
			held[count++] = blocks[i];
	ask_some(held, count);
	return 1;
}

const struct situation clean_situations[] = {
    {"fresh", fresh},
    {"tcache-partial", tcache_partial},
    {"tcache-full", tcache_full},
    {"fastbin", fastbin},
    {"smallbin", smallbin},
    {"unsorted", unsorted},
    {"largebin", largebin},
    {"top", top_adjacent},
    {"remainder", last_remainder},
    {"mmapped", mmapped},
    {"realloc", realloc_paths},
    {"other-arena", other_arena},
    {"random-mix", random_mix},
    {NULL, NULL},
};
