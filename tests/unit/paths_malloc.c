/*
 * Each path through malloc: tcache hit, fastbin pop with stashing, smallbin pop with stashing,
 * unsorted exact fit returned through the tcache, last-remainder split, large-bin best fit, binmap
 * scan, top split, sysmalloc growth, mmap above the threshold and the dynamic threshold.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <unistd.h>

#include "paths_suites.h"
#include "staging.h"

#define SORTING_REQUEST 0x1000 /* large: consolidates and sorts the unsorted bin, then uses top */

static void first_allocations_from_top(void)
{
	void *p = must_malloc(24);
	EXPECT_EQ(heap_offset(p), 0x2a0);
	EXPECT_EQ(raw_size_of(p), 0x21);
	EXPECT_EQ(*(size_t *)(case_heap_start + 8), 0x291); /* the tcache block */
	EXPECT_EQ(raw_size_of(mem_after(p)), 0x20d51);
	EXPECT_EQ(heap_offset(must_malloc(0)), 0x2c0);
	void *q = must_malloc(25);
	EXPECT_EQ(heap_offset(q), 0x2e0);
	EXPECT_EQ(raw_size_of(q), 0x31);
	void *r = must_malloc(1032);
	EXPECT_EQ(heap_offset(r), 0x310);
	EXPECT_EQ(raw_size_of(r), 0x411);
	void *s = must_malloc(1033);
	EXPECT_EQ(heap_offset(s), 0x720);
	EXPECT_EQ(raw_size_of(s), 0x421);
#if PTM_INTERNALS
	EXPECT_EQ(tcache, case_heap_start + 0x10);
	EXPECT_EQ(main_arena.top, next_chunk(chunk_of(s)));
	EXPECT_EQ(main_arena.system_mem, 0x21000);
	EXPECT_EQ(mp_.sbrk_base, case_heap_start);
#endif
}

static void tcache_hit(void)
{
	void *a = must_malloc(0x98), *b = must_malloc(0x98);
	free(a);
	free(b);
	EXPECT(tcache_key_of(b) != 0);
	EXPECT_EQ(tcache_key_of(a), tcache_key_of(b));
	EXPECT_EQ(revealed_link(b), a); /* b is the head, safe-linked to a */
	EXPECT_EQ(revealed_link(a), NULL);
#if PTM_INTERNALS
	EXPECT_EQ(tcache->counts[csize2tidx(0xa0)], 2);
	EXPECT_EQ(tcache->entries[csize2tidx(0xa0)], b);
	EXPECT_EQ(tcache_key_of(b), tcache_key);
#endif
	void *first = must_malloc(0x98);
	EXPECT_EQ(first, b);
	EXPECT_EQ(tcache_key_of(first), 0); /* tcache_get clears the key */
	EXPECT_EQ(must_malloc(0x98), a);
}

static void fastbin_pop_stashes_into_tcache(void)
{
	enum { REQUEST = 0x68 }; /* chunk 0x70: fastbin 5, tcache bin 5 */
	void *c[10];
	for (int i = 0; i < 10; i++)
		c[i] = must_malloc(REQUEST);
	for (int i = 0; i < 10; i++)
		free(c[i]);
	EXPECT_EQ(revealed_link(&chunk_of(c[9])->fd), chunk_of(c[8]));
	EXPECT_EQ(revealed_link(&chunk_of(c[7])->fd), NULL);
	EXPECT(prev_inuse(chunk_of(c[8]))); /* fastbin chunks stay "in use" */
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.fastbinsY[5], chunk_of(c[9]));
	EXPECT_EQ(main_arena.have_fastchunks, 1);
#endif
	for (int i = 6; i >= 0; i--)
		EXPECT_EQ(must_malloc(REQUEST), c[i]);
	EXPECT_EQ(must_malloc(REQUEST), c[9]);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.fastbinsY[5], NULL);
	EXPECT_EQ(tcache->counts[5], 2);
#endif
	/* c8 then c7 were stashed, each on the tcache head, so the order reverses. */
	EXPECT_EQ(must_malloc(REQUEST), c[7]);
	EXPECT_EQ(must_malloc(REQUEST), c[8]);
}

static void smallbin_pop_stashes_into_tcache(void)
{
	enum { REQUEST = 0x198 }; /* chunk 0x1a0: small bin 26, tcache bin 24 */
	void *a[10];
	for (int i = 0; i < 10; i++) {
		a[i] = must_malloc(REQUEST);
		must_malloc(REQUEST); /* keeps the freed ones apart */
	}
	for (int i = 0; i < 10; i++)
		free(a[i]);
	EXPECT(!prev_inuse(next_chunk(chunk_of(a[9])))); /* a7..a9 are unsorted, really free */
	must_malloc(SORTING_REQUEST);
	EXPECT_EQ(chunk_of(a[9])->fd, chunk_of(a[8])); /* filed at the head: newest first */
	EXPECT_EQ(chunk_of(a[7])->bk, chunk_of(a[8]));
#if PTM_INTERNALS
	EXPECT_EQ(bin_at(&main_arena, 26)->bk, chunk_of(a[7]));
	EXPECT_EQ(bin_at(&main_arena, 26)->fd, chunk_of(a[9]));
	EXPECT(main_arena.binmap[0] & (1U << 26));
#endif
	drain_tcache_bin(REQUEST);
	EXPECT_EQ(must_malloc(REQUEST), a[7]); /* the oldest, from the bin's back */
	EXPECT(prev_inuse(next_chunk(chunk_of(a[7]))));
#if PTM_INTERNALS
	EXPECT_EQ(tcache->counts[24], 2);
	EXPECT_EQ(bin_at(&main_arena, 26)->fd, bin_at(&main_arena, 26));
#endif
	EXPECT_EQ(must_malloc(REQUEST), a[9]);
	EXPECT_EQ(must_malloc(REQUEST), a[8]);
}

