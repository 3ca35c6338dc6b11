/*
 * What the allocator's modules share: the global state (glibc's names, which the debugger looks
 * up) and the functions one module offers the others.  Nothing here is exported from the
 * library; api.c holds the only public entry points.
 */
#ifndef PTMALLOC_INTERNAL_H
#define PTMALLOC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bins.h"
#include "chunk.h"
#include "lock.h"
#include "malloc_types.h"
#include "predict_notes.h"
#include "version.h"

#define PTM_STRINGIFY_VALUE(x) #x
#define PTM_STRINGIFY(x) PTM_STRINGIFY_VALUE(x)

#define PTM_EXPORT __attribute__((visibility("default")))
/* Code that an ordinary run never executes (reports, mallopt, malloc_trim, tunable parsing, fork):
   the compiler places it in .text.unlikely, and the link puts that in a segment of its own
   (allocator/layout.ld), so the pages a program maps hold only code it runs.  Not for the abort
   paths: marking malloc_printerr cold makes gcc split every caller in two, which costs _int_malloc
   more instructions than it saves. */
#define PTM_COLD __attribute__((cold))
/* Code that most programs never run but that should stay optimised for speed where it does run
   (the memalign family, the abort paths, the tunables' setters): a section of its own, which
   layout.ld links into the cold segment, moves it off the hot pages without changing how gcc
   compiles it or its callers, as PTM_COLD would. */
#define PTM_RARE __attribute__((section(".text.rare")))

/* ---- constants of glibc on x86-64 (the same in 2.31 and 2.36) ---- */
#define HEAP_MIN_SIZE (32 * 1024UL)
#define HEAP_MAX_SIZE (64 * 1024 * 1024UL)
#define DEFAULT_MMAP_THRESHOLD_MIN (128 * 1024UL)
#define DEFAULT_MMAP_THRESHOLD_MAX (4 * 1024 * 1024 * sizeof(long))
#define DEFAULT_MMAP_THRESHOLD DEFAULT_MMAP_THRESHOLD_MIN
#define DEFAULT_TRIM_THRESHOLD (128 * 1024UL)
#define DEFAULT_TOP_PAD (128 * 1024UL)
#define DEFAULT_MMAP_MAX 65536
#define MMAP_AS_MORECORE_SIZE (1024 * 1024UL)
#define MAX_ITERS 10000
#define TCACHE_FILL_COUNT 7
#define MAX_TCACHE_SIZE 1032UL
#define MAX_TCACHE_COUNT UINT16_MAX
#define NARENAS_FROM_NCORES(n) ((n) * (sizeof(long) == 4 ? 2 : 8))

/* ---- global state (arena.c, tunables.c, tcache.c) ---- */
extern struct malloc_state main_arena;
#if PTM_PREDICT_ENGINE
/* In the prediction engine the main arena is the inferior's, at the inferior's address: bins and
   chunks point into it there.  The engine sets the pointer before it runs a call. */
extern struct malloc_state *predict_main_arena;
#define main_arena (*predict_main_arena)
#endif
extern struct malloc_par mp_;
/* mp_ at start-up, the same in every release (the per-release globals.c place it). */
#define MALLOC_PAR_DEFAULTS                                                                                  \
	{                                                                                                    \
		.trim_threshold = DEFAULT_TRIM_THRESHOLD, .top_pad = DEFAULT_TOP_PAD,                        \
		.mmap_threshold = DEFAULT_MMAP_THRESHOLD, .arena_test = 8, .arena_max = 0,                   \
		.n_mmaps_max = DEFAULT_MMAP_MAX, .tcache_bins = TCACHE_MAX_BINS,                             \
		.tcache_max_bytes = MAX_TCACHE_SIZE, .tcache_count = TCACHE_FILL_COUNT,                      \
		.tcache_unsorted_limit = 0,                                                                  \
	}
extern int perturb_byte;
extern size_t narenas;
extern mstate free_list;
extern __libc_lock_t list_lock;
extern __libc_lock_t free_list_lock;
extern char *aligned_heap_area;
/* arena.c's round robin over shared arenas, and the arena limit it computes once. */
extern mstate next_to_use;
extern size_t narenas_limit;
extern __thread mstate thread_arena;
extern __thread tcache_perthread_struct *tcache;
extern __thread bool tcache_shutting_down;

