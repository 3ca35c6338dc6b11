/*
 * The arena lock: an int-sized futex word (0 free, 1 held, 2 held with waiters), the same shape as
 * glibc's __libc_lock_t, so malloc_state keeps glibc's layout and a debugger reads `mutex` as a
 * plain int.
 */
#ifndef PTMALLOC_LOCK_H
#define PTMALLOC_LOCK_H

#include <linux/futex.h>

#include "syscalls.h"

/* Direct system calls, like glibc's lock: errno stays untouched (a lock taken inside free() must
   not change it).  Only contended paths get here. */
static inline void futex_lock_wait(int *word) { sys_futex(word, FUTEX_WAIT_PRIVATE, 2); }

static inline void futex_wake_one(int *word) { sys_futex(word, FUTEX_WAKE_PRIVATE, 1); }

/* Returns true when the lock was taken. */
static inline int lock_try(int *word)
{
	int expected = 0;
	return __atomic_compare_exchange_n(word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

#if PTM_PREDICT_ENGINE
/* In the prediction engine a held lock belongs to a thread of the inferior, stopped: the engine
   notes that the call would wait for it, and goes on as if that thread had let it go. */
void predict_lock_held_elsewhere(int *word);
static inline void lock_acquire_contended(int *word) { predict_lock_held_elsewhere(word); }
#else
/* The wait for a lock another thread holds: marked contended (2), so its release wakes us. */
static inline void lock_acquire_contended(int *word)
{
	while (__atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE) != 0)
		futex_lock_wait(word);
}
#endif

static inline void lock_acquire(int *word)
{
	if (!lock_try(word))
		lock_acquire_contended(word);
}

static inline void lock_release(int *word)
{
	if (__atomic_exchange_n(word, 0, __ATOMIC_RELEASE) == 2)
		futex_wake_one(word);
}

/* After fork only the forking thread exists, so a lock held by a vanished thread is simply reset. */
static inline void lock_reinit(int *word) { *word = 0; }

#endif