static void unsorted_exact_fit_returns_cached_chunk(void)
{
	enum { REQUEST = 0x2a8 }; /* chunk 0x2b0, tcache bin 41 */
	void *b[9];
	for (int i = 0; i < 9; i++) {
		b[i] = must_malloc(REQUEST);
		must_malloc(0x18);
	}
	for (int i = 0; i < 9; i++)
		free(b[i]);
	drain_tcache_bin(REQUEST);
	/* Both exact fits go to the tcache during the scan; the last one cached comes back. */
	EXPECT_EQ(must_malloc(REQUEST), b[8]);
#if PTM_INTERNALS
	EXPECT_EQ(tcache->counts[41], 1);
	EXPECT_EQ(tcache->entries[41], b[7]);
#endif
	EXPECT_EQ(must_malloc(REQUEST), b[7]);
}

static void last_remainder_split(void)
{
	void *big = must_malloc(0x7f8); /* chunk 0x800 */
	must_malloc(0x18);
	free(big);
	void *first = must_malloc(0x108); /* files big, then splits it through the binmap */
	EXPECT_EQ(first, big);
	EXPECT_EQ(raw_size_of(first), 0x111);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.last_remainder, next_chunk(chunk_of(first)));
#endif
	void *second = must_malloc(0x108);
	EXPECT_EQ(second, (char *)big + 0x110);
	void *third = must_malloc(0x108);
	EXPECT_EQ(third, (char *)big + 0x220);
	EXPECT_EQ(raw_size_of(mem_after(third)), 0x4d1);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.last_remainder, next_chunk(chunk_of(third)));
	EXPECT_EQ(unsorted_chunks(&main_arena)->fd, main_arena.last_remainder);
	/* Split in place, never filed: the bins of 0x6f0 and 0x5e0 were never marked. */
	EXPECT_EQ(main_arena.binmap[binmap_block(75)] & binmap_bit(75), 0);
	EXPECT_EQ(main_arena.binmap[binmap_block(71)] & binmap_bit(71), 0);
#endif
}

static void large_bin_best_fit(void)
{
	/* three sizes of large bin 68 ([0x500, 0x540)), freed out of order */
	void *l530 = must_malloc(0x528);
	must_malloc(0x18);
	void *l510 = must_malloc(0x508);
	must_malloc(0x18);
	void *l520 = must_malloc(0x518);
	must_malloc(0x18);
	free(l530);
	free(l510);
	free(l520);
	must_malloc(SORTING_REQUEST);
	EXPECT_EQ(chunk_of(l530)->fd_nextsize, chunk_of(l520)); /* largest first */
	EXPECT_EQ(chunk_of(l520)->fd_nextsize, chunk_of(l510));
	EXPECT_EQ(chunk_of(l510)->fd_nextsize, chunk_of(l530));
	void *p = must_malloc(0x4f8); /* 0x500: the smallest chunk that fits, whole */
	EXPECT_EQ(p, l510);
	EXPECT_EQ(raw_size_of(p), 0x511);
	EXPECT_EQ(must_malloc(0x508), l520);
	void *split = must_malloc(0x4f8); /* 0x530 leaves a 0x30 remainder */
	EXPECT_EQ(split, l530);
	EXPECT_EQ(raw_size_of(split), 0x501);
	EXPECT_EQ(raw_size_of(mem_after(split)), 0x31);
#if PTM_INTERNALS
	EXPECT_EQ(unsorted_chunks(&main_arena)->fd, next_chunk(chunk_of(split)));
#endif
}

/* An equal size joins its group second, and the request takes the chunk after the group's first,
   which keeps the nextsize links untouched. */
static void large_bin_equal_sizes(void)
{
	void *older = must_malloc(0x508);
	must_malloc(0x18);
	void *newer = must_malloc(0x508);
	must_malloc(0x18);
	free(older);
	free(newer);
	must_malloc(SORTING_REQUEST);
	EXPECT_EQ(chunk_of(older)->fd, chunk_of(newer));
	EXPECT_EQ(chunk_of(older)->fd_nextsize, chunk_of(older));
	EXPECT_EQ(chunk_of(newer)->fd_nextsize, NULL);
	EXPECT_EQ(must_malloc(0x4f8), newer);
	EXPECT_EQ(must_malloc(0x4f8), older);
}

