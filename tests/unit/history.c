/*
 * unit-history: the allocation history's ring (allocator/history.h), statically linked to
 * libptmalloc.a.  Each case runs in a forked child that turns history on for itself (the ring
 * is mapped once per process), makes calls it notes down itself, and checks the ring against
 * those notes: what it called, with which pointers and sizes, in which thread, in which order.
 *
 *   - wrap-around: more calls than slots; the ring holds exactly the last `capacity`, numbered
 *     without a gap, and says how many came before;
 *   - one event per public call: realloc's and memalign's inner malloc and free are not recorded;
 *   - threads: four threads at once; every slot whole, numbers unique and consecutive, and each
 *     thread's own events in the order it made them, with its thread id;
 *   - fork: the child's events carry the child's thread id.
 */
#include <CUnit/Basic.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "history.h"
#include "internal.h"
#include "unit_result.h"

/* The event of number `seq`, or NULL when its slot holds another. */
static const struct ptmalloc_history_event *event_numbered(uint64_t seq)
{
	const struct ptmalloc_history *ring = ptmalloc_history;
	const struct ptmalloc_history_event *slot = &ring->events[(seq - 1) % ring->capacity];
	return slot->seq == seq ? slot : NULL;
}

/* Runs `check` in a child with a ring of `capacity`; the child's exit status is its verdict
   (0, or the line of the first failed check, printed). */
