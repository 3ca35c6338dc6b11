/*
 * Integrity checks met while freeing, reallocating, consolidating and reporting statistics
 * (GLIBC-2.36-FACTS.md §3).  Each case stages one corruption and makes the call that must detect it.
 */
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

#include "integrity_suites.h"
#include "staging.h"

#define FAST_REQUEST 0x28      /* chunk 0x30 */
#define UNSORTED_REQUEST 0x508 /* chunk 0x510 */
#define LARGE_REQUEST 0x1000
#define MMAPPED_REQUEST 200000 /* above the initial mmap threshold */

static void munmap_misaligned_block(void)
{
	void *p = must_malloc(MMAPPED_REQUEST);
	chunk_of(p)->mchunk_prev_size = 8;
	free(p);
}

static void mremap_misaligned_block(void)
{
	void *p = must_malloc(MMAPPED_REQUEST);
	chunk_of(p)->mchunk_prev_size = 8;
	launder(realloc(p, 2 * MMAPPED_REQUEST));
}

static void realloc_misaligned_pointer(void)
{
	char *p = calloc(1, 0x48);
	launder(realloc(launder(p + 8), 0x100));
}

static void free_misaligned_pointer(void)
{
	char *p = calloc(1, 0x48);
	free(launder(p + 8));
}

static void free_size_below_minimum(void)
{
	void *p = must_malloc(0x48);
	chunk_of(p)->mchunk_size = 0x10 | PREV_INUSE;
	free(p);
}

/* a is cached with its link pointing at link_target; b, allocated before, carries the tcache key
   (copied from a), so freeing b makes free walk a's bin looking for b. */
static void free_after_corrupting_bin(void *(*link_target)(void *a))
{
	void *a = must_malloc(0x58), *b = must_malloc(0x58);
	free(a);
	a = launder(a);
	store_safe_link(a, link_target(a));
	((tcache_entry *)b)->key = ((tcache_entry *)a)->key;
	free(b);
}

static void *itself(void *a) { return a; }

static void tcache_bin_cycle(void) { free_after_corrupting_bin(itself); }
static void tcache_bin_misaligned_entry(void) { free_after_corrupting_bin(misaligned); }

static void tcache_double_free(void)
{
	void *a = must_malloc(0x58);
	free(a);
	free(launder(a));
}

static void fast_free_next_size(void)
{
	void *a = must_malloc(FAST_REQUEST), *b = must_malloc(FAST_REQUEST);
	fill_tcache_bin(FAST_REQUEST);
	chunk_of(b)->mchunk_size = 0x10;
	free(a);
}

static void fastbin_double_free(void)
{
	void *a = must_malloc(FAST_REQUEST);
	fill_tcache_bin(FAST_REQUEST);
	free(a);
	free(launder(a));
}

/* Only the allocator's own frees (here realloc's split remainder) look at the old fastbin head. */
static void internal_free_onto_foreign_fastbin_head(void)
{
	void *small[TCACHE_BIN_CAPACITY + 1];
	for (int i = 0; i <= TCACHE_BIN_CAPACITY; i++)
		small[i] = must_malloc(0x18);
	for (int i = 0; i <= TCACHE_BIN_CAPACITY; i++)
		free(small[i]);
	chunk_of(launder(small[TCACHE_BIN_CAPACITY]))->mchunk_size = 0x31;
	void *q = must_malloc(0x38);
	must_malloc(0x48);         /* a guard of another size: 0x18 would come out of the full tcache bin */
	launder(realloc(q, 0x18)); /* leaves a 0x20 remainder to free */
}

static void free_the_top_chunk(void)
{
	void *p = must_malloc(UNSORTED_REQUEST);
	free(chunk_to_mem(next_chunk(chunk_of(p))));
}

static void free_chunk_reaching_past_top(void)
{
	void *p = must_malloc(UNSORTED_REQUEST);
	must_malloc(0x18);
	chunk_of(p)->mchunk_size = 0x200000 | PREV_INUSE;
	free(p);
}

static void normal_double_free(void)
{
	void *p = must_malloc(UNSORTED_REQUEST);
	must_malloc(0x18);
	free(p);
	free(launder(p));
}

static void normal_free_next_size(void)
{
	void *p = must_malloc(UNSORTED_REQUEST);
	void *guard = must_malloc(0x18);
	chunk_of(guard)->mchunk_size = 0x1000000 | PREV_INUSE;
	free(p);
}

static void backward_merge_size_mismatch(void)
{
	void *a = must_malloc(UNSORTED_REQUEST), *b = must_malloc(UNSORTED_REQUEST);
	must_malloc(0x18);
	free(a);
	chunk_of(launder(a))->mchunk_size = 0x520 | PREV_INUSE;
	free(b);
}

static void unsorted_head_back_link_on_free(void)
{
	void *a = must_malloc(UNSORTED_REQUEST);
	must_malloc(0x18);
	void *b = must_malloc(UNSORTED_REQUEST);
	must_malloc(0x18);
	free(a);
	chunk_of(launder(a))->bk = &decoy_chunk;
	free(b);
}

/* b is freed while c, right after it, is free: merging forward unlinks c. */
static void *stage_forward_merge(void **b, void **guard)
{
	*b = must_malloc(UNSORTED_REQUEST);
	void *c = must_malloc(UNSORTED_REQUEST);
	*guard = must_malloc(0x18);
	free(c);
	return launder(c);
}

static void unlink_size_vs_prev_size(void)
{
	void *b, *guard;
	stage_forward_merge(&b, &guard);
	chunk_of(guard)->mchunk_prev_size = 0x500;
	free(b);
}

static void unlink_forward_link(void)
{
	void *b, *guard, *c = stage_forward_merge(&b, &guard);
	chunk_of(c)->fd = &decoy_chunk;
	free(b);
}

