/*
 * Each path through free: tcache, fastbin, unsorted with backward and forward merges, merge into
 * top, malloc_consolidate on a large request, systrim, and errno preservation.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "paths_suites.h"
#include "staging.h"

static void tcache_then_fastbin(void)
{
	enum { REQUEST = 0x48 }; /* chunk 0x50 */
	void *c[8];
	for (int i = 0; i < 8; i++)
		c[i] = must_malloc(REQUEST);
	for (int i = 0; i < 8; i++)
		free(c[i]);
	EXPECT_EQ(tcache_key_of(c[6]), tcache_key_of(c[0]));
	EXPECT(tcache_key_of(c[7]) != tcache_key_of(c[6])); /* the eighth is not cached */
	EXPECT_EQ(revealed_link(&chunk_of(c[7])->fd), NULL);
	EXPECT(prev_inuse(next_chunk(chunk_of(c[7]))));
#if PTM_INTERNALS
	EXPECT_EQ(tcache->counts[3], 7);
	EXPECT_EQ(tcache->entries[3], c[6]);
	EXPECT_EQ(main_arena.fastbinsY[3], chunk_of(c[7]));
	EXPECT_EQ(main_arena.have_fastchunks, 1);
#endif
}

/* Three neighbours of 0x510 followed by a guard; freed in the given order. */
static void free_neighbours(const int order[3], void *chunk[3], void **guard)
{
	for (int i = 0; i < 3; i++)
		chunk[i] = must_malloc(0x508);
	*guard = must_malloc(0x18);
	for (int i = 0; i < 3; i++)
		free(chunk[order[i]]);
}

static void unsorted_merges_backward_and_forward(void)
{
	void *chunk[3], *guard;
	free_neighbours((const int[]){0, 2, 1}, chunk, &guard);
	EXPECT_EQ(raw_size_of(chunk[0]), 0xf30 | PREV_INUSE);
	EXPECT_EQ(chunk_of(guard)->mchunk_prev_size, 0xf30);
	EXPECT(!prev_inuse(chunk_of(guard)));
#if PTM_INTERNALS
	EXPECT_EQ(unsorted_chunks(&main_arena)->fd, chunk_of(chunk[0]));
	EXPECT_EQ(unsorted_chunks(&main_arena)->bk, chunk_of(chunk[0]));
#endif
}

static void unsorted_merge_forward(void)
{
	void *chunk[3], *guard;
	free_neighbours((const int[]){2, 1, 0}, chunk, &guard);
	EXPECT_EQ(raw_size_of(chunk[0]), 0xf30 | PREV_INUSE);
	EXPECT_EQ(chunk_of(guard)->mchunk_prev_size, 0xf30);
}

static void unsorted_insertion_at_head(void)
{
	void *a = must_malloc(0x508);
	must_malloc(0x18);
	void *b = must_malloc(0x508);
	must_malloc(0x18);
	free(a);
	free(b);
	EXPECT_EQ(chunk_of(b)->fd, chunk_of(a)); /* newest at the head */
	EXPECT_EQ(chunk_of(a)->bk, chunk_of(b));
#if PTM_INTERNALS
	EXPECT_EQ(unsorted_chunks(&main_arena)->fd, chunk_of(b));
#endif
}

static void merge_into_top(void)
{
	void *p = must_malloc(0x508);
	size_t top_raw = raw_size_of(mem_after(p));
	free(p);
	EXPECT_EQ(raw_size_of(p), top_raw + 0x510);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.top, chunk_of(p));
#endif
	EXPECT_EQ(must_malloc(0x508), p);
}

static void fastbin_next_to_top_stays_fast(void)
{
	void *p = must_malloc(0x28);
	fill_tcache_bin(0x28);
	void *last = must_malloc(0x58);
	fill_tcache_bin(0x58);
	free(last); /* borders top, still goes to its fastbin */
	EXPECT_EQ(revealed_link(&chunk_of(last)->fd), NULL);
	EXPECT(prev_inuse(next_chunk(chunk_of(last))));
	launder(p);
}

