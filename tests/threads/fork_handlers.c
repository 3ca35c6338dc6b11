/*
 * fork() with atfork handlers that allocate, while other threads churn the heap.  glibc runs every
 * prepare handler before it locks its arenas and unlocks them before the parent and child
 * handlers, so a handler may call malloc and free; an allocator outside libc must keep that true
 * through its own handlers' place in the list.  Handlers are registered four ways: from the
 * constructor of a library the program links (libearly_handlers.so, initialised before a
 * preloaded clone), from a program constructor, in main before the first malloc, and once
 * threads run.  The first forks
 * come while the program is still single-threaded (no locks are taken then), the rest while
 * threads churn.  Every handler must have run once per fork, and every child must be able to
 * allocate.  When no fork completes for STALL_SECONDS the program reports a deadlock and exits 2.
 *
 * usage: fork_handlers FORKS FORKERS CHURNERS
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allocating_handlers.h"
#include "stall_watch.h"

#define SINGLE_THREADED_FORKS 20
#define CHURN_SLOTS 64

static volatile int stop_running;
static unsigned long forks_done, children_failed, churn_steps;

/* From libearly_handlers.so's constructor, the program's, main before the first malloc, and main
   once threads run. */
extern struct handler_counts early_library_handlers;
static struct handler_counts constructor_handlers, main_handlers, late_handlers;
ALLOCATING_HANDLERS(from_constructor, constructor_handlers)
ALLOCATING_HANDLERS(from_main, main_handlers)
ALLOCATING_HANDLERS(late, late_handlers)

__attribute__((constructor)) static void register_from_constructor(void)
{
	pthread_atfork(from_constructor_prepare, from_constructor_parent, from_constructor_child);
}

/* The child checks its own handlers ran, then allocates from the arenas the threads left. */
static void child_work(void)
{
	if (early_library_handlers.children != 1 || constructor_handlers.children != 1 ||
	    main_handlers.children != 1 || late_handlers.children > 1)
		_exit(4);
	for (size_t size = 16; size <= 400000; size *= 3) {
		char *block = malloc(size);
		if (block == NULL)
			_exit(3);
		memset(block, 0x3c, size);
		free(block);
	}
	_exit(0);
}

static void fork_once(void) { counted_fork(child_work, &forks_done, &children_failed); }

static void *fork_repeatedly(void *unused)
{
	(void)unused;
	while (!stop_running)
		fork_once();
	return NULL;
}

static void *churn(void *seed)
{
	unsigned long random = (unsigned long)(uintptr_t)seed * 0x9e3779b97f4a7c15UL + 1;
	char *blocks[CHURN_SLOTS] = {0};
	while (!stop_running) {
		random ^= random << 13, random ^= random >> 7, random ^= random << 17;
		int slot = (int)(random % CHURN_SLOTS);
		free(blocks[slot]);
		blocks[slot] = malloc(random % 16 == 0 ? 200000 : 16 + (random >> 8) % 4000);
		progress_add(&churn_steps);
	}
	for (int i = 0; i < CHURN_SLOTS; i++)
		free(blocks[i]);
	return NULL;
}

static void report(int descriptor, const char *verdict)
{
	const struct handler_counts *sets[] = {&early_library_handlers, &constructor_handlers, &main_handlers,
	                                       &late_handlers};
	char line[400];
	int length = snprintf(line, sizeof line, "%lu forks, %lu churn steps, handlers run (prepare/parent):",
	                      progress_of(&forks_done), progress_of(&churn_steps));
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
		length += snprintf(line + length, sizeof line - (size_t)length, " %lu/%lu",
		                   progress_of((unsigned long *)&sets[i]->prepares),
		                   progress_of((unsigned long *)&sets[i]->parents));
	length += snprintf(line + length, sizeof line - (size_t)length, ", %lu children failed: %s\n",
	                   progress_of(&children_failed), verdict);
	ssize_t ignored = write(descriptor, line, (size_t)length);
	(void)ignored;
}

static bool ran_for(const struct handler_counts *counts, unsigned long forks)
{
	return counts->prepares == forks && counts->parents == forks;
}

static bool handlers_ran_for_every_fork(unsigned long late_forks)
{
	unsigned long forks = progress_of(&forks_done);
	return ran_for(&early_library_handlers, forks) && ran_for(&constructor_handlers, forks) &&
	       ran_for(&main_handlers, forks) && ran_for(&late_handlers, late_forks);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fputs("usage: fork_handlers FORKS FORKERS CHURNERS\n", stderr);
		return 1;
	}
	/* Before the program's first malloc. */
	pthread_atfork(from_main_prepare, from_main_parent, from_main_child);
	unsigned long forks = strtoul(argv[1], NULL, 10);
	int forkers = atoi(argv[2]), churners = atoi(argv[3]);

	for (int i = 0; i < SINGLE_THREADED_FORKS; i++)
		fork_once();

	pthread_t threads[64];
	int started = 0;
	for (int i = 0; i < churners && started < 32; i++)
		pthread_create(&threads[started++], NULL, churn, (void *)(uintptr_t)(i + 1));
	pthread_atfork(late_prepare, late_parent, late_child);
	unsigned long forks_before_late_handlers = progress_of(&forks_done);
	for (int i = 0; i < forkers && started < 64; i++)
		pthread_create(&threads[started++], NULL, fork_repeatedly, NULL);

	bool progressed = watch_progress(&forks_done, forks);
	stop_running = 1;
	if (!progressed || !join_within_stall_limit(threads, started)) {
		report(STDERR_FILENO, "DEADLOCK (no progress for " STALL_SECONDS_TEXT " s)");
		_exit(2);
	}
	bool ok = progress_of(&children_failed) == 0 &&
	          handlers_ran_for_every_fork(progress_of(&forks_done) - forks_before_late_handlers);
	report(STDOUT_FILENO, ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
