/*
 * fork(): no other thread may be inside the allocator at the instant the address space is copied,
 * and the child, whose only thread is the one that forked, must find every lock free.
 *
 * glibc's fork() takes its own malloc's locks last: after running the atfork prepare handlers
 * (which may allocate) and after libio's list lock (whose holder may wait for a FILE lock whose
 * holder, in getline, waits for an arena).  A malloc outside libc can only act through
 * pthread_atfork, so it rebuilds that order from there:
 *  - its handlers are registered before the program's (from a constructor that runs before the
 *    program's own, or at the first malloc if that comes earlier); prepare handlers run in the
 *    reverse order of registration and the others in order, so ours lock last and unlock first,
 *    and the program's handlers never find the arenas locked.  Handlers registered earlier still
 *    (by a library initialised before a preloaded clone) run while the forking thread holds the
 *    arenas: they may allocate all the same, since that thread does not wait for or release the
 *    locks it holds for fork (fork_locks_held_here, internal.h);
 *  - its prepare handler takes libio's list lock before the arena locks.  That lock is
 *    recursive: fork() taking it again after the handlers only counts up, the parent handler
 *    gives back our count after fork() gave back its own, and in the child fork() has already
 *    reset it (with every FILE lock) before the child handlers run.
 * Locks glibc's fork() takes that are not ours to take (NSS's database lock, taken after the
 * handlers) still come after the arena locks here; docs/ names that order.
 */
#include <pthread.h>

#include "history.h"
#include "internal.h"

/* libio's lock over the list of open FILEs, exported by glibc (GLIBC_2.2.5) for this purpose. */
extern void _IO_list_lock(void);
extern void _IO_list_unlock(void);

/* Whether this fork's prepare handler took the locks: glibc's fork skips locking in a
   single-threaded process (nothing can race it there, and fork stays usable in a signal
   handler), and the parent and child handlers must undo exactly what was done. */
static bool fork_locks_taken;
__thread bool fork_locks_held_here;

static void lock_every_arena(void)
{
	mstate av = &main_arena;
	do {
		lock_acquire(&av->mutex);
		av = av->next;
	} while (av != &main_arena);
}

static PTM_COLD void fork_prepare(void)
{
	fork_locks_taken = !SINGLE_THREAD_P;
	if (!fork_locks_taken)
		return;
	_IO_list_lock();
	lock_acquire(&list_lock);
	lock_every_arena();
	fork_locks_held_here = true;
}

static PTM_COLD void fork_parent(void)
{
	if (!fork_locks_taken)
		return;
	fork_locks_held_here = false;
	mstate av = &main_arena;
	do {
		lock_release(&av->mutex);
		av = av->next;
	} while (av != &main_arena);
	lock_release(&list_lock);
	_IO_list_unlock();
}

/* Only this thread survives in the child: every arena but its own is unattached and free.  The
   list lock is not given back here: fork() has reset it already. */
static PTM_COLD void fork_child(void)
{
	history_forget_thread_id();
	if (!fork_locks_taken)
		return;
	fork_locks_held_here = false;
	lock_reinit(&free_list_lock);
	if (thread_arena != NULL)
		thread_arena->attached_threads = 1;
	free_list = NULL;
	mstate av = &main_arena;
	do {
		lock_reinit(&av->mutex);
		if (av != thread_arena) {
			av->attached_threads = 0;
			av->next_free = free_list;
			free_list = av;
		}
		av = av->next;
	} while (av != &main_arena);
	lock_reinit(&list_lock);
}

void register_fork_handlers(void)
{
	static bool registered;
	if (registered)
		return;
	registered = true;
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* The first priority open to programs: before the program's default constructors when the
   library is linked into it, and before the program's constructors anyway when it is loaded
   as a shared library.  A malloc that comes earlier registers from ptmalloc_init. */
__attribute__((constructor(101))) static void register_fork_handlers_early(void) { register_fork_handlers(); }
