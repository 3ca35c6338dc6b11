/*
 * Integrity checks met while allocating (GLIBC-2.36-FACTS.md §3): each case stages one corruption
 * and then makes the allocation that must detect it.  The runner checks the child dies of SIGABRT
 * with exactly glibc's message, on the system glibc and on the clone.
 *
 * Not staged: "malloc(): corrupted unsorted chunks 3" is shadowed (the unsorted scan's
 * "unsorted double linked list corrupted" test covers the same condition first), and the compiled
 * assertions other than sysmalloc's top check cannot be reached by corrupting user-writable memory.
 */
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

#include "integrity_suites.h"
#include "staging.h"

#define FAST_REQUEST 0x28      /* chunk 0x30: tcache bin 1, fastbin 1 */
#define UNSORTED_REQUEST 0x508 /* chunk 0x510: too big for the tcache and the fastbins */
#define LARGE_REQUEST 0x1000   /* a large request: consolidates, then sorts the unsorted bin */

static void unaligned_tcache_head(void)
{
	void *a = must_malloc(0x38), *b = must_malloc(0x38);
	free(a);
	free(b);
	store_safe_link(launder(b), misaligned(a));
	launder(malloc(0x38)); /* b; the head becomes the misaligned pointer */
	launder(malloc(0x38));
}

/* With the tcache bin full, calloc (which never uses the tcache) pops the fastbin directly. */
static void stage_misaligned_fastbin_successor(void)
{
	void *a = must_malloc(FAST_REQUEST), *b = must_malloc(FAST_REQUEST);
	fill_tcache_bin(FAST_REQUEST);
	free(a);
	free(b);
	store_safe_link(&chunk_of(launder(b))->fd, misaligned(chunk_of(a)));
}

static void unaligned_fastbin_head(void)
{
	stage_misaligned_fastbin_successor();
	launder(calloc(1, FAST_REQUEST));
	launder(calloc(1, FAST_REQUEST));
}

static void *do_nothing(void *argument) { return argument; }

/* Once a thread has existed the process is multi-threaded for good and fastbins are popped with a
   compare-and-swap, which checks the successor instead. */
static void unaligned_fastbin_successor_multithreaded(void)
{
	pthread_t thread;
	if (pthread_create(&thread, NULL, do_nothing, NULL) == 0)
		pthread_join(thread, NULL);
	stage_misaligned_fastbin_successor();
	launder(calloc(1, FAST_REQUEST));
}

static void fastbin_chunk_of_wrong_size(void)
{
	void *a = must_malloc(FAST_REQUEST);
	must_malloc(0x18);
	fill_tcache_bin(FAST_REQUEST);
	free(a);
	chunk_of(launder(a))->mchunk_size = 0x41;
	launder(calloc(1, FAST_REQUEST));
}

static void unaligned_fastbin_chunk_while_stashing(void)
{
	stage_misaligned_fastbin_successor();
	drain_tcache_bin(FAST_REQUEST);
	launder(malloc(FAST_REQUEST)); /* pops b, then stashes the misaligned successor */
}

static void smallbin_back_link(void)
{
	void *a = must_malloc(0x108);
	must_malloc(0x18);
	fill_tcache_bin(0x108);
	free(a);
	must_malloc(LARGE_REQUEST); /* files a into its small bin */
	chunk_of(launder(a))->bk = &decoy_chunk;
	launder(calloc(1, 0x108));
}

/* One chunk waits in the unsorted bin, followed by an in-use guard; returns both user pointers. */
static void *free_one_unsorted(void **guard)
{
	void *a = must_malloc(UNSORTED_REQUEST);
	*guard = must_malloc(0x18);
	free(a);
	return launder(a);
}

static void unsorted_invalid_size(void)
{
	void *guard, *a = free_one_unsorted(&guard);
	chunk_of(a)->mchunk_size = 0x11;
	launder(malloc(LARGE_REQUEST));
}

static void unsorted_invalid_next_size(void)
{
	void *guard;
	free_one_unsorted(&guard);
	chunk_of(guard)->mchunk_size = 0;
	launder(malloc(LARGE_REQUEST));
}

static void unsorted_mismatching_prev_size(void)
{
	void *guard;
	free_one_unsorted(&guard);
	chunk_of(guard)->mchunk_prev_size = 0x520;
	launder(malloc(LARGE_REQUEST));
}

static void unsorted_forward_link(void)
{
	void *guard, *a = free_one_unsorted(&guard);
	chunk_of(a)->fd = chunk_of(a);
	launder(malloc(LARGE_REQUEST));
}

static void unsorted_next_prev_inuse(void)
{
	void *guard;
	free_one_unsorted(&guard);
	chunk_of(guard)->mchunk_size |= PREV_INUSE;
	launder(malloc(LARGE_REQUEST));
}

/* x (0x420) sits alone in large bin 64; y (0x430, same bin, a new larger size) waits unsorted. */
static void stage_large_bin_insert(void **x, void **y)
{
	*x = must_malloc(0x418);
	must_malloc(0x18);
	*y = must_malloc(0x428);
	must_malloc(0x18);
	free(*x);
	must_malloc(LARGE_REQUEST);
	free(*y);
	*x = launder(*x);
}

static void large_bin_nextsize_link(void)
{
	void *x, *y;
	stage_large_bin_insert(&x, &y);
	chunk_of(x)->bk_nextsize = &decoy_chunk;
	launder(malloc(LARGE_REQUEST));
}

