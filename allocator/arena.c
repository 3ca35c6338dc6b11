/*
 * Arenas: the main arena (in .data, growing with sbrk) and thread arenas (each living at the start of
 * its first HEAP_MAX_SIZE-aligned heap, see heap.c).  Here are initialisation, choosing a thread's
 * arena (free list, new arena up to the limit, then round-robin reuse) and detaching at thread exit
 * (fork is fork.c's).
 */
#include <limits.h>
#include <pthread.h>
#include <sys/sysinfo.h>

#include "hooks.h"
#include "internal.h"

/* The shared state (main_arena, narenas, the locks and lists) is globals.c's. */
__thread mstate thread_arena;

/* glibc learns of thread exit from inside libc; a preloaded allocator needs its own signal: a
   pthread key whose destructor runs when a thread that used the heap exits. */
static pthread_key_t thread_exit_key;
static __thread bool thread_exit_key_set;

static void note_thread_uses_heap(void)
{
	if (!thread_exit_key_set) {
		thread_exit_key_set = true;
		pthread_setspecific(thread_exit_key, (void *)1);
	}
}

static void malloc_init_state(mstate av)
{
	for (unsigned int index = 1; index < NBINS; index++) {
		mbinptr bin = bin_at(av, index);
		bin->fd = bin->bk = bin;
	}
	if (av != &main_arena)
		set_noncontiguous(av);
	else
		set_max_fast(DEFAULT_MXFAST);
	__atomic_store_n(&av->have_fastchunks, 0, __ATOMIC_RELAXED);
	av->top = initial_top(av);
}

static void thread_exit_destructor(void *value);

void ptmalloc_init(void)
{
	if (malloc_initialized())
		return;
	note_malloc_initializing();
	tcache_key_initialize();
	thread_arena = &main_arena;
	malloc_init_state(&main_arena);
	ptmalloc_apply_tunables();
	/* Explicit huge pages: the main arena must be mmapped to get them, so sbrk is never used. */
	if (hugepage_size() > 0)
		refuse_morecore();
	pthread_key_create(&thread_exit_key, thread_exit_destructor);
	register_fork_handlers();
	run_malloc_initialize_hook();
	note_malloc_initialized();
}

/* ---- choosing and attaching arenas ---- */

static void detach_arena(mstate replaced)
{
	if (replaced != NULL) {
		malloc_assert(replaced->attached_threads > 0, "detach_arena",
		              "replaced_arena->attached_threads > 0");
		replaced->attached_threads--;
	}
}