static void binmap_scan_split(void)
{
	void *x = must_malloc(0x2f8); /* chunk 0x300, small bin 48 */
	must_malloc(0x18);
	fill_tcache_bin(0x2f8);
	free(x);
	must_malloc(SORTING_REQUEST);
	void *p = must_malloc(0x88); /* 0x90: own bin empty, the binmap finds bin 48 */
	EXPECT_EQ(p, x);
	EXPECT_EQ(raw_size_of(p), 0x91);
	EXPECT_EQ(raw_size_of(mem_after(p)), 0x271);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.last_remainder, next_chunk(chunk_of(p)));
	EXPECT_EQ(unsorted_chunks(&main_arena)->bk, next_chunk(chunk_of(p)));
#endif
}

static void top_split(void)
{
	void *p = must_malloc(0x5000), *q = must_malloc(0x5000);
	EXPECT_EQ(heap_offset(p), 0x2a0);
	EXPECT_EQ(q, mem_after(p));
	EXPECT_EQ(raw_size_of(mem_after(q)), 0x20d71 - 2 * 0x5010);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.top, next_chunk(chunk_of(q)));
#endif
}

static void sysmalloc_grows_the_heap(void)
{
	void *p = must_malloc(0x1f000);
	EXPECT_EQ((char *)sbrk(0) - case_heap_start, 0x21000);
	void *q = must_malloc(0x10000); /* top (0x1d60) is too small: the break moves */
	EXPECT_EQ(q, mem_after(p));
	EXPECT_EQ((char *)sbrk(0) - case_heap_start, 0x50000);
	EXPECT_EQ((char *)next_chunk(chunk_of(mem_after(q))), (char *)sbrk(0));
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.system_mem, 0x50000);
	EXPECT_EQ(main_arena.max_system_mem, 0x50000);
#endif
}

static void mmap_above_threshold(void)
{
	char *p = must_malloc(200000);
	EXPECT(chunk_is_mmapped(chunk_of(p)));
	EXPECT_EQ(raw_size_of(p), 0x31002);
	EXPECT_EQ(chunk_of(p)->mchunk_prev_size, 0);
	EXPECT_EQ((uintptr_t)p & 0xfff, 0x10);
	EXPECT(p < case_heap_start || p >= (char *)sbrk(0));
	EXPECT_EQ(malloc_usable_size(p), 200688);
#if PTM_INTERNALS
	EXPECT_EQ(mp_.n_mmaps, 1);
	EXPECT_EQ(mp_.mmapped_mem, 0x31000);
	EXPECT_EQ(mp_.max_n_mmaps, 1);
#endif
}

static void dynamic_threshold_after_mmapped_free(void)
{
	void *p = must_malloc(200000);
	EXPECT(chunk_is_mmapped(chunk_of(p)));
	free(p);
#if PTM_INTERNALS
	EXPECT_EQ(mp_.mmap_threshold, 0x31000);
	EXPECT_EQ(mp_.trim_threshold, 0x62000);
	EXPECT_EQ(mp_.n_mmaps, 0);
	EXPECT_EQ(mp_.mmapped_mem, 0);
#endif
	char *q = must_malloc(200000);
	EXPECT(!chunk_is_mmapped(chunk_of(q)));
	EXPECT(q > case_heap_start && q < (char *)sbrk(0));
}

static void impossible_sizes_fail_with_enomem(void)
{
	volatile size_t too_big = (size_t)PTRDIFF_MAX + 1, everything = SIZE_MAX;
	errno = 0;
	EXPECT_EQ(malloc(too_big), NULL);
	EXPECT_EQ(errno, ENOMEM);
	errno = 0;
	EXPECT_EQ(malloc(everything), NULL);
	EXPECT_EQ(errno, ENOMEM);
}

const struct heap_case malloc_path_cases[] = {
    {"first allocations from top", first_allocations_from_top, NULL},
    {"tcache hit", tcache_hit, NULL},
    {"fastbin pop stashes into tcache", fastbin_pop_stashes_into_tcache, NULL},
    {"smallbin pop stashes into tcache", smallbin_pop_stashes_into_tcache, NULL},
    {"unsorted exact fit returns the cached chunk", unsorted_exact_fit_returns_cached_chunk, NULL},
    {"last remainder split", last_remainder_split, NULL},
    {"large bin best fit", large_bin_best_fit, NULL},
    {"large bin equal sizes", large_bin_equal_sizes, NULL},
    {"binmap scan split", binmap_scan_split, NULL},
    {"top split", top_split, NULL},
    {"sysmalloc grows the heap", sysmalloc_grows_the_heap, NULL},
    {"mmap above the threshold", mmap_above_threshold, NULL},
    {"dynamic threshold after an mmapped free", dynamic_threshold_after_mmapped_free, NULL},
    {"impossible sizes fail with ENOMEM", impossible_sizes_fail_with_enomem, NULL},
    {NULL, NULL, NULL},
};