static void large_bin_back_link(void)
{
	void *x, *y;
	stage_large_bin_insert(&x, &y);
	chunk_of(x)->bk = &decoy_chunk;
	launder(malloc(LARGE_REQUEST));
}

/*
 * The unsorted scan stops after 10000 chunks, so with 10002 waiting the newest two stay unsorted
 * and the split that follows inserts its remainder in front of a chunk whose back link was
 * corrupted.  Chunks of 0x420 split by the request's own bin; chunks of 0x440 sit one bin higher
 * and are found through the binmap.
 */
#define UNSORTED_FLOOD 10002
static void *flood[UNSORTED_FLOOD];

static void split_after_unsorted_flood(size_t chunk_request)
{
	for (int i = 0; i < UNSORTED_FLOOD; i++) {
		flood[i] = must_malloc(chunk_request);
		must_malloc(0x18);
	}
	for (int i = 0; i < UNSORTED_FLOOD; i++)
		free(flood[i]);
	chunk_of(launder(flood[UNSORTED_FLOOD - 1]))->bk = &decoy_chunk;
	launder(calloc(1, 0x3f8)); /* chunk 0x400: a large request of bin 64 */
}

static void own_large_bin_split_unsorted_link(void) { split_after_unsorted_flood(0x418); }
static void binmap_split_unsorted_link(void) { split_after_unsorted_flood(0x438); }

static void top_size_beyond_system_memory(void)
{
	void *p = must_malloc(0x18);
	next_chunk(chunk_of(p))->mchunk_size = 0x100000 | PREV_INUSE;
	launder(malloc(LARGE_REQUEST));
}

static void top_size_breaks_sysmalloc_assertion(void)
{
	void *p = must_malloc(0x18);
	next_chunk(chunk_of(p))->mchunk_size = 0x20 | PREV_INUSE;
	launder(malloc(LARGE_REQUEST));
}

/* Someone else lowers the break below the top chunk's end; the next sbrk returns less than the end. */
static void break_lowered_behind_mallocs_back(void)
{
	must_malloc(0x1f000); /* below the mmap threshold; leaves a top of about 0x1d00 */
	if (sbrk(-0x1000) == (void *)-1)
		return;
	launder(malloc(0x4000));
}

static void *corrupt_own_tcache_then_exit(void *argument)
{
	void *a = must_malloc(0x38), *b = must_malloc(0x38);
	free(a);
	free(b);
	store_safe_link(launder(b), misaligned(a));
	return argument;
}

static void thread_exit_with_unaligned_tcache_entry(void)
{
	pthread_t thread;
	if (pthread_create(&thread, NULL, corrupt_own_tcache_then_exit, NULL) == 0)
		pthread_join(thread, NULL);
}

const struct heap_case integrity_malloc_cases[] = {
    {"unaligned tcache head", unaligned_tcache_head, "malloc(): unaligned tcache chunk detected"},
    {"unaligned fastbin head", unaligned_fastbin_head, "malloc(): unaligned fastbin chunk detected 2"},
    {"unaligned fastbin successor (threads)", unaligned_fastbin_successor_multithreaded,
     "malloc(): unaligned fastbin chunk detected"},
    {"fastbin chunk of the wrong size", fastbin_chunk_of_wrong_size, "malloc(): memory corruption (fast)"},
    {"unaligned fastbin chunk while stashing", unaligned_fastbin_chunk_while_stashing,
     "malloc(): unaligned fastbin chunk detected 3"},
    {"smallbin back link", smallbin_back_link, "malloc(): smallbin double linked list corrupted"},
    {"unsorted chunk size", unsorted_invalid_size, "malloc(): invalid size (unsorted)"},
    {"unsorted next size", unsorted_invalid_next_size, "malloc(): invalid next size (unsorted)"},
    {"unsorted next prev_size", unsorted_mismatching_prev_size,
     "malloc(): mismatching next->prev_size (unsorted)"},
    {"unsorted forward link", unsorted_forward_link, "malloc(): unsorted double linked list corrupted"},
    {"unsorted next P bit", unsorted_next_prev_inuse, "malloc(): invalid next->prev_inuse (unsorted)"},
    {"large bin nextsize link", large_bin_nextsize_link,
     "malloc(): largebin double linked list corrupted (nextsize)"},
    {"large bin back link", large_bin_back_link, "malloc(): largebin double linked list corrupted (bk)"},
    {"own large bin split, unsorted link", own_large_bin_split_unsorted_link,
     "malloc(): corrupted unsorted chunks"},
    {"binmap split, unsorted link", binmap_split_unsorted_link, "malloc(): corrupted unsorted chunks 2"},
    {"top size", top_size_beyond_system_memory, "malloc(): corrupted top size"},
    {"top size in sysmalloc", top_size_breaks_sysmalloc_assertion,
     "Fatal glibc error: malloc assertion failure in sysmalloc: (old_top == initial_top (av) && "
     "old_size == 0) || ((unsigned long) (old_size) >= MINSIZE && prev_inuse (old_top) && "
     "((unsigned long) old_end & (pagesize - 1)) == 0)"},
    {"break lowered by someone else", break_lowered_behind_mallocs_back,
     "break adjusted to free malloc space"},
    {"thread exit, unaligned tcache entry", thread_exit_with_unaligned_tcache_entry,
     "tcache_thread_shutdown(): unaligned tcache chunk detected"},
    {NULL, NULL, NULL},
};
