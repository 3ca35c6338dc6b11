/*
 * fork + exec with stderr captured through a pipe; see child_run.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "child_run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A hang is a bug to report, not something to wait for forever; far above any real run time. */
#define CHILD_HANG_GUARD_SECONDS 60

static bool variable_affects_allocator(const char *entry)
{
	return strncmp(entry, "LD_PRELOAD=", 11) == 0 || strncmp(entry, "MALLOC_", 7) == 0 ||
	       strncmp(entry, "GLIBC_TUNABLES=", 15) == 0;
}

/* Built before fork so that the child calls nothing but async-signal-safe functions. */
static char **build_child_environment(const char *preload, char **preload_entry)
{
	size_t count = 0;
	while (environ[count])
		count++;
	char **environment = calloc(count + 2, sizeof *environment);
	if (!environment)
		return NULL;
	size_t kept = 0;
	for (size_t i = 0; i < count; i++)
		if (!variable_affects_allocator(environ[i]))
			environment[kept++] = environ[i];
	*preload_entry = NULL;
	if (preload) {
		if (asprintf(preload_entry, "LD_PRELOAD=%s", preload) < 0) {
			free(environment);
			return NULL;
		}
		environment[kept++] = *preload_entry;
	}
	environment[kept] = NULL;
	return environment;
}

static void fail_spawn(struct child_outcome *outcome, const char *what)
{
	outcome->spawn_failed = true;
	outcome->output_length =
	    (size_t)snprintf(outcome->output, sizeof outcome->output, "%s: %s", what, strerror(errno));
}

static void read_all(int fd, struct child_outcome *outcome)
{
	char discard[4096];
	for (;;) {
		size_t room = sizeof outcome->output - 1 - outcome->output_length;
		char *into = room ? outcome->output + outcome->output_length : discard;
		ssize_t got = read(fd, into, room ? room : sizeof discard);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (room)
			outcome->output_length += (size_t)got;
		else
			outcome->output_truncated = true;
	}
	outcome->output[outcome->output_length] = '\0';
}

void child_run(char *const argv[], const char *preload, struct child_outcome *outcome)
{
	memset(outcome, 0, sizeof *outcome);
	char *preload_entry;
	char **environment = build_child_environment(preload, &preload_entry);
	if (!environment) {
		fail_spawn(outcome, "building the environment");
		return;
	}
	int pipe_fds[2];
	if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
		fail_spawn(outcome, "pipe");
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fail_spawn(outcome, "fork");
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		goto out;
	}
	if (pid == 0) {
		int null_fd = open("/dev/null", O_RDWR);
		if (null_fd >= 0) {
			dup2(null_fd, STDIN_FILENO);
			dup2(null_fd, STDOUT_FILENO);
		}
		dup2(pipe_fds[1], STDERR_FILENO);
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGABRT, SIG_DFL);
		alarm(CHILD_HANG_GUARD_SECONDS); /* survives execve */
		execve(argv[0], argv, environment);
		static const char message[] = "execve failed\n";
		(void)!write(STDERR_FILENO, message, sizeof message - 1);
		_exit(127);
	}
	close(pipe_fds[1]);
	read_all(pipe_fds[0], outcome);
	close(pipe_fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fail_spawn(outcome, "waitpid");
			goto out;
		}
	}
	outcome->exited = WIFEXITED(status);
	outcome->exit_code = outcome->exited ? WEXITSTATUS(status) : -1;
	outcome->signal_number = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
out:
	free(preload_entry);
	free(environment);
}

const char *child_describe_end(const struct child_outcome *outcome, char *buffer, size_t size)
{
	if (outcome->spawn_failed)
		snprintf(buffer, size, "could not run the child (%s)", outcome->output);
	else if (outcome->exited)
		snprintf(buffer, size, "exited with %d", outcome->exit_code);
	else
		snprintf(buffer, size, "killed by SIG%s",
		         sigabbrev_np(outcome->signal_number) ? sigabbrev_np(outcome->signal_number) : "?");
	return buffer;
}