static mstate new_arena(size_t size)
{
	const size_t overhead = sizeof(heap_info) + sizeof(struct malloc_state) + MALLOC_ALIGNMENT;
	heap_info *heap = new_heap(size + overhead, mp_.top_pad);
	if (heap == NULL) {
		/* Too big for one heap: make a minimal arena and let the request be mmapped. */
		heap = new_heap(overhead, mp_.top_pad);
		if (heap == NULL)
			return NULL;
	}
	mstate av = heap->ar_ptr = (mstate)(heap + 1);
	malloc_init_state(av);
	av->attached_threads = 1;
	av->system_mem = av->max_system_mem = heap->size;

	char *top = (char *)(av + 1);
	size_t misalign = (uintptr_t)chunk_to_mem((mchunkptr)top) & MALLOC_ALIGN_MASK;
	if (misalign > 0)
		top += MALLOC_ALIGNMENT - misalign;
	av->top = (mchunkptr)top;
	set_head(av->top, (size_t)(((char *)heap + heap->size) - top) | PREV_INUSE);

	mstate replaced = thread_arena;
	thread_arena = av;
	lock_reinit(&av->mutex);

	arena_lock_acquire(&list_lock);
	av->next = main_arena.next;
	/* reused_arena walks the ring without list_lock: publish a complete arena. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	main_arena.next = av;
	arena_lock_release(&list_lock);

	lock_acquire(&free_list_lock);
	detach_arena(replaced);
	lock_release(&free_list_lock);

	arena_lock_acquire(&av->mutex);
	return av;
}

static mstate take_from_free_list(void)
{
	mstate replaced = thread_arena;
	mstate result = free_list;
	if (result == NULL)
		return NULL;
	lock_acquire(&free_list_lock);
	result = free_list;
	if (result != NULL) {
		free_list = result->next_free;
		malloc_assert(result->attached_threads == 0, "get_free_list",
		              "result->attached_threads == 0");
		result->attached_threads = 1;
		detach_arena(replaced);
	}
	lock_release(&free_list_lock);
	if (result != NULL) {
		arena_lock_acquire(&result->mutex);
		thread_arena = result;
	}
	return result;
}

static void remove_from_free_list(mstate arena)
{
	mstate *link = &free_list;
	for (mstate p = free_list; p != NULL; p = p->next_free) {
		malloc_assert(p->attached_threads == 0, "remove_from_free_list", "p->attached_threads == 0");
		if (p == arena) {
			*link = p->next_free;
			break;
		}
		link = &p->next_free;
	}
}

/* Past the arena limit threads share: the first arena (round robin) whose lock is free, else wait. */
static mstate reused_arena(mstate avoid)
{
	if (next_to_use == NULL)
		next_to_use = &main_arena;

	mstate result = next_to_use;
	do {
		if (lock_try(&result->mutex))
			goto attach;
		result = result->next;
	} while (result != next_to_use);

	if (result == avoid)
		result = result->next;
	arena_lock_acquire(&result->mutex);

attach:;
	mstate replaced = thread_arena;
	lock_acquire(&free_list_lock);
	detach_arena(replaced);
	remove_from_free_list(result);
	result->attached_threads++;
	lock_release(&free_list_lock);

	thread_arena = result;
	next_to_use = result->next;
	return result;
}

mstate arena_get2(size_t size, mstate avoid)
{
	note_thread_uses_heap();

	mstate av = take_from_free_list();
	if (av != NULL)
		return av;

	if (narenas_limit == 0) {
		if (mp_.arena_max != 0) {
			narenas_limit = mp_.arena_max;
		} else if (narenas > mp_.arena_test) {
			int processors = get_nprocs();
			narenas_limit = NARENAS_FROM_NCORES(processors >= 1 ? (size_t)processors : 2);
		}
	}
	for (;;) {
		size_t count = narenas;
		/* With no limit yet, narenas_limit - 1 wraps to SIZE_MAX: always room. */
		if (__builtin_expect(count <= narenas_limit - 1, 0)) {
			if (!__atomic_compare_exchange_n(&narenas, &count, count + 1, 0, __ATOMIC_ACQUIRE,
			                                 __ATOMIC_RELAXED))
				continue;
			av = new_arena(size);
			if (__builtin_expect(av == NULL, 0))
				__atomic_sub_fetch(&narenas, 1, __ATOMIC_RELAXED);
			return av;
		}
		return reused_arena(avoid);
	}
}

mstate arena_get_retry(mstate failed, size_t bytes)
{
	arena_lock_release(&failed->mutex);
	if (failed != &main_arena) {
		arena_lock_acquire(&main_arena.mutex);
		return &main_arena;
	}
	return arena_get2(bytes, failed);
}

/* ---- thread exit ---- */

static void arena_thread_exit(void)
{
	/* The cache goes first: emptying it may free into this thread's arena. */
	tcache_thread_shutdown();
	mstate av = thread_arena;
	thread_arena = NULL;
	if (av != NULL) {
		lock_acquire(&free_list_lock);
		malloc_assert(av->attached_threads > 0, "__malloc_arena_thread_freeres",
		              "a->attached_threads > 0");
		if (--av->attached_threads == 0) {
			av->next_free = free_list;
			free_list = av;
		}
		lock_release(&free_list_lock);
	}
}

/* Key destructors run in up to PTHREAD_DESTRUCTOR_ITERATIONS rounds; re-arming lets other keys'
   destructors (which may still free memory) run first, and the cache is torn down in the last
   round, as close as a library can get to glibc's place for it after all destructors. */
static void thread_exit_destructor(void *value)
{
	uintptr_t round = (uintptr_t)value;
	if (round < PTHREAD_DESTRUCTOR_ITERATIONS) {
		pthread_setspecific(thread_exit_key, (void *)(round + 1));
		return;
	}
	arena_thread_exit();
}