/* Whether malloc may skip its locks: libc's own answer for the release. */
#if HAVE_LIBC_SINGLE_THREADED
#include <sys/single_threaded.h>
#define SINGLE_THREAD_P (__libc_single_threaded != 0)
#else
/* Before 2.32 libc asked the multiple_threads word of the thread control block (tcbhead_t, at
   %fs:0x18 on x86-64), which the first pthread_create sets for good in the creator and in every
   thread after it. */
static inline bool thread_header_says_single_threaded(void)
{
	int multiple_threads;
	__asm__ volatile("movl %%fs:0x18, %0" : "=r"(multiple_threads));
	return multiple_threads == 0;
}
#define SINGLE_THREAD_P thread_header_says_single_threaded()
#endif

/* Whether ptmalloc_init has run (or is running): a bool since 2.34, an int before. */
#if MALLOC_INITIALIZED_IS_INT
extern int __libc_malloc_initialized; /* -1 before ptmalloc_init, 0 while it runs, 1 after */
static inline bool malloc_initialized(void) { return __libc_malloc_initialized >= 0; }
static inline void note_malloc_initializing(void) { __libc_malloc_initialized = 0; }
static inline void note_malloc_initialized(void) { __libc_malloc_initialized = 1; }
#else
extern bool __malloc_initialized;
static inline bool malloc_initialized(void) { return __malloc_initialized; }
static inline void note_malloc_initializing(void) { __malloc_initialized = true; }
static inline void note_malloc_initialized(void) {}
#endif

/* The hugetlb tunable's settings (2.35+); without it there are no huge pages to use. */
#if HAVE_HUGEPAGES
static inline size_t hugepage_size(void) { return mp_.hp_pagesize; }
static inline int hugepage_mmap_flags(void) { return mp_.hp_flags; }
static inline size_t transparent_hugepage_size(void) { return mp_.thp_pagesize; }
/* The hugetlb tunable's setter (hugepages.c). */
PTM_COLD int set_hugetlb(size_t value);
/* A heap's pages: huge ones when it was made with the hugetlb tunable. */
static inline size_t heap_page_size(const heap_info *heap) { return heap->pagesize; }
static inline void record_heap_page_size(heap_info *heap, size_t page_size) { heap->pagesize = page_size; }
#else
static inline size_t hugepage_size(void) { return 0; }
static inline int hugepage_mmap_flags(void) { return 0; }
static inline size_t transparent_hugepage_size(void) { return 0; }
static inline int set_hugetlb(size_t value)
{
	(void)value;
	return 0;
}
size_t system_page_size(void);
static inline size_t heap_page_size(const heap_info *heap)
{
	(void)heap;
	return system_page_size();
}
static inline void record_heap_page_size(heap_info *heap, size_t page_size) { (void)heap, (void)page_size; }
#endif

/* ---- abort.c: the one way to die ---- */
_Noreturn void malloc_printerr(const char *message);
/* glibc compiles its assertions in; the text is glibc 2.36's source expression, passed verbatim so
   the message is the same byte for byte.  Where a function asserts the same text twice, `site`
   says which one (1, 2 in glibc's source order): releases whose message names the source line
   (version.h: FATAL_ERROR_ASSERTIONS) tell them apart. */
_Noreturn void malloc_assert_fail(const char *function, const char *expression, int site);
#define malloc_assert_site(condition, function, expression, site)                                            \
	do {                                                                                                 \
		if (__builtin_expect(!(condition), 0))                                                       \
			malloc_assert_fail(function, expression, site);                                      \
	} while (0)
#define malloc_assert(condition, function, expression) malloc_assert_site(condition, function, expression, 1)

#if ASSERTIONS_NAME_SOURCE_LINE
/* Where glibc's source asserted it, and how it spelled it there. */
struct assertion_site {
	const char *function, *file;
	unsigned int line;
	const char *expression;
};
/* One of the clone's assertions (glibc 2.36's function and text, and which site) and what the
   release prints for it: the release's table is glibc-VERSION/assertions.c. */
