/*
 * The allocation history's ring (history.h): mapped once at initialisation when the tunable asks
 * for it, then written by every thread without a lock.
 *
 * Where it lives: not in the heap (no malloc, no sbrk), so heap chunks sit where glibc puts them;
 * and not where the kernel would put an mmap without a hint either, since it hands out mmap space
 * downward from the top and a ring there would push every later mmapped chunk and thread heap
 * down by its size.  It asks for HISTORY_PLACE instead, far below the libraries and far above any
 * program's brk heap; only if that is taken (or the kernel declines the hint) does it land where
 * the kernel chooses, and then the mmapped chunks that follow move down by the ring's size.
 *
 * Concurrency: numbers come from one atomic counter, and each slot is published by writing its
 * number last with release ordering (zero first, so a half-written slot never carries a number).
 * Two writers share a slot only if the ring wraps around while the first is still inside its
 * call: rings smaller than the calls in flight at once can lose events, never invent them.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "history.h"
#include "internal.h"
#include "syscalls.h"

/* The prediction engine never records (history.h). */
#if !PTM_PREDICT_ENGINE

/* 32 TiB: above where brk heaps and non-PIE programs live, below the mmap area and the stack. */
#define HISTORY_PLACE ((void *)0x200000000000UL)

struct ptmalloc_history *ptmalloc_history;

/* The thread's id, asked of the kernel once per thread (0: not yet), and whether the thread is
   inside a recorded call. */
static __thread int32_t history_thread_id;
__thread bool history_in_call;

PTM_RARE void history_enable(size_t capacity)
{
	if (capacity == 0 || ptmalloc_history != NULL)
		return;
	size_t bytes = sizeof(struct ptmalloc_history) + capacity * sizeof(struct ptmalloc_history_event);
	size_t page = system_page_size();
	bytes = (bytes + page - 1) & ~(page - 1);
	int saved_errno = errno;
	void *ring = mmap(HISTORY_PLACE, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED) {
		errno = saved_errno;
		return;
	}
	errno = saved_errno;
	struct ptmalloc_history *history = ring;
	history->capacity = capacity;
	/* Published last: a thread that sees the pointer sees the capacity. */
	__atomic_store_n(&ptmalloc_history, history, __ATOMIC_RELEASE);
}

PTM_RARE void history_forget_thread_id(void) { history_thread_id = 0; }

PTM_RARE uint64_t history_claim(void)
{
	struct ptmalloc_history *history = ptmalloc_history;
	uint64_t seq = __atomic_add_fetch(&history->recorded, 1, __ATOMIC_RELAXED);
	struct ptmalloc_history_event *slot = &history->events[(seq - 1) % history->capacity];
	__atomic_store_n(&slot->seq, 0, __ATOMIC_RELAXED);
	/* The zero is seen before any field written after it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return seq;
}

PTM_RARE void history_write(uint64_t seq, enum ptmalloc_history_op op, void *ptr, void *old_ptr, size_t size,
                            size_t alignment, const void *caller)
{
	struct ptmalloc_history *history = ptmalloc_history;
	struct ptmalloc_history_event *slot = &history->events[(seq - 1) % history->capacity];
	if (history_thread_id == 0)
		history_thread_id = (int32_t)raw_syscall3(SYS_gettid, 0, 0, 0);
	slot->op = op;
	slot->thread = history_thread_id;
	slot->ptr = ptr;
	slot->old_ptr = old_ptr;
	slot->size = size;
	slot->alignment = alignment;
	slot->caller = caller;
	__atomic_store_n(&slot->seq, seq, __ATOMIC_RELEASE);
}

#endif
