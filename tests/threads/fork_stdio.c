/*
 * fork() racing stdio's locks (the scenario of glibc bug 19431): forking threads, threads reading
 * 50,000-byte lines with getline() (which reallocs while it holds its FILE's lock) and a thread
 * flushing every stream with fflush(NULL) (which holds libio's list lock while it waits for each
 * FILE's lock).  An allocator that takes its arena locks before fork() takes the list lock closes
 * a cycle: forker (arena locks) -> list lock -> flusher -> FILE lock -> reader -> arena lock.
 *
 * Every child allocates and frees in each size class the parent's threads use, then exits.  When
 * no fork completes for STALL_SECONDS the program reports a deadlock and exits 2.  The flusher and
 * the readers pause briefly between calls: back to back they hold their locks nearly all the time,
 * forks starve and the race is run a few dozen times instead of thousands (an allocator with the
 * wrong lock order still deadlocks within the first forks).
 *
 * usage: fork_stdio FORKS FORKERS READERS
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stall_watch.h"

#define LINE_LENGTH 50000
#define LINES_IN_FILE 4
#define FLUSH_PAUSE_MICROSECONDS 20
#define READ_PAUSE_MICROSECONDS 20

static volatile int stop_running;
static unsigned long forks_done, lines_read, flushes_done, children_failed;
static char long_lines_path[] = "/tmp/fork_stdio.XXXXXX";

/* Straight to the file descriptor: on a deadlock stdio's locks may be the ones held. */
static void report(int descriptor, const char *verdict)
{
	char line[200];
	int length =
	    snprintf(line, sizeof line, "%lu forks, %lu lines read, %lu flushes, %lu children failed: %s\n",
	             progress_of(&forks_done), progress_of(&lines_read), progress_of(&flushes_done),
	             progress_of(&children_failed), verdict);
	ssize_t ignored = write(descriptor, line, (size_t)length);
	(void)ignored;
}

static void write_long_lines(void)
{
	int descriptor = mkstemp(long_lines_path);
	FILE *file = descriptor < 0 ? NULL : fdopen(descriptor, "w");
	if (file == NULL) {
		perror("fork_stdio: temporary file");
		exit(1);
	}
	for (int line = 0; line < LINES_IN_FILE; line++) {
		for (int i = 0; i < LINE_LENGTH; i++)
			fputc('a' + (line + i) % 26, file);
		fputc('\n', file);
	}
	fclose(file);
}

/* A fresh buffer for every line, so getline grows it by realloc from its first size to 50,000
   bytes each time, always inside the FILE's lock. */
static void *read_lines(void *unused)
{
	(void)unused;
	FILE *file = fopen(long_lines_path, "r");
	if (file == NULL) {
		perror("fork_stdio: fopen");
		exit(1);
	}
	while (!stop_running) {
		char *line = NULL;
		size_t capacity = 0;
		ssize_t length = getline(&line, &capacity, file);
		free(line);
		if (length < 0)
			rewind(file);
		else if (length != LINE_LENGTH + 1)
			abort();
		else
			progress_add(&lines_read);
		usleep(READ_PAUSE_MICROSECONDS);
	}
	fclose(file);
	return NULL;
}

static void *flush_all(void *unused)
{
	(void)unused;
	while (!stop_running) {
		fflush(NULL);
		progress_add(&flushes_done);
		usleep(FLUSH_PAUSE_MICROSECONDS);
	}
	return NULL;
}

/* The child must find the allocator usable: every size class the parent's threads were using. */
static void child_work(void)
{
	for (size_t size = 16; size <= 2 * LINE_LENGTH; size *= 2) {
		char *block = malloc(size);
		if (block == NULL)
			_exit(3);
		memset(block, 0x5a, size);
		block = realloc(block, size * 3);
		if (block == NULL)
			_exit(3);
		free(block);
	}
	_exit(0);
}

static void *fork_repeatedly(void *unused)
{
	(void)unused;
	while (!stop_running)
		counted_fork(child_work, &forks_done, &children_failed);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fputs("usage: fork_stdio FORKS FORKERS READERS\n", stderr);
		return 1;
	}
	unsigned long forks = strtoul(argv[1], NULL, 10);
	int forkers = atoi(argv[2]), readers = atoi(argv[3]);
	write_long_lines();

	pthread_t threads[64];
	int started = 0;
	for (int i = 0; i < readers && started < 62; i++)
		pthread_create(&threads[started++], NULL, read_lines, NULL);
	pthread_create(&threads[started++], NULL, flush_all, NULL);
	for (int i = 0; i < forkers && started < 64; i++)
		pthread_create(&threads[started++], NULL, fork_repeatedly, NULL);

	bool progressed = watch_progress(&forks_done, forks);
	stop_running = 1;
	if (!progressed || !join_within_stall_limit(threads, started)) {
		unlink(long_lines_path);
		report(STDERR_FILENO, "DEADLOCK (no progress for " STALL_SECONDS_TEXT " s)");
		_exit(2);
	}
	unlink(long_lines_path);
	report(STDOUT_FILENO, progress_of(&children_failed) == 0 ? "ok" : "FAILED");
	return progress_of(&children_failed) == 0 ? 0 : 1;
}