struct release_assertion {
	const char *function, *expression;
	int site;
	struct assertion_site where;
};
extern const struct release_assertion release_assertions[];
/* An assertion the release spells as 2.36 does and in the same function. */
#define SAME_ASSERTION_TEXT(function, file, line, expression, site)                                          \
	{                                                                                                    \
		function, expression, site, { function, file, line, expression }                             \
	}
extern const size_t release_assertion_count;
#endif

/* ---- the locks fork() holds: every arena's mutex and list_lock (fork.c) ---- */
/* True in the forking thread from the moment its prepare handler holds them all until its parent
   or child handler gives them back.  Atfork handlers registered before the clone's run in that
   window, in that thread, and may allocate: they find every arena theirs already, so they must
   neither wait for these locks nor release them. */
extern __thread bool fork_locks_held_here;

static inline void arena_lock_acquire(__libc_lock_t *lock)
{
	if (!lock_try(lock) && !fork_locks_held_here)
		lock_acquire_contended(lock);
}

static inline void arena_lock_release(__libc_lock_t *lock)
{
	if (__builtin_expect(!fork_locks_held_here, 1))
		lock_release(lock);
}

/* ---- arena.c: arenas, heaps, thread attach/detach ---- */
void ptmalloc_init(void);
static inline void ptmalloc_ensure_init(void)
{
	if (__builtin_expect(!malloc_initialized(), 0))
		ptmalloc_init();
}
/* A thread without an arena gets one here: from the free list, a new one, or a shared one. */
mstate arena_get2(size_t size, mstate avoid);
/* The calling thread's arena, locked; NULL only when no arena could be created. */
static inline mstate arena_get(size_t size)
{
	mstate av = thread_arena;
	if (av != NULL) {
		arena_lock_acquire(&av->mutex);
		return av;
	}
	return arena_get2(size, NULL);
}
mstate arena_get_retry(mstate failed, size_t bytes);

/* ---- fork.c ---- */
/* Registers the fork handlers once; called as early as the library can (see fork.c). */
void register_fork_handlers(void);
/* With the hugetlb tunable, heaps are sized and aligned in huge pages instead. */
static inline size_t heap_min_size(void) { return hugepage_size() == 0 ? HEAP_MIN_SIZE : hugepage_size(); }
static inline size_t heap_max_size(void)
{
	return hugepage_size() == 0 ? HEAP_MAX_SIZE : hugepage_size() * 4;
}
static inline heap_info *heap_for_ptr(void *pointer)
{
	return (heap_info *)((uintptr_t)pointer & ~(heap_max_size() - 1));
}
static inline mstate arena_for_chunk(mchunkptr p)
{
	return chunk_main_arena(p) ? &main_arena : heap_for_ptr(p)->ar_ptr;
}
heap_info *new_heap(size_t size, size_t top_pad);
int grow_heap(heap_info *heap, long diff);
int heap_trim(heap_info *heap, size_t pad);

/* ---- malloc.c ---- */
void *_int_malloc(mstate av, size_t bytes);

/* _int_malloc in the calling thread's arena, retried once in another; *used is the arena that
   answered (unlocked again), or NULL when there was none.  Inline: it is malloc's multi-thread path. */
static inline void *arena_malloc(size_t bytes, mstate *used)
{
	mstate av = arena_get(bytes);
	void *mem = _int_malloc(av, bytes);
	/* Retry elsewhere only when there was an arena to fail in. */
	if (mem == NULL && av != NULL) {
		av = arena_get_retry(av, bytes);
		mem = _int_malloc(av, bytes);
	}
	if (av != NULL)
		arena_lock_release(&av->mutex);
	*used = av;
	return mem;
}

/* ---- free.c ---- */
void _int_free(mstate av, mchunkptr p, int have_lock);
/* _int_free's path for a chunk that neither the tcache nor a fastbin takes, under the arena's lock:
   glibc's checks, merging with free neighbours, filing, then consolidation and trimming when
   the result is big. */
void free_merge_chunk(mstate av, mchunkptr p, size_t size);
/* Files p, a free piece cut from the end of a chunk in use (memalign's tail from 2.39), merging
   it with a free successor, without free's checks; then as free_merge_chunk. */
