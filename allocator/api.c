/*
 * The exported entry points, with glibc's behaviour at the boundary: the hooks (before 2.34,
 * hooks.h), lazy initialisation, the tcache fast paths of malloc and free, the single-thread path
 * that takes no lock, arena choice and retry, and errno.  Everything below them is internal to
 * the library.
 *
 * With allocation history on (history.h), each entry point hands its call to a *_recorded
 * twin, which runs the same body and records the call once; the test costs the usual path one
 * predicted branch.  Bodies are *_unrecorded, inlined into both, and take the caller's address
 * as an argument so that a hook is told the program's call site either way.  A *_recorded twin
 * is reached only by tail calls (from its entry point, or from the entry point's cold path,
 * itself tail-called), so the program's call site is its own return address: it asks for it
 * itself, and the entry points' hot paths need no stack frame to pass it on.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>

#include "history.h"
#include "hooks.h"
#include "internal.h"

/* The address a hook is told it was called from: the caller of the entry point. */
#define CALLER __builtin_return_address(0)

/* A static link takes archive members only for symbols it needs; this reference brings the member
   holding the .debug_gdb_scripts entry, so gdb auto-loads the extension for static programs too. */
extern const char ptmalloc_gdb_script_anchor;
__attribute__((used)) static const char *const keep_gdb_script_entry = &ptmalloc_gdb_script_anchor;

#define arena_matches(mem, arena)                                                                            \
	(!(mem) || chunk_is_mmapped(mem_to_chunk(mem)) || (arena) == arena_for_chunk(mem_to_chunk(mem)))

/* Everything but a tcache hit, kept out of line so the hit path needs no stack frame to speak of. */
static __attribute__((noinline)) void *malloc_from_arena(size_t bytes)
{
	if (SINGLE_THREAD_P) {
		void *mem = _int_malloc(&main_arena, bytes);
		malloc_assert(
		    arena_matches(mem, &main_arena), "__libc_malloc",
		    "!victim || chunk_is_mmapped (mem2chunk (victim)) || &main_arena == arena_for_chunk "
		    "(mem2chunk (victim))");
		return mem;
	}

	mstate av;
	void *mem = arena_malloc(bytes, &av);
	malloc_assert(
	    arena_matches(mem, av), "__libc_malloc",
	    "!victim || chunk_is_mmapped (mem2chunk (victim)) || ar_ptr == arena_for_chunk (mem2chunk "
	    "(victim))");
	return mem;
}

/* Initialises the allocator at its first call.  That may turn history on (the tunable is read
   then): true when it did and the call is not recorded yet, so that the entry point starts over
   through its recorded twin and the first call is in the ring like the others. */
static inline bool first_call_starts_history(void)
{
	if (__builtin_expect(malloc_initialized(), 1))
		return false;
	ptmalloc_init();
	return history_is_on() && !history_inside_call();
}

static void *malloc_recorded(size_t bytes);

/* malloc with every precondition checked: first calls, impossible sizes, a thread without tcache. */
static __attribute__((noinline)) void *malloc_cold(size_t bytes)
{
	if (first_call_starts_history())
		return malloc_recorded(bytes);
	size_t nb = checked_request_to_size(bytes);
	if (nb == 0) {
		errno = ENOMEM;
		return NULL;
	}
	size_t tc_idx = csize2tidx(nb);
	maybe_init_tcache();
	if (tc_idx < mp_.tcache_bins && tcache != NULL && tcache->counts[tc_idx] > 0)
		return tcache_get(tc_idx);
	return malloc_from_arena(bytes);
}

static inline __attribute__((always_inline)) void *malloc_unrecorded(size_t bytes, const void *caller)
{
	void *answer;
	if (malloc_hook_answers(bytes, caller, &answer))
		return answer;
	if (__builtin_expect(!malloc_initialized() || tcache == NULL || bytes > PTRDIFF_MAX, 0))
		return malloc_cold(bytes);
	size_t tc_idx = csize2tidx(request_to_size(bytes));
	if (tc_idx < mp_.tcache_bins && tcache->counts[tc_idx] > 0)
		return tcache_get(tc_idx);
	return malloc_from_arena(bytes);
}

