/* fork() while other threads are inside the allocator.  The child inherits every arena in whatever
 * state the fork caught it: its locks must have been taken and reset around the fork, so the child
 * can allocate from every arena (including the one of a thread that no longer exists in it) and
 * its blocks stay intact.  A child that deadlocks is killed by its own alarm, which fails the run.
 *
 * Usage: fork_threads [threads=4] [forks per thread=40]
 * Exit 0 with a summary line when every child exited 0. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "malloc_provider.h"
#include "xorshift.h"

#define HELD_BLOCKS 64
#define CHILD_SECONDS 20

static atomic_int stop_churn;
static atomic_int failures;
static atomic_ulong children_ok;

struct churn {
	uint64_t random;
	unsigned char *held[HELD_BLOCKS];
	size_t length[HELD_BLOCKS];
};

static int block_intact(const unsigned char *block, size_t length)
{
	for (size_t i = 0; i < length; i++)
		if (block[i] != (unsigned char)(length & 0xff))
			return 0;
	return 1;
}

static void churn_step(struct churn *state)
{
	unsigned slot = (unsigned)(next_random(&state->random) % HELD_BLOCKS);
	if (state->held[slot] != NULL) {
		if (!block_intact(state->held[slot], state->length[slot]))
			atomic_fetch_add(&failures, 1);
		free(state->held[slot]);
		state->held[slot] = NULL;
		return;
	}
	size_t length = 1 + next_random(&state->random) % 2000;
	if (next_random(&state->random) % 64 == 0)
		length += 200000; /* now and then an mmapped block */
	state->held[slot] = malloc(length);
	state->length[slot] = length;
	if (state->held[slot] != NULL)
		memset(state->held[slot], (int)(length & 0xff), length);
}

/* The child: everything the parent's thread held must be intact, and a burst of allocations,
 * frees and a new thread must work. */
static void *child_thread(void *argument)
{
	struct churn *state = argument;
	for (int i = 0; i < 2000; i++)
		churn_step(state);
	return NULL;
}

static void run_child(struct churn *inherited)
{
	alarm(CHILD_SECONDS);
	for (unsigned i = 0; i < HELD_BLOCKS; i++)
		if (inherited->held[i] != NULL && !block_intact(inherited->held[i], inherited->length[i]))
			_exit(3);
	for (int i = 0; i < 2000; i++)
		churn_step(inherited);
	struct churn other = {.random = inherited->random ^ 0x5555};
	pthread_t thread;
	if (pthread_create(&thread, NULL, child_thread, &other) != 0)
		_exit(4);
	pthread_join(thread, NULL);
	struct mallinfo2 info = mallinfo2();
	if (info.arena != info.uordblks + info.fordblks)
		_exit(5);
	_exit(atomic_load(&failures) ? 6 : 0);
}

static void *forker(void *argument)
{
	unsigned forks = (unsigned)(uintptr_t)argument;
	struct churn state = {.random = 0x1234567ull + (uintptr_t)&state};
	for (unsigned n = 0; n < forks; n++) {
		for (int i = 0; i < 200; i++)
			churn_step(&state);
		pid_t child = fork();
		if (child < 0) {
			atomic_fetch_add(&failures, 1);
			break;
		}
		if (child == 0)
			run_child(&state);
		int status = 0;
		waitpid(child, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			atomic_fetch_add(&children_ok, 1);
		} else {
			atomic_fetch_add(&failures, 1);
			printf("fork_threads: child %s %d\n",
			       WIFEXITED(status) ? "exited" : "killed by signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			fflush(stdout);
		}
	}
	for (unsigned i = 0; i < HELD_BLOCKS; i++)
		free(state.held[i]);
	return NULL;
}

/* Keeps the allocator busy (and its locks taken) while the others fork. */
static void *churner(void *argument)
{
	struct churn state = {.random = 0xabcdefull + (uintptr_t)argument};
	while (!atomic_load(&stop_churn))
		churn_step(&state);
	for (unsigned i = 0; i < HELD_BLOCKS; i++)
		free(state.held[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	report_malloc_provider();
	unsigned threads = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 4;
	unsigned forks = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 40;
	if (threads == 0 || threads > 32) {
		fprintf(stderr, "fork_threads: threads must be 1..32\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t churners[2], forkers[32];
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&churners[i], NULL, churner, (void *)i);
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&forkers[i], NULL, forker, (void *)(uintptr_t)forks);
	/* The main thread forks too: its arena is main_arena, the others' are thread arenas. */
	forker((void *)(uintptr_t)forks);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(forkers[i], NULL);
	atomic_store(&stop_churn, 1);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(churners[i], NULL);
	unsigned long expected = (unsigned long)(threads + 1) * forks;
	printf("fork_threads: %lu of %lu children ok: %s\n", atomic_load(&children_ok), expected,
	       atomic_load(&failures) == 0 && atomic_load(&children_ok) == expected ? "ok" : "FAILED");
	return atomic_load(&failures) == 0 && atomic_load(&children_ok) == expected ? 0 : 1;
}
