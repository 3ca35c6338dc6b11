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
#include <sys/single_threaded.h>

#include "bins.h"
#include "chunk.h"
#include "lock.h"
#include "malloc_types.h"

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

/* ---- constants of glibc 2.36 on x86-64 ---- */
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
extern struct malloc_par mp_;
extern int perturb_byte;
extern uintptr_t tcache_key;
extern bool __malloc_initialized;
extern size_t narenas;
extern mstate free_list;
extern __libc_lock_t list_lock;
extern __libc_lock_t free_list_lock;
extern char *aligned_heap_area;
extern bool __always_fail_morecore;
/* arena.c's round robin over shared arenas, and the arena limit it computes once. */
extern mstate next_to_use;
extern size_t narenas_limit;
extern __thread mstate thread_arena;
extern __thread tcache_perthread_struct *tcache;
extern __thread bool tcache_shutting_down;

#define SINGLE_THREAD_P (__libc_single_threaded != 0)

/* ---- abort.c: the one way to die ---- */
_Noreturn void malloc_printerr(const char *message);
/* glibc 2.36 compiles its assertions in; the text is glibc's source expression, passed verbatim so
   the message is the same byte for byte. */
_Noreturn void malloc_assert_fail(const char *function, const char *expression);
#define malloc_assert(condition, function, expression)                                                       \
	do {                                                                                                 \
		if (__builtin_expect(!(condition), 0))                                                       \
			malloc_assert_fail(function, expression);                                            \
	} while (0)

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
	if (__builtin_expect(!__malloc_initialized, 0))
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
static inline size_t heap_min_size(void) { return mp_.hp_pagesize == 0 ? HEAP_MIN_SIZE : mp_.hp_pagesize; }
static inline size_t heap_max_size(void)
{
	return mp_.hp_pagesize == 0 ? HEAP_MAX_SIZE : mp_.hp_pagesize * 4;
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
static inline void maybe_init_tcache(void)
{
	if (__builtin_expect(tcache == NULL, 0))
		tcache_init();
}
/* The hot pair, inline because they sit on the fast paths of malloc and free. */
static inline void tcache_put(mchunkptr chunk, size_t tc_idx)
{
	tcache_entry *entry = chunk_to_mem(chunk);
	entry->key = tcache_key;
	entry->next = protect_pointer(&entry->next, tcache->entries[tc_idx]);
	tcache->entries[tc_idx] = entry;
	tcache->counts[tc_idx]++;
}
static inline void *tcache_get(size_t tc_idx)
{
	tcache_entry *entry = tcache->entries[tc_idx];
	if (__builtin_expect(!aligned_ok((uintptr_t)entry), 0))
		malloc_printerr("malloc(): unaligned tcache chunk detected");
	tcache->entries[tc_idx] = reveal_pointer(entry->next);
	tcache->counts[tc_idx]--;
	entry->key = 0;
	return entry;
}
/* free()'s double-free scan, run when the chunk carries tcache_key. */
void tcache_double_free_verify(tcache_entry *entry, size_t tc_idx);
void tcache_thread_shutdown(void);
void tcache_key_initialize(void);

/* ---- resize.c ---- */
void *_int_realloc(mstate av, mchunkptr oldp, size_t oldsize, size_t nb);

/* ---- aligned.c ---- */
void *_mid_memalign(size_t alignment, size_t bytes);

/* ---- tunables.c ---- */
void ptmalloc_apply_tunables(void);
PTM_COLD int do_mallopt(int param, int value);

/* ---- stats.c ---- */
PTM_COLD struct mallinfo2 int_mallinfo_all(void);

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