void free_file_tail(mstate av, mchunkptr p, size_t size);
void malloc_consolidate(mstate av);

/* ---- sysmalloc.c: memory from the system and back ---- */
void *sysmalloc(size_t nb, mstate av);
int systrim(size_t pad, mstate av);
void munmap_chunk(mchunkptr p);
mchunkptr mremap_chunk(mchunkptr p, size_t new_size);
PTM_COLD int mtrim(mstate av, size_t pad);
size_t system_page_size(void);

/* ---- tcache.c ---- */
static inline size_t csize2tidx(size_t chunk_size)
{
	return (chunk_size - MINSIZE + MALLOC_ALIGN_MASK) / MALLOC_ALIGNMENT;
}
static inline size_t usize2tidx(size_t request) { return csize2tidx(request_to_size(request)); }
void tcache_init(void);
/* The mark a chunk carries while it is cached, which free() takes as a hint of a double free. */
#if TCACHE_KEY_IS_POINTER
static inline tcache_perthread_struct *tcache_mark(void) { return tcache; }
#else
extern uintptr_t tcache_key;
static inline uintptr_t tcache_mark(void) { return tcache_key; }
#endif
static inline void maybe_init_tcache(void)
{
	if (__builtin_expect(tcache == NULL, 0))
		tcache_init();
}
/* The hot pair, inline because they sit on the fast paths of malloc and free. */
static inline void tcache_put(mchunkptr chunk, size_t tc_idx)
{
	tcache_entry *entry = chunk_to_mem(chunk);
	entry->key = tcache_mark();
	entry->next = protect_pointer(&entry->next, tcache->entries[tc_idx]);
	tcache->entries[tc_idx] = entry;
	tcache->counts[tc_idx]++;
	NOTE_DESTINATION("tcache");
}
static inline void *tcache_get(size_t tc_idx)
{
	tcache_entry *entry = tcache->entries[tc_idx];
	if (__builtin_expect(misaligned_link(entry), 0))
		malloc_printerr("malloc(): unaligned tcache chunk detected");
	tcache->entries[tc_idx] = reveal_pointer(entry->next);
	tcache->counts[tc_idx]--;
	entry->key = 0;
	NOTE_SOURCE("tcache");
	return entry;
}
/* free()'s double-free scan, run when the chunk carries the tcache mark. */
void tcache_double_free_verify(tcache_entry *entry, size_t tc_idx);
void tcache_thread_shutdown(void);
void tcache_key_initialize(void);

/* ---- resize.c ---- */
void *_int_realloc(mstate av, mchunkptr oldp, size_t oldsize, size_t nb);

/* ---- aligned.c ---- */
/* `caller` is what __memalign_hook is told (hooks.h). */
void *_mid_memalign(size_t alignment, size_t bytes, const void *caller);
void *_int_memalign(mstate av, size_t alignment, size_t bytes);
/* An alignment that is not a power of two, rounded up to one (from 2 * MALLOC_ALIGNMENT on);
   the caller has refused those above 2^63. */
static inline size_t alignment_as_power_of_two(size_t alignment)
{
	if ((alignment & (alignment - 1)) == 0)
		return alignment;
	size_t power = MALLOC_ALIGNMENT * 2;
	while (power < alignment)
		power <<= 1;
	return power;
}

/* ---- tunables.c ---- */
void ptmalloc_apply_tunables(void);
PTM_COLD int do_mallopt(int param, int value);

/* ---- stats.c ---- */
/* mallinfo2's fields (which 2.31's malloc.h does not have), summed over every arena. */
struct malloc_totals {
	size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
PTM_COLD struct malloc_totals int_mallinfo_all(void);

/* Perturbation of fresh and freed memory (M_PERTURB, a debugging aid).  Inline: the test of
   perturb_byte is on every allocation path and must cost nothing when it is off. */
static inline void alloc_perturb(void *mem, size_t length)
{
	if (__builtin_expect(perturb_byte != 0, 0))
		__builtin_memset(mem, perturb_byte ^ 0xff, length);
}
static inline void free_perturb(void *mem, size_t length)
{
	if (__builtin_expect(perturb_byte != 0, 0))
		__builtin_memset(mem, perturb_byte, length);
}

#endif