static void consolidate_on_large_request(void)
{
	void *a = must_malloc(0x28), *b = must_malloc(0x28), *guard = must_malloc(0x18);
	fill_tcache_bin(0x28);
	free(a);
	free(b);
	must_malloc(0x1000);
	/* merged into one 0x60 chunk, sorted into small bin 6 */
	EXPECT_EQ(raw_size_of(a), 0x61);
	EXPECT(!prev_inuse(chunk_of(guard)));
	EXPECT_EQ(chunk_of(guard)->mchunk_prev_size, 0x60);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.have_fastchunks, 0);
	EXPECT_EQ(main_arena.fastbinsY[1], NULL);
	EXPECT_EQ(bin_at(&main_arena, 6)->fd, chunk_of(a));
#endif
}

/* Freeing a chunk that merges to 64 KiB or more consolidates the fastbins first. */
static void consolidate_on_large_free(void)
{
	void *a = must_malloc(0x28), *b = must_malloc(0x28);
	void *big = must_malloc(0x10000);
	must_malloc(0x18);
	fill_tcache_bin(0x28);
	free(a);
	free(b);
	EXPECT_EQ(raw_size_of(a), 0x31);
	free(big); /* big, already in the unsorted bin, absorbs a and b as they are consolidated */
	EXPECT_EQ(raw_size_of(a), (0x60 + 0x10010) | PREV_INUSE);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.have_fastchunks, 0);
#endif
}

/* A small request whose small bin is empty leaves the fastbins alone. */
static void small_request_does_not_consolidate(void)
{
	void *a = must_malloc(0x28), *b = must_malloc(0x28);
	must_malloc(0x18);
	fill_tcache_bin(0x28);
	free(a);
	free(b);
	must_malloc(0x108);
	EXPECT_EQ(raw_size_of(a), 0x31);
	EXPECT_EQ(revealed_link(&chunk_of(b)->fd), chunk_of(a));
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.fastbinsY[1], chunk_of(b));
#endif
}

static void systrim_gives_memory_back(void)
{
	void *a = must_malloc(0x1f000), *b = must_malloc(0x1f000);
	char *break_before = sbrk(0);
	EXPECT_EQ(break_before - case_heap_start, 0x5f000);
	free(b);
	char *break_after = sbrk(0);
	EXPECT(break_after < break_before);
	EXPECT_EQ(break_after - (char *)chunk_of(b), size_of(b)); /* top still ends at the break */
	/* what is kept: top_pad (128 KiB) plus less than a page */
	EXPECT(size_of(b) > 0x20000 + 32 && size_of(b) <= 0x20000 + 32 + 0x1000);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.system_mem, (size_t)(break_after - case_heap_start));
#endif
	launder(a);
}

static void free_keeps_errno(void)
{
	void *p = must_malloc(0x508);
	must_malloc(0x18);
	errno = 1234;
	free(NULL);
	EXPECT_EQ(errno, 1234);
	free(p);
	EXPECT_EQ(errno, 1234);
}

const struct heap_case free_path_cases[] = {
    {"tcache then fastbin", tcache_then_fastbin, NULL},
    {"unsorted merges backward and forward", unsorted_merges_backward_and_forward, NULL},
    {"unsorted merge forward", unsorted_merge_forward, NULL},
    {"unsorted insertion at the head", unsorted_insertion_at_head, NULL},
    {"merge into top", merge_into_top, NULL},
    {"fastbin chunk next to top stays fast", fastbin_next_to_top_stays_fast, NULL},
    {"malloc_consolidate on a large request", consolidate_on_large_request, NULL},
    {"consolidate on a large free", consolidate_on_large_free, NULL},
    {"small request does not consolidate", small_request_does_not_consolidate, NULL},
    {"systrim gives memory back", systrim_gives_memory_back, NULL},
    {"free keeps errno", free_keeps_errno, NULL},
    {NULL, NULL, NULL},
};
