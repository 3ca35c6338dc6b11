/*
 * Deadlock detection for the fork tests: the main thread watches a progress counter while the
 * other threads run, and gives up on them when it stops moving, so a hang fails the test with a
 * report instead of stalling it until an outer timeout kills it without one; and the counted
 * fork both tests make.
 */
#ifndef THREAD_TEST_STALL_WATCH_H
#define THREAD_TEST_STALL_WATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STALL_SECONDS 5
/* The same number in the reports' text. */
#define STALL_TEXT_OF(seconds) #seconds
#define STALL_SECONDS_TEXT_OF(seconds) STALL_TEXT_OF(seconds)
#define STALL_SECONDS_TEXT STALL_SECONDS_TEXT_OF(STALL_SECONDS)

static inline unsigned long progress_of(unsigned long *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static inline void progress_add(unsigned long *counter) { __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED); }

/* Waits until `counter` reaches `target`; false as soon as it has not moved for STALL_SECONDS. */
static inline bool watch_progress(unsigned long *counter, unsigned long target)
{
	const struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
	unsigned long last = progress_of(counter);
	unsigned still_ticks = 0;
	while (last < target) {
		nanosleep(&tick, NULL);
		unsigned long now = progress_of(counter);
		still_ticks = now == last ? still_ticks + 1 : 0;
		last = now;
		if (still_ticks >= STALL_SECONDS * 100)
			return false;
	}
	return true;
}

/* Joins every thread; false when one is still running STALL_SECONDS from now. */
static inline bool join_within_stall_limit(const pthread_t *threads, int count)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STALL_SECONDS;
	for (int i = 0; i < count; i++)
		if (pthread_timedjoin_np(threads[i], NULL, &deadline) != 0)
			return false;
	return true;
}

/* One fork whose child runs child_work (which exits): counted in *forks, and in *failed when the
   child did not exit with 0 (an alarm, a crash, a failed check). */
static inline void counted_fork(void (*child_work)(void), unsigned long *forks, unsigned long *failed)
{
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		exit(1);
	}
	if (child == 0)
		child_work();
	int status;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		progress_add(failed);
	progress_add(forks);
}

#endif
