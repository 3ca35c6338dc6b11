/*
 * Launcher that measures one command: wall time, CPU time and peak RSS of the command alone.
 * It exists because Linux carries ru_maxrss across exec: a child forked straight from the Python
 * driver would report the driver's own RSS (~16 MB) as its floor.  This launcher is tiny, so its
 * pre-exec footprint stays below anything worth measuring.
 *
 * Usage: run_measured [--preload LIB] [--cpu N] [--smaps FILE] REPORT_FILE COMMAND [ARG...]
 * Writes "wall_seconds cpu_seconds peak_rss_kb exit_status" to REPORT_FILE and exits with the
 * command's status (128+signal when it was killed).
 *   --preload LIB  set LD_PRELOAD=LIB for the command only, so the launcher itself never loads
 *                the library (its own pages would otherwise be part of the command's RSS floor)
 *   --cpu N      pin the command to CPU N (both sides of a comparison then share one core)
 *   --smaps FILE copy the command's /proc/PID/smaps to FILE at the moment it exits, with every
 *                mapping still in place: the command is traced (PTRACE_O_TRACEEXIT) and stopped
 *                on its way out; FILE.pages gets each mapping's present pages (see
 *                write_present_pages).  Only for looking at where the memory goes, not for timing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(const struct timespec *t) { return (double)t->tv_sec + (double)t->tv_nsec / 1e9; }

static double timeval_seconds(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec / 1e6;
}

static void copy_file(const char *source, const char *destination)
{
	int from = open(source, O_RDONLY);
	int to = open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (from < 0 || to < 0) {
		perror("run_measured: smaps");
	} else {
		char buffer[65536];
		ssize_t got;
		while ((got = read(from, buffer, sizeof(buffer))) > 0)
			if (write(to, buffer, (size_t)got) != got) {
				perror("run_measured: smaps write");
				break;
			}
	}
	if (from >= 0)
		close(from);
	if (to >= 0)
		close(to);
}

/* One line per mapping of /proc/PID/maps, followed by one character per page: '1' when the page
   is present (pagemap's bit 63, readable without privileges), '0' when not.  This says exactly
   which pages of which file a process touched, which smaps' totals do not. */
static void write_present_pages(pid_t pid, const char *destination)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	int pagemap = open(path, O_RDONLY);
	FILE *out = fopen(destination, "w");
	if (!maps || pagemap < 0 || !out) {
		perror("run_measured: pagemap");
	} else {
		char line[4096];
		long page = sysconf(_SC_PAGESIZE);
		while (fgets(line, sizeof(line), maps)) {
			unsigned long start, end;
			if (sscanf(line, "%lx-%lx", &start, &end) != 2)
				continue;
			fputs(line, out);
			for (unsigned long address = start; address < end; address += (unsigned long)page) {
				uint64_t entry = 0;
				off_t at = (off_t)(address / (unsigned long)page) * 8;
				if (pread(pagemap, &entry, sizeof(entry), at) != sizeof(entry))
					entry = 0;
				fputc(entry >> 63 ? '1' : '0', out);
			}
			fputc('\n', out);
		}
	}
	if (maps)
		fclose(maps);
	if (pagemap >= 0)
		close(pagemap);
	if (out)
		fclose(out);
}

static void copy_smaps(pid_t pid, const char *destination)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	copy_file(path, destination);
	size_t length = strlen(destination);
	char *pages = malloc(length + sizeof(".pages"));
	if (pages) {
		memcpy(pages, destination, length);
		memcpy(pages + length, ".pages", sizeof(".pages"));
		write_present_pages(pid, pages);
		free(pages);
	}
}

/* Follows the traced command to its end, copying smaps at its exit stop; returns wait4's status. */
static int wait_traced(pid_t child, const char *smaps_path, struct rusage *usage)
{
	int status = 0;
	int started = 0;
	for (;;) {
		if (wait4(child, &status, 0, usage) < 0)
			return -1;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return status;
		if (!WIFSTOPPED(status))
			continue;
		int deliver = 0;
		if (!started && WSTOPSIG(status) == SIGTRAP) {
			/* The stop after exec: from here on, stop once more on the way out. */
			started = 1;
			ptrace(PTRACE_SETOPTIONS, child, 0,
			       (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
		} else if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			copy_smaps(child, smaps_path);
		} else if (status >> 8 != (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
			deliver = WSTOPSIG(status);
		}
		ptrace(PTRACE_CONT, child, 0, (void *)(long)deliver);
	}
}

int main(int argc, char **argv)
{
	const char *smaps_path = NULL;
	const char *preload = NULL;
	int cpu = -1;
	int first = 1;
	while (first + 1 < argc && strncmp(argv[first], "--", 2) == 0) {
		if (strcmp(argv[first], "--smaps") == 0)
			smaps_path = argv[first + 1];
		else if (strcmp(argv[first], "--preload") == 0)
			preload = argv[first + 1];
		else if (strcmp(argv[first], "--cpu") == 0)
			cpu = atoi(argv[first + 1]);
		else
			break;
		first += 2;
	}
	if (argc - first < 2) {
		fprintf(stderr,
		        "usage: %s [--preload LIB] [--cpu N] [--smaps FILE] REPORT_FILE COMMAND [ARG...]\n",
		        argv[0]);
		return 2;
	}
	const char *report_path = argv[first];
	char **command = argv + first + 1;
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid_t child = fork();
	if (child < 0) {
		perror("run_measured: fork");
		return 2;
	}
	if (child == 0) {
		if (cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set) != 0)
				perror("run_measured: sched_setaffinity");
		}
		if (preload && setenv("LD_PRELOAD", preload, 1) != 0)
			perror("run_measured: setenv");
		if (smaps_path && ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
			perror("run_measured: ptrace");
		execvp(command[0], command);
		perror("run_measured: exec");
		_exit(127);
	}
	int status = 0;
	struct rusage usage;
	if (smaps_path) {
		status = wait_traced(child, smaps_path, &usage);
	} else if (wait4(child, &status, 0, &usage) < 0) {
		status = -1;
	}
	if (status == -1) {
		perror("run_measured: wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	FILE *report = fopen(report_path, "w");
	if (!report) {
		perror("run_measured: report file");
		return 2;
	}
	fprintf(report, "%.6f %.6f %ld %d\n", seconds(&end) - seconds(&start),
	        timeval_seconds(&usage.ru_utime) + timeval_seconds(&usage.ru_stime), usage.ru_maxrss, code);
	fclose(report);
	return code;
}
