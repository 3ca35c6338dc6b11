/*
 * fork() while other threads churn the heap: the allocator must lock every arena around the fork
 * so that no child inherits a lock held by a thread that does not exist in it.  Each child
 * allocates, verifies and frees (every few children also start a thread of their own) and
 * exits; a child that deadlocks is killed by its alarm and counted as a failure, so a hang
 * never stalls the test.
 *
 * usage: fork_churn CHURN_THREADS FORKS
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pattern.h"

#define CHILD_ALARM_SECONDS 20
#define CHURN_SLOTS 64

static volatile int stop_churning;

static size_t churn_size(uint64_t r)
{
	return r % 32 == 0 ? 150000 + (r >> 8) % 100000 : 1 + (r >> 8) % 3000;
}

static void *churn(void *seed_pointer)
{
	uint64_t random = (uint64_t)(uintptr_t)seed_pointer * 0x9e3779b97f4a7c15ULL + 7;
	unsigned char *blocks[CHURN_SLOTS] = {0};
	size_t sizes[CHURN_SLOTS] = {0};
	uint64_t serials[CHURN_SLOTS] = {0};
	uint64_t serial = (uint64_t)(uintptr_t)seed_pointer << 40;
	while (!__atomic_load_n(&stop_churning, __ATOMIC_RELAXED)) {
		uint64_t r = next_random(&random);
		int slot = (int)(r % CHURN_SLOTS);
		if (blocks[slot] != NULL) {
			if (pattern_check(blocks[slot], sizes[slot], serials[slot]) != sizes[slot]) {
				fputs("fork_churn: a churned block was corrupted\n", stderr);
				abort();
			}
			free(blocks[slot]);
			blocks[slot] = NULL;
		} else {
			sizes[slot] = churn_size(r >> 6);
			serials[slot] = ++serial;
			blocks[slot] = malloc(sizes[slot]);
			if (blocks[slot] == NULL)
				abort();
			pattern_fill(blocks[slot], sizes[slot], serials[slot]);
		}
	}
	for (int i = 0; i < CHURN_SLOTS; i++)
		free(blocks[i]);
	return NULL;
}

static void *child_thread(void *unused)
{
	(void)unused;
	for (int i = 0; i < 100; i++)
		free(malloc(64 + (size_t)i * 10));
	return malloc(1);
}

/* Runs in the child: the allocator must work for it, in every arena, including a new thread. */
static int child_work(int number)
{
	alarm(CHILD_ALARM_SECONDS);
	uint64_t random = (uint64_t)number * 0x2545f4914f6cdd1dULL + 3;
	unsigned char *blocks[32];
	size_t sizes[32];
	for (int i = 0; i < 32; i++) {
		sizes[i] = churn_size(next_random(&random));
		blocks[i] = malloc(sizes[i]);
		if (blocks[i] == NULL)
			return 3;
		pattern_fill(blocks[i], sizes[i], (uint64_t)number * 100 + (uint64_t)i);
	}
	for (int i = 0; i < 32; i++) {
		if (pattern_check(blocks[i], sizes[i], (uint64_t)number * 100 + (uint64_t)i) != sizes[i])
			return 4;
		free(blocks[i]);
	}
	if (number % 10 == 0) {
		pthread_t id;
		void *result = NULL;
		if (pthread_create(&id, NULL, child_thread, NULL) != 0 || pthread_join(id, &result) != 0 ||
		    result == NULL)
			return 5;
		free(result);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CHURN_THREADS FORKS\n", argv[0]);
		return 2;
	}
	int threads = atoi(argv[1]);
	int forks = atoi(argv[2]);
	if (threads < 1 || threads > 64 || forks < 1) {
		fputs("fork_churn: bad arguments\n", stderr);
		return 2;
	}
	pthread_t ids[64];
	for (int t = 0; t < threads; t++)
		pthread_create(&ids[t], NULL, churn, (void *)(uintptr_t)(t + 1));

	int failures = 0, hung = 0;
	for (int number = 0; number < forks; number++) {
		pid_t child = fork();
		if (child < 0) {
			perror("fork");
			return 1;
		}
		if (child == 0)
			_exit(child_work(number));
		int status;
		if (waitpid(child, &status, 0) != child) {
			perror("waitpid");
			return 1;
		}
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
			/* One deadlock is proof enough; waiting out more alarms would only slow the verdict.
			 */
			hung++;
			break;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failures++;
	}
	__atomic_store_n(&stop_churning, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < threads; t++)
		pthread_join(ids[t], NULL);
	printf("fork_churn: %d forks with %d churning threads: %d deadlocked, %d failed\n", forks, threads,
	       hung, failures);
	return hung == 0 && failures == 0 ? 0 : 1;
}