static PTM_RARE __attribute__((noinline)) void *malloc_recorded(size_t bytes)
{
	const void *caller = CALLER;
	if (!history_enter())
		return malloc_unrecorded(bytes, caller);
	void *mem = malloc_unrecorded(bytes, caller);
	history_write(history_claim(), PTMALLOC_HISTORY_MALLOC, mem, NULL, bytes, 0, caller);
	history_leave();
	return mem;
}

/* The hot path makes no calls except tail calls, so it needs no saved registers. */
PTM_EXPORT void *malloc(size_t bytes)
{
	if (history_is_on())
		return malloc_recorded(bytes);
	return malloc_unrecorded(bytes, CALLER);
}

/* free() keeps errno (glibc 2.33+, version.h).  Reading errno from a library is a call, so it is
   saved only around the steps that can make a system call: unmapping, creating the tcache, and
   trimming (the latter inside _int_free). */
/* The rare cases of free(): mmapped chunks, and a thread that has no tcache yet. */
static __attribute__((noinline)) void free_cold(mchunkptr p)
{
	int saved_errno = errno;
	if (chunk_is_mmapped(p)) {
		/* Freeing a large mapping raises the mmap threshold to its size: such blocks are probably
		   transient, and serving them from the heap avoids repeated mmap/munmap. */
		if (!mp_.no_dyn_threshold && chunk_size_raw(p) > mp_.mmap_threshold &&
		    chunk_size_raw(p) <= DEFAULT_MMAP_THRESHOLD_MAX) {
			mp_.mmap_threshold = chunk_size(p);
			mp_.trim_threshold = 2 * mp_.mmap_threshold;
		}
		munmap_chunk(p);
		if (FREE_KEEPS_ERRNO)
			errno = saved_errno;
		return;
	}
	tcache_init();
	if (FREE_KEEPS_ERRNO)
		errno = saved_errno;
	_int_free(arena_for_chunk(p), p, 0);
}

static inline __attribute__((always_inline)) void free_unrecorded(void *mem, const void *caller)
{
	if (free_hook_answers(mem, caller))
		return;
	if (mem == NULL)
		return;
	mchunkptr p = mem_to_chunk(mem);
	if (__builtin_expect(chunk_is_mmapped(p) || tcache == NULL, 0)) {
		free_cold(p);
		return;
	}
	_int_free(arena_for_chunk(p), p, 0);
}

/* Recorded before the chunk is released, so a free that aborts is in the ring too. */
static PTM_RARE __attribute__((noinline)) void free_recorded(void *mem)
{
	const void *caller = CALLER;
	if (!history_enter()) {
		free_unrecorded(mem, caller);
		return;
	}
	history_write(history_claim(), PTMALLOC_HISTORY_FREE, mem, NULL, 0, 0, caller);
	free_unrecorded(mem, caller);
	history_leave();
}

PTM_EXPORT void free(void *mem)
{
	if (history_is_on()) {
		free_recorded(mem);
		return;
	}
	free_unrecorded(mem, CALLER);
}

PTM_EXPORT void cfree(void *mem) { free(mem); }

static void *calloc_recorded(size_t count, size_t element_size);

