/*
 * unit-arithmetic: the pure arithmetic of the allocator's headers against the numbers of
 * GLIBC-2.36-FACTS.md §1-2: request normalisation, flag bits, safe-linking, bin, fastbin and
 * tcache indexing, bin header geometry and the binmap.  Expected values are written out from the
 * fact sheet's tables, not recomputed with the formulas under test.
 */
#include <CUnit/Basic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "unit_result.h"

static void test_request_to_size_examples(void)
{
	static const size_t pairs[][2] = {{0, 32},          {1, 32},     {24, 32},     {25, 48},
	                                  {40, 48},         {41, 64},    {1032, 1040}, {1033, 1056},
	                                  {200000, 200016}, {4096, 4112}};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		CU_ASSERT_EQUAL(request_to_size(pairs[i][0]), pairs[i][1]);
}

/* The smallest multiple of 16 (at least 32) that holds the request plus the 8-byte size word. */
static void test_request_to_size_is_minimal(void)
{
	for (size_t request = 0; request < 5000; request++) {
		size_t size = request_to_size(request);
		CU_ASSERT_EQUAL_FATAL(size % 16, 0);
		CU_ASSERT_FATAL(size >= 32 && size >= request + 8);
		CU_ASSERT_FATAL(size == 32 || size - 16 < request + 8);
	}
}

static void test_checked_request_to_size_limit(void)
{
	CU_ASSERT_EQUAL(checked_request_to_size((size_t)PTRDIFF_MAX + 1), 0);
	CU_ASSERT_EQUAL(checked_request_to_size(SIZE_MAX), 0);
	CU_ASSERT_EQUAL(checked_request_to_size(SIZE_MAX - 8), 0);
	CU_ASSERT_NOT_EQUAL(checked_request_to_size((size_t)PTRDIFF_MAX), 0);
	CU_ASSERT_EQUAL(checked_request_to_size(100), 112);
}

static void test_constants_and_layout(void)
{
	CU_ASSERT_EQUAL(SIZE_SZ, 8);
	CU_ASSERT_EQUAL(MALLOC_ALIGNMENT, 16);
	CU_ASSERT_EQUAL(CHUNK_HDR_SZ, 16);
	CU_ASSERT_EQUAL(MINSIZE, 32);
	CU_ASSERT_EQUAL(MIN_CHUNK_SIZE, 32);
	CU_ASSERT_EQUAL(MIN_LARGE_SIZE, 1024);
	CU_ASSERT_EQUAL(MAX_FAST_SIZE, 160);
	CU_ASSERT_EQUAL(DEFAULT_MXFAST, 128);
	CU_ASSERT_EQUAL(NBINS, 128);
	CU_ASSERT_EQUAL(NSMALLBINS, 64);
	CU_ASSERT_EQUAL(NFASTBINS, 10);
	CU_ASSERT_EQUAL(BINMAPSIZE, 4);
	CU_ASSERT_EQUAL(TCACHE_MAX_BINS, 64);
	CU_ASSERT_EQUAL(TCACHE_FILL_COUNT, 7);
	CU_ASSERT_EQUAL(HEAP_MAX_SIZE, 64 * 1024 * 1024);
	CU_ASSERT_EQUAL(DEFAULT_MMAP_THRESHOLD_MAX, 32 * 1024 * 1024);
	CU_ASSERT_EQUAL(sizeof(struct malloc_state), 2200);
	CU_ASSERT_EQUAL(offsetof(struct malloc_state, fastbinsY), 16);
	CU_ASSERT_EQUAL(offsetof(struct malloc_state, top), 96);
	CU_ASSERT_EQUAL(offsetof(struct malloc_state, bins), 112);
	CU_ASSERT_EQUAL(offsetof(struct malloc_state, binmap), 2144);
	CU_ASSERT_EQUAL(offsetof(struct malloc_state, max_system_mem), 2192);
	CU_ASSERT_EQUAL(offsetof(struct malloc_par, tcache_bins), 104);
	CU_ASSERT_EQUAL(offsetof(tcache_perthread_struct, entries), 128);
}