static void unlink_large_nextsize_link(void)
{
	void *b, *guard, *c = stage_forward_merge(&b, &guard);
	must_malloc(LARGE_REQUEST); /* files c into its large bin, where it gets nextsize links */
	chunk_of(c)->fd_nextsize = &decoy_chunk;
	free(b);
}

/* a and b in fastbin 1, b's link pointing at a misaligned address. */
static void stage_misaligned_fastbin_link(void)
{
	void *a = must_malloc(FAST_REQUEST), *b = must_malloc(FAST_REQUEST);
	must_malloc(0x18);
	fill_tcache_bin(FAST_REQUEST);
	free(a);
	free(b);
	store_safe_link(&chunk_of(launder(b))->fd, misaligned(chunk_of(a)));
}

static void consolidate_misaligned_fastbin_chunk(void)
{
	stage_misaligned_fastbin_link();
	launder(malloc(LARGE_REQUEST));
}

static void consolidate_chunk_in_wrong_fastbin(void)
{
	void *a = must_malloc(FAST_REQUEST);
	must_malloc(0x18);
	fill_tcache_bin(FAST_REQUEST);
	free(a);
	chunk_of(launder(a))->mchunk_size = 0x41;
	launder(malloc(LARGE_REQUEST));
}

static void consolidate_backward_size_mismatch(void)
{
	void *x = must_malloc(UNSORTED_REQUEST);
	void *a = must_malloc(FAST_REQUEST);
	must_malloc(0x18);
	fill_tcache_bin(FAST_REQUEST);
	free(x);
	free(a);
	chunk_of(launder(x))->mchunk_size = 0x520 | PREV_INUSE;
	launder(malloc(LARGE_REQUEST));
}

static void realloc_old_size(void)
{
	void *p = must_malloc(0x48);
	chunk_of(p)->mchunk_size = 0x10;
	launder(realloc(p, 0x100));
}

static void realloc_next_size(void)
{
	void *p = must_malloc(0x48), *next = must_malloc(0x48);
	chunk_of(next)->mchunk_size = 0x10;
	launder(realloc(p, 0x100));
}

static void mallinfo_misaligned_fastbin_chunk(void)
{
	stage_misaligned_fastbin_link();
	struct mallinfo2 info = mallinfo2();
	launder(&info);
}

static void malloc_info_misaligned_fastbin_chunk(void)
{
	FILE *sink = fopen("/dev/null", "w");
	if (!sink)
		return;
	/* Unbuffered: a stdio buffer would be a large malloc that consolidates (and aborts) first. */
	setvbuf(sink, NULL, _IONBF, 0);
	stage_misaligned_fastbin_link();
	malloc_info(0, sink);
}

const struct heap_case integrity_free_cases[] = {
    {"munmap of a misaligned block", munmap_misaligned_block, "munmap_chunk(): invalid pointer"},
    {"mremap of a misaligned block", mremap_misaligned_block, "mremap_chunk(): invalid pointer"},
    {"realloc of a misaligned pointer", realloc_misaligned_pointer, "realloc(): invalid pointer"},
    {"free of a misaligned pointer", free_misaligned_pointer, "free(): invalid pointer"},
    {"free of a too small chunk", free_size_below_minimum, "free(): invalid size"},
    {"tcache bin cycle", tcache_bin_cycle, "free(): too many chunks detected in tcache"},
    {"tcache bin misaligned entry", tcache_bin_misaligned_entry,
     "free(): unaligned chunk detected in tcache 2"},
    {"tcache double free", tcache_double_free, "free(): double free detected in tcache 2"},
    {"fast free, next size", fast_free_next_size, "free(): invalid next size (fast)"},
    {"fastbin double free", fastbin_double_free, "double free or corruption (fasttop)"},
    {"internal free, foreign fastbin head", internal_free_onto_foreign_fastbin_head,
     "invalid fastbin entry (free)"},
    {"free of the top chunk", free_the_top_chunk, "double free or corruption (top)"},
    {"free reaching past top", free_chunk_reaching_past_top, "double free or corruption (out)"},
    {"normal double free", normal_double_free, "double free or corruption (!prev)"},
    {"normal free, next size", normal_free_next_size, "free(): invalid next size (normal)"},
    {"backward merge size", backward_merge_size_mismatch, "corrupted size vs. prev_size while consolidating"},
    {"unsorted head back link", unsorted_head_back_link_on_free, "free(): corrupted unsorted chunks"},
    {"unlink, size vs prev_size", unlink_size_vs_prev_size, "corrupted size vs. prev_size"},
    {"unlink, forward link", unlink_forward_link, "corrupted double-linked list"},
    {"unlink, nextsize link", unlink_large_nextsize_link, "corrupted double-linked list (not small)"},
    {"consolidate, misaligned chunk", consolidate_misaligned_fastbin_chunk,
     "malloc_consolidate(): unaligned fastbin chunk detected"},
    {"consolidate, chunk in wrong fastbin", consolidate_chunk_in_wrong_fastbin,
     "malloc_consolidate(): invalid chunk size"},
    {"consolidate, backward merge size", consolidate_backward_size_mismatch,
     "corrupted size vs. prev_size in fastbins"},
    {"realloc, old size", realloc_old_size, "realloc(): invalid old size"},
    {"realloc, next size", realloc_next_size, "realloc(): invalid next size"},
    {"mallinfo2, misaligned fastbin chunk", mallinfo_misaligned_fastbin_chunk,
     "int_mallinfo(): unaligned fastbin chunk detected"},
    {"malloc_info, misaligned fastbin chunk", malloc_info_misaligned_fastbin_chunk,
     "__malloc_info(): unaligned fastbin chunk detected"},
    {NULL, NULL, NULL},
};
