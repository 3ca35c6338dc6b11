/*
 * Damaged heaps for the prediction oracle: chunk headers (size, prev_size, PREV_INUSE), the links
 * of the tcache, fastbins, small, unsorted and large bins, tcache counts, double frees, mmapped
 * chunks' headers and the top size.  Fake chunks and foreign pointers: situations_foreign.c.
 */
#include <stdlib.h>

#include "situations.h"

/* A chunk of `request` held, with a guard after it, the tcache of its size full or not. */
static void *victim(size_t request)
{
	void *block = must_malloc(request);
	must_malloc(rnd(2) ? 24 : request_tcache());
	if (rnd(2))
		fill_tcache(request);
	return block;
}

static int size_damage(size_t *stack)
{
	(void)stack;
	void *block = victim(request_any());
	header_of(block)[1] = bad_size(header_of(block)[1]);
	if (rnd(4))
		ask_free(block);
	else
		ask_realloc(block, request_any());
	return 1;
}

static int next_size_damage(size_t *stack)
{
	(void)stack;
	size_t request = rnd(2) ? request_fast() : request_tcache();
	void *block = victim(request);
	size_t *next = (size_t *)((char *)header_of(block) + (header_of(block)[1] & ~7UL));
	next[1] = bad_size(next[1]);
	if (rnd(4))
		ask_free(block);
	else
		ask_realloc(block, request + rnd(0x400));
	return 1;
}

static int prev_inuse_damage(size_t *stack)
{
	(void)stack;
	void *block = victim(rnd(2) ? request_large() : request_tcache());
	size_t *next = (size_t *)((char *)header_of(block) + (header_of(block)[1] & ~7UL));
	next[1] &= ~PREV_INUSE;
	ask_free(block);
	return 1;
}

static int prev_size_damage(size_t *stack)
{
	(void)stack;
	size_t request = rnd(2) ? request_large() : request_small();
	void *before = must_malloc(rnd(2) ? request_small() : request_large());
	void *block = must_malloc(request);
	must_malloc(24);
	if (rnd(2))
		fill_tcache(request);
	size_t before_size = header_of(before)[1] & ~7UL;
	if (rnd(2))
		free(before); /* really free: only prev_size is then wrong */
	header_of(block)[1] &= ~PREV_INUSE;
	switch (rnd(4)) {
	case 0:
		header_of(block)[0] = before_size;
		break;
	case 1:
		header_of(block)[0] = before_size + 0x10 * (1 + rnd(4));
		break;
	case 2:
		header_of(block)[0] = rnd(0) & ~15UL;
		break;
	default:
		header_of(block)[0] = 0x10 * rnd(0x40);
		break;
	}
	ask_free(block);
	return 1;
}

/* A pointer value for a poisoned link: a fake chunk in .data or on the stack, garbage, unaligned. */
static uintptr_t poison(size_t *stack, size_t size)
{
	size_t *fake = rnd(2) ? data_area + 2 * rnd(8) : stack + 2 * rnd(8);
	fake[1] = rnd(3) ? (size | PREV_INUSE) : bad_size(size);
	switch (rnd(5)) {
	case 0:
		return (uintptr_t)rnd(0);
	case 1:
		return (uintptr_t)(fake + 2) + 8;
	case 2:
		return 0;
	default:
		return (uintptr_t)(rnd(2) ? fake + 2 : fake);
	}
}

static int tcache_link(size_t *stack)
{
	size_t request = request_tcache();
	void *blocks[7];
	int count = 1 + (int)rnd(5);
	for (int i = 0; i < count; i++)
		blocks[i] = must_malloc(request);
	for (int i = 0; i < count; i++)
		free(blocks[i]);
	int depth = (int)rnd((uint64_t)count);
	size_t *entry = blocks[count - 1 - depth];
	uintptr_t target = poison(stack, chunk_size(request));
	entry[0] = rnd(4) ? PROTECT(entry, target) : target;
	if (rnd(4) == 0)
		entry[1] = rnd(0);
	for (int i = 0; i <= depth && rnd(3); i++)
		must_malloc(request);
	ask_malloc(request);
	return 1;
}

static int tcache_count(size_t *stack)
{
	(void)stack;
	uintptr_t tcache = tcache_struct();
	if (!tcache)
		return 0;
	size_t request = request_tcache(), index = (chunk_size(request) - 17) / 16;
	void *held = must_malloc(request);
	if (rnd(2))
		free(must_malloc(request));
	uint16_t *counts = (uint16_t *)tcache;
	uintptr_t *entries = (uintptr_t *)(tcache + 128);
	if (rnd(3))
		counts[index] = (uint16_t)rnd(rnd(2) ? 10 : 0x10000);
	else
		entries[index] = rnd(2) ? (uintptr_t)rnd(0) : (uintptr_t)(data_area + 2);
	if (rnd(2))
		ask_malloc(request);
	else
		ask_free(held);
	return 1;
}

static int double_free_tcache(size_t *stack)
{
	(void)stack;
	size_t request = request_tcache();
	void *block = must_malloc(request), *other = must_malloc(request);
	must_malloc(24);
	free(block);
	if (rnd(2))
		free(other);
	if (rnd(4) == 0)
		((size_t *)block)[1] = rnd(2) ? 0 : rnd(0); /* the key wiped: not caught by it */
	ask_free(block);
	return 1;
}

static int double_free_fastbin(size_t *stack)
{
	(void)stack;
	size_t request = request_fast();
	void *block = must_malloc(request), *other = must_malloc(request);
	must_malloc(24);
	fill_tcache(request);
	free(block);
	if (rnd(2))
		free(other); /* block is no longer on top: the second free slips through */
	ask_free(block);
	return 1;
}