static void test_flag_bits(void)
{
	CU_ASSERT_EQUAL(PREV_INUSE, 1);
	CU_ASSERT_EQUAL(IS_MMAPPED, 2);
	CU_ASSERT_EQUAL(NON_MAIN_ARENA, 4);
	_Alignas(16) unsigned char memory[256] = {0};
	mchunkptr p = (mchunkptr)memory;
	set_head(p, 0x50 | PREV_INUSE | NON_MAIN_ARENA);
	CU_ASSERT_EQUAL(chunk_size(p), 0x50);
	CU_ASSERT_EQUAL(chunk_size_raw(p), 0x55);
	CU_ASSERT_TRUE(prev_inuse(p));
	CU_ASSERT_FALSE(chunk_is_mmapped(p));
	CU_ASSERT_FALSE(chunk_main_arena(p));
	set_head_size(p, 0x30);
	CU_ASSERT_EQUAL(chunk_size_raw(p), 0x35);
	set_head(p, 0x40 | IS_MMAPPED);
	CU_ASSERT_TRUE(chunk_is_mmapped(p));
	CU_ASSERT_FALSE(prev_inuse(p));
	CU_ASSERT_TRUE(chunk_main_arena(p));
	CU_ASSERT_PTR_EQUAL(chunk_to_mem(p), memory + 16);
	CU_ASSERT_PTR_EQUAL(mem_to_chunk(memory + 16), p);
	/* The in-use bit of p lives in the chunk after it. */
	set_head(p, 0x40 | PREV_INUSE);
	set_head(next_chunk(p), 0x20);
	CU_ASSERT_PTR_EQUAL(next_chunk(p), (mchunkptr)(memory + 0x40));
	CU_ASSERT_FALSE(chunk_inuse(p));
	set_inuse_bit_at_offset(p, 0x40);
	CU_ASSERT_TRUE(chunk_inuse(p));
	CU_ASSERT_EQUAL(((mchunkptr)(memory + 0x40))->mchunk_size, 0x21);
	clear_inuse_bit_at_offset(p, 0x40);
	CU_ASSERT_FALSE(inuse_bit_at_offset(p, 0x40));
	set_foot(p, 0x40);
	CU_ASSERT_EQUAL(((mchunkptr)(memory + 0x40))->mchunk_prev_size, 0x40);
	CU_ASSERT_PTR_EQUAL(prev_chunk((mchunkptr)(memory + 0x40)), p);
	CU_ASSERT_TRUE(misaligned_chunk((mchunkptr)(memory + 8)));
	CU_ASSERT_FALSE(misaligned_chunk(p));
}

static void test_safe_linking(void)
{
	uintptr_t slot_address = 0x55555555a2c0, target = 0x55555555a2a0;
	void *stored = protect_pointer((void *)slot_address, (void *)target);
	CU_ASSERT_EQUAL((uintptr_t)stored, (slot_address >> 12) ^ target);
	CU_ASSERT_EQUAL((uintptr_t)stored, 0x55500000f7fa);
	CU_ASSERT_EQUAL((uintptr_t)protect_pointer((void *)slot_address, stored), target);
	/* The end of a list is stored as the slot's page number. */
	CU_ASSERT_EQUAL((uintptr_t)protect_pointer((void *)slot_address, NULL), slot_address >> 12);
	void *slot = protect_pointer(&slot, (void *)target);
	CU_ASSERT_EQUAL((uintptr_t)reveal_pointer(slot), target);
}

static void test_smallbin_index(void)
{
	CU_ASSERT_EQUAL(smallbin_index(32), 2);
	CU_ASSERT_EQUAL(smallbin_index(48), 3);
	CU_ASSERT_EQUAL(smallbin_index(1008), 63);
	CU_ASSERT_TRUE(in_smallbin_range(1008));
	CU_ASSERT_FALSE(in_smallbin_range(1024));
	CU_ASSERT_EQUAL(bin_index(1008), 63);
	CU_ASSERT_EQUAL(bin_index(1024), 64);
}

/* The fact sheet's range table: bins with the first size each one takes. */
static const struct {
	unsigned int first_bin, last_bin;
	size_t from, step;
} largebin_ranges[] = {
    {64, 96, 1024, 64},        {97, 97, 3136, 448},        {98, 111, 3584, 512},
    {112, 112, 10752, 1536},   {113, 119, 12288, 4096},    {120, 120, 40960, 24576},
    {121, 121, 65536, 32768},  {122, 122, 98304, 32768},   {123, 123, 131072, 32768},
    {124, 124, 163840, 98304}, {125, 125, 262144, 262144}, {126, 126, 524288, 0},
};

static unsigned int largebin_from_table(size_t size)
{
	for (int r = (int)(sizeof largebin_ranges / sizeof largebin_ranges[0]) - 1; r >= 0; r--) {
		if (size < largebin_ranges[r].from)
			continue;
		if (largebin_ranges[r].step == 0)
			return largebin_ranges[r].first_bin;
		return largebin_ranges[r].first_bin +
		       (unsigned int)((size - largebin_ranges[r].from) / largebin_ranges[r].step);
	}
	return 0;
}

static void test_largebin_index_ranges(void)
{
	for (size_t size = 1024; size < 2 * 1024 * 1024; size += 16)
		CU_ASSERT_EQUAL_FATAL(largebin_index(size), largebin_from_table(size));
	static const size_t edges[][2] = {{1024, 64},
	                                  {3120, 96},
	                                  {3136, 97},
	                                  {3568, 97},
	                                  {3584, 98},
	                                  {10736, 111},
	                                  {10752, 112},
	                                  {12272, 112},
	                                  {12288, 113},
	                                  {40944, 119},
	                                  {40960, 120},
	                                  {65520, 120},
	                                  {65536, 121},
	                                  {98304, 122},
	                                  {131072, 123},
	                                  {163840, 124},
	                                  {262144, 125},
	                                  {524288, 126},
	                                  {(size_t)1 << 40, 126}};
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
		CU_ASSERT_EQUAL(largebin_index(edges[i][0]), edges[i][1]);
	CU_ASSERT_EQUAL(bin_index(524288), 126);
}

