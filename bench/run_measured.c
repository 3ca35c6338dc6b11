/*
 * Launcher that measures one command: wall time, CPU time and peak RSS of the command alone.
 * It exists because Linux carries ru_maxrss across exec: a child forked straight from the Python
 * driver would report the driver's own RSS (~16 MB) as its floor.  This launcher is tiny, so its
 * pre-exec footprint stays below anything worth measuring.
 *
 * Usage: run_measured REPORT_FILE COMMAND [ARG...]
 * Writes "wall_seconds cpu_seconds peak_rss_kb exit_status" to REPORT_FILE and exits with the
 * command's status (128+signal when it was killed).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static double timeval_seconds(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s REPORT_FILE COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid_t child = fork();
	if (child < 0) {
		perror("run_measured: fork");
		return 2;
	}
	if (child == 0) {
		execvp(argv[2], argv + 2);
		perror("run_measured: exec");
		_exit(127);
	}
	int status = 0;
	struct rusage usage;
	if (wait4(child, &status, 0, &usage) < 0) {
		perror("run_measured: wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	FILE *report = fopen(argv[1], "w");
	if (!report) {
		perror("run_measured: report file");
		return 2;
	}
	fprintf(report, "%.6f %.6f %ld %d\n", seconds(&end) - seconds(&start),
		timeval_seconds(&usage.ru_utime) + timeval_seconds(&usage.ru_stime), usage.ru_maxrss,
		code);
	fclose(report);
	return code;
}