static int double_free_normal(size_t *stack)
{
	(void)stack;
	size_t request = rnd(2) ? request_large() : request_small();
	void *block = must_malloc(request);
	if (rnd(3))
		must_malloc(24);
	fill_tcache(request);
	free(block);
	if (rnd(3) == 0)
		must_malloc(0x5000); /* sorted into its bin first */
	ask_free(block);
	return 1;
}

static int fastbin_link(size_t *stack)
{
	size_t request = request_fast();
	void *blocks[4];
	int count = 1 + (int)rnd(3);
	for (int i = 0; i < count; i++) {
		blocks[i] = must_malloc(request);
		must_malloc(24);
	}
	fill_tcache(request);
	for (int i = 0; i < count; i++)
		free(blocks[i]);
	size_t *entry = blocks[count - 1 - (int)rnd((uint64_t)count)];
	uintptr_t target = poison(stack, chunk_size(request));
	entry[0] = rnd(4) ? PROTECT(entry, target) : target;
	if (rnd(3))
		drain_tcache(request);
	ask_malloc(rnd(5) ? request : request_large());
	return 1;
}

/* Chunks of `request` in their small or large bin (count of them), their tcache drained. */
static void in_bins(size_t request, int count, void **blocks)
{
	for (int i = 0; i < count; i++) {
		blocks[i] = must_malloc(request + 0x10 * rnd(request > 0x400 ? 8 : 1));
		must_malloc(24);
	}
	fill_tcache(request);
	for (int i = 0; i < count; i++)
		free(blocks[i]);
	must_malloc(0x5000 + rnd(0x1000));
	drain_tcache(request);
}

static int smallbin_link(size_t *stack)
{
	size_t request = request_small();
	void *blocks[3];
	int count = 1 + (int)rnd(3);
	in_bins(request, count, blocks);
	size_t *entry = blocks[rnd((uint64_t)count)];
	entry[rnd(2)] = rnd(3) ? poison(stack, chunk_size(request)) - HEADER : entry[0] + 0x10;
	ask_malloc(request);
	return 1;
}

static int largebin_link(size_t *stack)
{
	size_t request = request_large();
	void *blocks[3];
	int count = 1 + (int)rnd(3);
	in_bins(request, count, blocks);
	size_t *entry = blocks[rnd((uint64_t)count)];
	entry[rnd(4)] = rnd(2) ? poison(stack, chunk_size(request)) - HEADER : rnd(0) & ~15UL;
	ask_malloc(rnd(2) ? request : request + 0x800 + rnd(0x800));
	return 1;
}

static int unsorted_damage(size_t *stack)
{
	size_t request = rnd(2) ? request_large() : request_small();
	size_t *block = must_malloc(request);
	must_malloc(24);
	fill_tcache(request);
	free(block);
	size_t *header = header_of(block), size = header[1] & ~7UL;
	size_t *next = (size_t *)((char *)header + size);
	switch (rnd(6)) {
	case 0:
		header[1] = bad_size(header[1]);
		break;
	case 1:
		next[1] = bad_size(next[1]);
		break;
	case 2:
		next[0] = rnd(2) ? 0 : size + 0x10;
		break;
	case 3:
		next[1] |= PREV_INUSE;
		break;
	case 4:
		block[1] = poison(stack, size) - HEADER;
		break;
	default:
		block[0] = poison(stack, size) - HEADER;
		break;
	}
	ask_malloc(rnd(3) ? 0x3000 + rnd(0x1000) : request_small());
	return 1;
}

static int top_size(size_t *stack)
{
	(void)stack;
	size_t *last = must_malloc(request_tcache());
	size_t *top = (size_t *)((char *)header_of(last) + (header_of(last)[1] & ~7UL));
	size_t size = top[1];
	switch (rnd(4)) {
	case 0:
		top[1] = rnd(0) | PREV_INUSE;
		break;
	case 1:
		top[1] = 0x20 + 0x10 * rnd(0x40) + (rnd(2) ? PREV_INUSE : 0);
		break;
	case 2:
		top[1] = (size & ~0xfffUL) | PREV_INUSE;
		break;
	default:
		top[1] = size & ~PREV_INUSE;
		break;
	}
	ask_malloc(rnd(2) ? (size & ~7UL) + rnd(0x1000) : request_tcache());
	return 1;
}

static int mmapped_damage(size_t *stack)
{
	(void)stack;
	void *block = must_malloc(request_mmapped());
	size_t *header = header_of(block);
	switch (rnd(4)) {
	case 0:
		header[0] = 0x10 * (1 + rnd(0x200));
		break;
	case 1:
		header[1] = bad_size(header[1]) | (rnd(2) ? IS_MMAPPED : 0);
		break;
	case 2:
		header[1] = (header[1] + 0x1000 * (1 + rnd(4)));
		break;
	default:
		header[0] = 0x1000 * rnd(4);
		break;
	}
	if (rnd(3))
		ask_free(block);
	else
		ask_realloc(block, rnd(2) ? request_mmapped() : request_tcache());
	return 1;
}

const struct situation damaged_situations[] = {
    {"size", size_damage},
    {"next-size", next_size_damage},
    {"prev-inuse", prev_inuse_damage},
    {"prev-size", prev_size_damage},
    {"tcache-link", tcache_link},
    {"tcache-count", tcache_count},
    {"double-free-tcache", double_free_tcache},
    {"double-free-fastbin", double_free_fastbin},
    {"double-free-normal", double_free_normal},
    {"fastbin-link", fastbin_link},
    {"smallbin-link", smallbin_link},
    {"largebin-link", largebin_link},
    {"unsorted-damage", unsorted_damage},
    {"top-size", top_size},
    {"mmapped-damage", mmapped_damage},
    {NULL, NULL},
};
