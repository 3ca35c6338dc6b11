/*
 * Running one staged scenario in a fresh child process and capturing how it ended.
 *
 * Every heap scenario runs in its own exec'd process: a fresh heap makes addresses and bin contents
 * deterministic, and a corruption that aborts (or crashes) takes only the child down.  The child's
 * stderr comes back through a pipe because glibc writes its abort message there with one writev.
 */
#ifndef UNIT_CHILD_RUN_H
#define UNIT_CHILD_RUN_H

#include <stdbool.h>
#include <stddef.h>

#define CHILD_OUTPUT_MAX 16384

struct child_outcome {
	bool exited; /* normal exit (exit_code valid) rather than a signal */
	int exit_code;
	int signal_number;    /* valid when !exited */
	bool spawn_failed;    /* fork/pipe/exec machinery failed: output holds the reason */
	size_t output_length; /* bytes of stderr kept (at most CHILD_OUTPUT_MAX - 1) */
	bool output_truncated;
	char output[CHILD_OUTPUT_MAX];
};

/* Runs argv[0] with argv, with the allocator environment cleaned (no inherited LD_PRELOAD,
   MALLOC_* or GLIBC_TUNABLES) and, when preload is not NULL, LD_PRELOAD=preload.  Core dumps are
   disabled and a generous alarm turns a hang into a visible SIGALRM instead of a stuck build. */
void child_run(char *const argv[], const char *preload, struct child_outcome *outcome);

/* One line describing how the child ended, e.g. "killed by SIGABRT" or "exited with 1". */
const char *child_describe_end(const struct child_outcome *outcome, char *buffer, size_t size);

#endif