static inline __attribute__((always_inline)) void *calloc_unrecorded(size_t count, size_t element_size,
                                                                     const void *caller)
{
	ptrdiff_t bytes;
	if (__builtin_mul_overflow(count, element_size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	size_t size = (size_t)bytes;
	void *hooked;
	if (malloc_hook_answers(size, caller, &hooked))
		return hooked == NULL ? NULL : memset(hooked, 0, size);
	if (first_call_starts_history())
		return calloc_recorded(count, element_size);
	if (CALLOC_USES_TCACHE) {
		size_t tc_idx = usize2tidx(size);
		if (tc_idx < mp_.tcache_bins && tcache != NULL && tcache->counts[tc_idx] > 0) {
			void *mem = tcache_get(tc_idx);
			return memset(mem, 0, chunk_size(mem_to_chunk(mem)) - SIZE_SZ);
		}
	}
	maybe_init_tcache();

	mstate av = SINGLE_THREAD_P ? &main_arena : arena_get(size);
	mchunkptr old_top = NULL;
	size_t old_top_size = 0;
	if (av != NULL) {
		/* Memory fresh from the system is already zero: note how much of the top was not. */
		old_top = av->top;
		old_top_size = chunk_size(old_top);
		if (av == &main_arena) {
			size_t fresh_end = (size_t)(mp_.sbrk_base + av->max_system_mem - (char *)old_top);
			if (old_top_size < fresh_end)
				old_top_size = fresh_end;
		} else {
			heap_info *heap = heap_for_ptr(old_top);
			size_t mapped_end = (size_t)((char *)heap + heap->mprotect_size - (char *)old_top);
			if (old_top_size < mapped_end)
				old_top_size = mapped_end;
		}
	}

	void *mem = _int_malloc(av, size);
	malloc_assert(
	    arena_matches(mem, av), "__libc_calloc",
	    "!mem || chunk_is_mmapped (mem2chunk (mem)) || av == arena_for_chunk (mem2chunk (mem))");
	if (!SINGLE_THREAD_P) {
		if (mem == NULL && av != NULL) {
			av = arena_get_retry(av, size);
			mem = _int_malloc(av, size);
		}
		if (av != NULL)
			arena_lock_release(&av->mutex);
	}
	if (mem == NULL)
		return NULL;

	mchunkptr p = mem_to_chunk(mem);
	size_t chunk_bytes = chunk_size(p);
	if (chunk_is_mmapped(p)) {
		if (__builtin_expect(perturb_byte, 0))
			return memset(mem, 0, size);
		return mem;
	}
	if (perturb_byte == 0 && p == old_top && chunk_bytes > old_top_size)
		chunk_bytes = old_top_size;

	size_t clear_size = chunk_bytes - SIZE_SZ;
	malloc_assert(clear_size / sizeof(size_t) >= 3, "__libc_calloc", "nclears >= 3");
	return memset(mem, 0, clear_size);
}

static PTM_RARE __attribute__((noinline)) void *calloc_recorded(size_t count, size_t element_size)
{
	const void *caller = CALLER;
	if (!history_enter())
		return calloc_unrecorded(count, element_size, caller);
	void *mem = calloc_unrecorded(count, element_size, caller);
	size_t bytes;
	if (__builtin_mul_overflow(count, element_size, &bytes))
		bytes = SIZE_MAX;
	history_write(history_claim(), PTMALLOC_HISTORY_CALLOC, mem, NULL, bytes, 0, caller);
	history_leave();
	return mem;
}

PTM_EXPORT void *calloc(size_t count, size_t element_size)
{
	if (history_is_on())
		return calloc_recorded(count, element_size);
	return calloc_unrecorded(count, element_size, CALLER);
}

static void *realloc_recorded(void *oldmem, size_t bytes);

/* The bytes of a chunk in use the caller may write (glibc's musable): 0 for a chunk not in use.
   Reads the next chunk's header, wherever the chunk's size points. */
static inline size_t usable_size(void *mem)
{
	mchunkptr p = mem_to_chunk(mem);
	if (chunk_is_mmapped(p))
		return chunk_size(p) - CHUNK_HDR_SZ;
	if (chunk_inuse(p))
		return chunk_size(p) - SIZE_SZ;
	return 0;
}

/* From 2.38 (REALLOC_KEEPS_NEAR_FIT), before any check of the chunk: a new size that fits the
   usable bytes with less than two words to spare (a page, mmapped) keeps the block as it is. */
static inline bool realloc_keeps_block(void *oldmem, size_t bytes)
{
	if (!REALLOC_KEEPS_NEAR_FIT)
		return false;
	size_t usable = usable_size(oldmem);
	if (bytes > usable)
		return false;
	size_t spare = usable - bytes;
	return spare < 2 * SIZE_SZ || (chunk_is_mmapped(mem_to_chunk(oldmem)) && spare <= system_page_size());
}

/* realloc in full: first calls, NULL and zero sizes, mmapped chunks, other threads. */
static __attribute__((noinline)) void *realloc_cold(void *oldmem, size_t bytes)
{
	if (first_call_starts_history())
		return realloc_recorded(oldmem, bytes);
	if (bytes == 0 && oldmem != NULL) {
		free(oldmem);
		return NULL;
	}
	if (oldmem == NULL)
		return malloc(bytes);
	if (realloc_keeps_block(oldmem, bytes))
		return oldmem;

	const mchunkptr oldp = mem_to_chunk(oldmem);
	const size_t oldsize = chunk_size(oldp);
	mstate av = NULL;
	if (!chunk_is_mmapped(oldp)) {
		maybe_init_tcache();
		av = arena_for_chunk(oldp);
	}
	if (__builtin_expect((uintptr_t)oldp > (uintptr_t)-oldsize, 0) ||
	    __builtin_expect(misaligned_chunk(oldp), 0))
		malloc_printerr("realloc(): invalid pointer");

	size_t nb = checked_request_to_size(bytes);
	if (nb == 0) {
		errno = ENOMEM;
		return NULL;
	}

	if (chunk_is_mmapped(oldp)) {
		mchunkptr moved = mremap_chunk(oldp, nb);
		if (moved != NULL)
			return chunk_to_mem(moved);
		if (oldsize - SIZE_SZ >= nb)
			return oldmem;
		void *newmem = malloc(bytes);
		if (newmem == NULL)
			return NULL;
		memcpy(newmem, oldmem, oldsize - CHUNK_HDR_SZ);
		munmap_chunk(oldp);
		return newmem;
	}

	if (SINGLE_THREAD_P) {
		void *newmem = _int_realloc(av, oldp, oldsize, nb);
		malloc_assert(
		    arena_matches(newmem, av), "__libc_realloc",
		    "!newp || chunk_is_mmapped (mem2chunk (newp)) || ar_ptr == arena_for_chunk (mem2chunk "
		    "(newp))");
		return newmem;
	}

	arena_lock_acquire(&av->mutex);
	void *newmem = _int_realloc(av, oldp, oldsize, nb);
	arena_lock_release(&av->mutex);
	malloc_assert_site(
	    arena_matches(newmem, av), "__libc_realloc",
	    "!newp || chunk_is_mmapped (mem2chunk (newp)) || ar_ptr == arena_for_chunk (mem2chunk (newp))",
	    2);
	if (newmem == NULL) {
		/* This arena is exhausted; any arena will do. */
		newmem = malloc(bytes);
		if (newmem != NULL) {
			memcpy(newmem, oldmem, oldsize - SIZE_SZ);
			_int_free(av, oldp, 0);
		}
	}
	return newmem;
}

/* The common case, a heap chunk of a single-threaded program, with no more work than glibc's. */
static inline __attribute__((always_inline)) void *realloc_unrecorded(void *oldmem, size_t bytes,
                                                                      const void *caller)
{
	void *answer;
	if (realloc_hook_answers(oldmem, bytes, caller, &answer))
		return answer;
	if (__builtin_expect(!malloc_initialized() || oldmem == NULL || bytes == 0 || bytes > PTRDIFF_MAX ||
	                         tcache == NULL || !SINGLE_THREAD_P,
	                     0))
		return realloc_cold(oldmem, bytes);
	if (realloc_keeps_block(oldmem, bytes))
		return oldmem;
	const mchunkptr oldp = mem_to_chunk(oldmem);
	const size_t oldsize = chunk_size(oldp);
	if (__builtin_expect(chunk_is_mmapped(oldp), 0))
		return realloc_cold(oldmem, bytes);
	mstate av = arena_for_chunk(oldp);
	if (__builtin_expect((uintptr_t)oldp > (uintptr_t)-oldsize, 0) ||
	    __builtin_expect(misaligned_chunk(oldp), 0))
		malloc_printerr("realloc(): invalid pointer");
	void *newmem = _int_realloc(av, oldp, oldsize, request_to_size(bytes));
	malloc_assert(
	    arena_matches(newmem, av), "__libc_realloc",
	    "!newp || chunk_is_mmapped (mem2chunk (newp)) || ar_ptr == arena_for_chunk (mem2chunk (newp))");
	return newmem;
}

/* Numbered before it runs: the old chunk may be handed to another thread before it returns. */
static PTM_RARE __attribute__((noinline)) void *realloc_recorded(void *oldmem, size_t bytes)
{
	const void *caller = CALLER;
	if (!history_enter())
		return realloc_unrecorded(oldmem, bytes, caller);
	uint64_t seq = history_claim();
	void *newmem = realloc_unrecorded(oldmem, bytes, caller);
	history_write(seq, PTMALLOC_HISTORY_REALLOC, newmem, oldmem, bytes, 0, caller);
	history_leave();
	return newmem;
}

PTM_EXPORT void *realloc(void *oldmem, size_t bytes)
{
	if (history_is_on())
		return realloc_recorded(oldmem, bytes);
	return realloc_unrecorded(oldmem, bytes, CALLER);
}

PTM_EXPORT void *reallocarray(void *oldmem, size_t count, size_t element_size)
{
	size_t bytes;
	if (__builtin_mul_overflow(count, element_size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(oldmem, bytes);
}

/* The memalign family after its own checks, recorded as `op` with the size the program asked for
   (`requested`: pvalloc rounds it up before this). */
static PTM_RARE void *aligned_call(enum ptmalloc_history_op op, size_t alignment, size_t bytes,
                                   size_t requested, const void *caller)
{
	if (!history_is_on() || !history_enter())
		return _mid_memalign(alignment, bytes, caller);
	void *mem = _mid_memalign(alignment, bytes, caller);
	history_write(history_claim(), op, mem, NULL, requested, alignment, caller);
	history_leave();
	return mem;
}

PTM_EXPORT PTM_RARE void *memalign(size_t alignment, size_t bytes)
{
	ptmalloc_ensure_init();
	return aligned_call(PTMALLOC_HISTORY_MEMALIGN, alignment, bytes, bytes, CALLER);
}

/* In glibc 2.36 aligned_alloc is memalign under another name: no validation of its arguments;
   from 2.38 it refuses an alignment that is not a power of two (version.h). */
PTM_EXPORT PTM_RARE void *aligned_alloc(size_t alignment, size_t bytes)
{
	ptmalloc_ensure_init();
	if (ALIGNED_ALLOC_WANTS_POWER_OF_TWO && (alignment == 0 || (alignment & (alignment - 1)) != 0)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned_call(PTMALLOC_HISTORY_ALIGNED_ALLOC, alignment, bytes, bytes, CALLER);
}

PTM_EXPORT PTM_RARE int posix_memalign(void **result, size_t alignment, size_t bytes)
{
	ptmalloc_ensure_init();
	size_t words = alignment / sizeof(void *);
	if (alignment % sizeof(void *) != 0 || (words & (words - 1)) != 0 || alignment == 0)
		return EINVAL;
	void *mem = aligned_call(PTMALLOC_HISTORY_POSIX_MEMALIGN, alignment, bytes, bytes, CALLER);
	if (mem == NULL)
		return ENOMEM;
	*result = mem;
	return 0;
}

PTM_EXPORT PTM_RARE void *valloc(size_t bytes)
{
	ptmalloc_ensure_init();
	return aligned_call(PTMALLOC_HISTORY_VALLOC, system_page_size(), bytes, bytes, CALLER);
}

PTM_EXPORT PTM_RARE void *pvalloc(size_t bytes)
{
	ptmalloc_ensure_init();
	size_t page_size = system_page_size();
	size_t rounded;
	if (__builtin_add_overflow(bytes, page_size - 1, &rounded)) {
		errno = ENOMEM;
		return NULL;
	}
	/* glibc masks with -(pagesize - 1), not -pagesize: bit 0 may survive; we match it. */
	rounded &= -(page_size - 1);
	return aligned_call(PTMALLOC_HISTORY_PVALLOC, page_size, rounded, bytes, CALLER);
}

PTM_EXPORT size_t malloc_usable_size(void *mem)
{
	if (mem == NULL)
		return 0;
	size_t checked;
	if (checked_usable_size_answers(mem, &checked))
		return checked;
	return usable_size(mem);
}

PTM_EXPORT PTM_COLD int mallopt(int param, int value) { return do_mallopt(param, value); }

PTM_EXPORT PTM_COLD int malloc_trim(size_t pad)
{
	ptmalloc_ensure_init();
	int released = 0;
	mstate av = &main_arena;
	do {
		arena_lock_acquire(&av->mutex);
		released |= mtrim(av, pad);
		arena_lock_release(&av->mutex);
		av = av->next;
	} while (av != &main_arena);
	return released;
}
