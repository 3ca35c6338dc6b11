/*
 * Allocation history, an extension of ours that glibc does not have: with PTMALLOC_HISTORY=N (or
 * the tunable glibc.malloc.history=N) a ring of the last N calls to the public entry points, for
 * the debugger to read from a live process or a core ("who freed this chunk?").
 *
 * The ring is mapped outside the heap (history.c says where), so every heap address stays what
 * glibc would give.  The debugger finds it through the global ptmalloc_history and reads every
 * field through these types' DWARF, so they are the interface: rename nothing, add at the end.
 *
 * Off (the default), each entry point pays one test of ptmalloc_history, predicted not taken.
 * On, each public call is recorded once, by the entry point the program called: calls the
 * allocator makes to itself (realloc's malloc and free, memalign's malloc, a hook's malloc) are
 * not recorded again.  The prediction engine, which runs the allocator's code for the debugger,
 * never records: history is compiled out there.
 */
#ifndef PTMALLOC_HISTORY_H
#define PTMALLOC_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which entry point the program called.  Zero is no call: a slot never written. */
enum ptmalloc_history_op {
	PTMALLOC_HISTORY_MALLOC = 1,
	PTMALLOC_HISTORY_FREE,
	PTMALLOC_HISTORY_CALLOC,
	PTMALLOC_HISTORY_REALLOC,
	PTMALLOC_HISTORY_MEMALIGN,
	PTMALLOC_HISTORY_POSIX_MEMALIGN,
	PTMALLOC_HISTORY_ALIGNED_ALLOC,
	PTMALLOC_HISTORY_VALLOC,
	PTMALLOC_HISTORY_PVALLOC,
};

/* One call.  `seq` is written last, with release ordering, and is 0 while the other fields are
   being written: a reader that finds the sequence number the slot's place in the ring expects
   has a whole event, and anything else is a slot in progress (or one a faster writer took). */
struct ptmalloc_history_event {
	uint64_t seq;                /* 1 for the first call recorded, then one more per call */
	enum ptmalloc_history_op op; /* the entry point called */
	int32_t thread;              /* the calling thread's id (gettid), as gdb's LWP */
	void *ptr;                   /* what the program saw: the result, or free's argument */
	void *old_ptr;               /* realloc's argument (NULL for the other calls) */
	size_t size;                 /* bytes asked for (calloc: count times element size) */
	size_t alignment;            /* the memalign family's alignment (0 for the other calls) */
	const void *caller;          /* return address into the program's call */
};

/* The ring: event number `seq` lives in events[(seq - 1) % capacity]. */
struct ptmalloc_history {
	uint64_t capacity; /* slots in events[] */
	uint64_t recorded; /* sequence numbers handed out so far: events older than the last
	                      `capacity` of them have been overwritten */
	struct ptmalloc_history_event events[];
};

#if PTM_PREDICT_ENGINE
/* Never on: the recording paths compile, and the compiler drops them. */
static inline bool history_is_on(void) { return false; }
static inline void history_enable(size_t capacity) { (void)capacity; }
static inline void history_forget_thread_id(void) {}
static inline bool history_enter(void) { return false; }
static inline void history_leave(void) {}
static inline bool history_inside_call(void) { return false; }
static inline uint64_t history_claim(void) { return 0; }
static inline void history_write(uint64_t seq, enum ptmalloc_history_op op, void *ptr, void *old_ptr,
                                 size_t size, size_t alignment, const void *caller)
{
	(void)seq, (void)op, (void)ptr, (void)old_ptr, (void)size, (void)alignment, (void)caller;
}
#else
/* NULL while history is off: the one word every entry point tests. */
extern struct ptmalloc_history *ptmalloc_history;

static inline bool history_is_on(void) { return __builtin_expect(ptmalloc_history != NULL, 0); }

/* Maps a ring of `capacity` events (0: stay off); at initialisation, from the tunable. */
void history_enable(size_t capacity);
/* In a forked child: the thread id cached for this thread is its parent's. */
void history_forget_thread_id(void);

/* Whether this thread is inside a recorded call (history.c). */
extern __thread bool history_in_call;

/* Marks this thread as inside a recorded call; false when it already was (an inner call, which
   is not recorded).  history_leave ends the outermost call. */
static inline bool history_enter(void)
{
	if (history_in_call)
		return false;
	history_in_call = true;
	return true;
}
static inline void history_leave(void) { history_in_call = false; }
static inline bool history_inside_call(void) { return history_in_call; }

/* The next sequence number, its slot marked in progress.  An allocating call takes it after the
   allocation (a chunk is handed out before its new owner's number is taken); free takes it before
   the chunk is released (before another thread can be handed it), and so does realloc for the
   chunk it may give up. */
uint64_t history_claim(void);
/* Fills the slot of `seq` and publishes it. */
void history_write(uint64_t seq, enum ptmalloc_history_op op, void *ptr, void *old_ptr, size_t size,
                   size_t alignment, const void *caller);
#endif

#endif