static void in_child(size_t capacity, int (*check)(void))
{
	fflush(NULL);
	pid_t child = fork();
	if (child == 0) {
		history_enable(capacity);
		_exit(ptmalloc_history == NULL ? 1 : check());
	}
	int status = 0;
	CU_ASSERT_EQUAL_FATAL(waitpid(child, &status, 0), child);
	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

#define EXPECT(condition)                                                                                    \
	do {                                                                                                 \
		if (!(condition)) {                                                                          \
			fprintf(stderr, "history.c:%d: %s\n", __LINE__, #condition);                         \
			return __LINE__ % 250 + 2;                                                           \
		}                                                                                            \
	} while (0)

enum { WRAP_CAPACITY = 8, WRAP_PAIRS = 20 };

static int check_wrap_around(void)
{
	void *pointers[WRAP_PAIRS];
	uint64_t before = ptmalloc_history->recorded;
	for (int i = 0; i < WRAP_PAIRS; i++) {
		pointers[i] = malloc((size_t)(100 + i));
		free(pointers[i]);
	}
	uint64_t recorded = ptmalloc_history->recorded;
	EXPECT(ptmalloc_history->capacity == WRAP_CAPACITY);
	EXPECT(recorded == before + 2 * WRAP_PAIRS);
	for (uint64_t seq = recorded - WRAP_CAPACITY + 1; seq <= recorded; seq++) {
		const struct ptmalloc_history_event *event = event_numbered(seq);
		EXPECT(event != NULL);
		/* Calls before + 1 .. recorded were malloc, free, malloc, free, ... */
		uint64_t call = seq - before - 1;
		void *pointer = pointers[call / 2];
		if (call % 2 == 0) {
			EXPECT(event->op == PTMALLOC_HISTORY_MALLOC);
			EXPECT(event->size == 100 + call / 2);
		} else {
			EXPECT(event->op == PTMALLOC_HISTORY_FREE);
		}
		EXPECT(event->ptr == pointer);
		EXPECT(event->thread == gettid());
	}
	/* The slot before the ring's oldest holds a newer number: overwritten. */
	EXPECT(event_numbered(recorded - WRAP_CAPACITY) == NULL);
	return 0;
}

static void test_wrap_around(void) { in_child(WRAP_CAPACITY, check_wrap_around); }

static int check_one_event_per_call(void)
{
	uint64_t before = ptmalloc_history->recorded;
	void *grown = realloc(NULL, 40);      /* malloc inside */
	void *moved = realloc(grown, 100000); /* malloc and free inside */
	void *gone = realloc(moved, 0);       /* free inside */
	void *aligned = memalign(8, 24);      /* malloc inside */
	void *pointer = NULL;
	int refused = posix_memalign(&pointer, 3, 10);
	free(aligned);
	EXPECT(gone == NULL && refused != 0);
	EXPECT(ptmalloc_history->recorded == before + 5);
	const struct ptmalloc_history_event *event = event_numbered(before + 2);
	EXPECT(event->op == PTMALLOC_HISTORY_REALLOC && event->old_ptr == grown && event->ptr == moved);
	event = event_numbered(before + 3);
	EXPECT(event->op == PTMALLOC_HISTORY_REALLOC && event->old_ptr == moved && event->ptr == NULL);
	event = event_numbered(before + 4);
	EXPECT(event->op == PTMALLOC_HISTORY_MEMALIGN && event->alignment == 8 && event->ptr == aligned);
	event = event_numbered(before + 5);
	EXPECT(event->op == PTMALLOC_HISTORY_FREE && event->ptr == aligned);
	return 0;
}

static void test_one_event_per_call(void) { in_child(64, check_one_event_per_call); }

/* After fork the child's thread has a new id: its events must carry it, not its parent's. */
static int check_fork(void)
{
	free(malloc(10)); /* the parent's thread id is known from here on */
	pid_t parent = gettid();
	pid_t child = fork();
	if (child == 0) {
		void *pointer = malloc(20);
		const struct ptmalloc_history_event *event = event_numbered(ptmalloc_history->recorded);
		_exit(event != NULL && event->ptr == pointer && event->thread == gettid() &&
		              event->thread != parent
		          ? 0
		          : 1);
	}
	int status = 0;
	EXPECT(waitpid(child, &status, 0) == child);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;
}

static void test_fork(void) { in_child(64, check_fork); }

enum { THREADS = 4, THREAD_PAIRS = 2000, THREAD_CAPACITY = THREADS * THREAD_PAIRS * 2 + 1024 };

struct thread_calls {
	pid_t thread;
	void *pointers[THREAD_PAIRS];
};

static struct thread_calls thread_calls[THREADS];
static pthread_barrier_t start_together;

static void *make_calls(void *argument)
{
	struct thread_calls *mine = argument;
	size_t size = (size_t)(mine - thread_calls) * 16 + 24;
	mine->thread = gettid();
	pthread_barrier_wait(&start_together);
	for (int i = 0; i < THREAD_PAIRS; i++) {
		mine->pointers[i] = malloc(size);
		free(mine->pointers[i]);
	}
	return NULL;
}

static int check_threads(void)
{
	pthread_t threads[THREADS];
	pthread_barrier_init(&start_together, NULL, THREADS);
	for (int k = 0; k < THREADS; k++)
		pthread_create(&threads[k], NULL, make_calls, &thread_calls[k]);
	for (int k = 0; k < THREADS; k++)
		pthread_join(threads[k], NULL);
	uint64_t recorded = ptmalloc_history->recorded;
	EXPECT(recorded >= THREADS * THREAD_PAIRS * 2);
	/* Each thread's events, in the ring's order, are its own calls in its own order. */
	int next[THREADS] = {0};
	uint64_t first = recorded > THREAD_CAPACITY ? recorded - THREAD_CAPACITY + 1 : 1;
	for (uint64_t seq = first; seq <= recorded; seq++) {
		const struct ptmalloc_history_event *event = event_numbered(seq);
		EXPECT(event != NULL);
		int k = 0;
		while (k < THREADS && thread_calls[k].thread != event->thread)
			k++;
		if (k == THREADS)
			continue; /* the threads' creation and exit: libc's own calls */
		int call = next[k]++;
		if (call >= THREAD_PAIRS * 2)
			continue; /* libc freeing the thread's own memory as it exits */
		EXPECT(event->ptr == thread_calls[k].pointers[call / 2]);
		EXPECT(event->op == (call % 2 == 0 ? PTMALLOC_HISTORY_MALLOC : PTMALLOC_HISTORY_FREE));
		EXPECT(call % 2 == 1 || event->size == (size_t)k * 16 + 24);
	}
	for (int k = 0; k < THREADS; k++)
		EXPECT(next[k] >= THREAD_PAIRS * 2);
	return 0;
}

static void test_threads(void) { in_child(THREAD_CAPACITY, check_threads); }

int main(void)
{
	static CU_TestInfo tests[] = {
	    {"wrap-around keeps the last calls", test_wrap_around},
	    {"one event per public call", test_one_event_per_call},
	    {"threads recording at once", test_threads},
	    {"a forked child records its own thread id", test_fork},
	    CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
	    {"allocation history", NULL, NULL, NULL, NULL, tests},
	    CU_SUITE_INFO_NULL,
	};
	if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(suites) != CUE_SUCCESS)
		return unit_registry_error();
	return unit_run_registry();
}