static void test_fastbin_index_and_limit(void)
{
	for (size_t size = 32, index = 0; size <= 176; size += 16, index++)
		CU_ASSERT_EQUAL(fastbin_index(size), index);
	size_t saved = global_max_fast;
	static const size_t settings[][2] = {{0, 16},  {1, 16},    {7, 16},    {8, 16},
	                                     {24, 32}, {120, 128}, {128, 128}, {160, 160}};
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
		set_max_fast(settings[i][0]);
		CU_ASSERT_EQUAL(get_max_fast(), settings[i][1]);
	}
	global_max_fast = saved;
}

static void test_tcache_indices(void)
{
	CU_ASSERT_EQUAL(csize2tidx(32), 0);
	CU_ASSERT_EQUAL(csize2tidx(48), 1);
	CU_ASSERT_EQUAL(csize2tidx(1040), 63);
	CU_ASSERT_EQUAL(csize2tidx(1056), 64);
	for (size_t request = 0; request <= 24; request++)
		CU_ASSERT_EQUAL(usize2tidx(request), 0);
	CU_ASSERT_EQUAL(usize2tidx(25), 1);
	CU_ASSERT_EQUAL(usize2tidx(40), 1);
	CU_ASSERT_EQUAL(usize2tidx(1017), 63);
	CU_ASSERT_EQUAL(usize2tidx(1032), 63);
	CU_ASSERT_EQUAL(usize2tidx(1033), 64);
	/* tidx2usize(i) = 16i + 24 is the largest request of bin i. */
	for (size_t i = 0; i < 63; i++) {
		CU_ASSERT_EQUAL(usize2tidx(16 * i + 24), i);
		CU_ASSERT_EQUAL(usize2tidx(16 * i + 25), i + 1);
	}
}

static void test_bin_geometry(void)
{
	static struct malloc_state arena;
	for (unsigned int i = 1; i < NBINS; i++) {
		mbinptr bin = bin_at(&arena, i);
		CU_ASSERT_PTR_EQUAL_FATAL(&bin->fd, &arena.bins[2 * i - 2]);
		CU_ASSERT_PTR_EQUAL_FATAL(&bin->bk, &arena.bins[2 * i - 1]);
	}
	CU_ASSERT_PTR_EQUAL(unsorted_chunks(&arena), bin_at(&arena, 1));
	/* The initial top's size word is last_remainder, so it reads as 0 before the first sysmalloc. */
	CU_ASSERT_PTR_EQUAL(&initial_top(&arena)->mchunk_size, (size_t *)&arena.last_remainder);
	CU_ASSERT_PTR_EQUAL(&initial_top(&arena)->mchunk_prev_size, (size_t *)&arena.top);
}

static void test_binmap(void)
{
	static struct malloc_state arena;
	mark_bin(&arena, 70);
	CU_ASSERT_EQUAL(arena.binmap[2], 1U << 6);
	mark_bin(&arena, 127);
	CU_ASSERT_EQUAL(arena.binmap[3], 1U << 31);
	mark_bin(&arena, 2);
	CU_ASSERT_EQUAL(arena.binmap[0], 1U << 2);
	unmark_bin(&arena, 70);
	CU_ASSERT_EQUAL(arena.binmap[2], 0);
	CU_ASSERT_EQUAL(binmap_block(95), 2);
	CU_ASSERT_EQUAL(binmap_block(96), 3);
	CU_ASSERT_EQUAL(binmap_bit(33), 2);
}

int main(void)
{
	static CU_TestInfo size_tests[] = {
	    {"request_to_size examples", test_request_to_size_examples},
	    {"request_to_size is minimal", test_request_to_size_is_minimal},
	    {"checked_request_to_size limit", test_checked_request_to_size_limit},
	    {"constants and layout", test_constants_and_layout},
	    {"flag bits", test_flag_bits},
	    {"safe-linking", test_safe_linking},
	    CU_TEST_INFO_NULL,
	};
	static CU_TestInfo bin_tests[] = {
	    {"smallbin_index", test_smallbin_index},
	    {"largebin_index ranges", test_largebin_index_ranges},
	    {"fastbin_index and set_max_fast", test_fastbin_index_and_limit},
	    {"csize2tidx and usize2tidx", test_tcache_indices},
	    {"bin header geometry", test_bin_geometry},
	    {"binmap", test_binmap},
	    CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
	    {"size arithmetic", NULL, NULL, NULL, NULL, size_tests},
	    {"bin indexing", NULL, NULL, NULL, NULL, bin_tests},
	    CU_SUITE_INFO_NULL,
	};
	if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(suites) != CUE_SUCCESS)
		return unit_registry_error();
	return unit_run_registry();
}
