/*
 * The record a known sample leaves for the gdb tests (tests/gdb/conftest.py reads it): the main
 * thread's LWP, each thread's LWP, every pointer the sample holds or freed with the state its
 * chunk must be in and the LWP that noted it, and mallinfo2's totals.
 *
 * Written with open/snprintf/write: stdio's FILE and buffer would call malloc and disturb the
 * very bins being recorded.  A sample may define MAX_RECORDS before including this header.
 */
#ifndef SAMPLES_KNOWN_RECORD_H
#define SAMPLES_KNOWN_RECORD_H

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef MAX_RECORDS
#define MAX_RECORDS 256
#endif

#if !__GLIBC_PREREQ(2, 33)
/* Built against glibc 2.31 (tests/versions/): mallinfo2 came in 2.33; mallinfo's int fields
   hold these small heaps' totals as well. */
struct mallinfo2 {
	size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
static inline struct mallinfo2 mallinfo2(void)
{
	struct mallinfo info = mallinfo();
	return (struct mallinfo2){(size_t)info.arena,   (size_t)info.ordblks,  (size_t)info.smblks,
	                          (size_t)info.hblks,   (size_t)info.hblkhd,   (size_t)info.usmblks,
	                          (size_t)info.fsmblks, (size_t)info.uordblks, (size_t)info.fordblks,
	                          (size_t)info.keepcost};
}
#endif

struct record {
	void *pointer;
	size_t request;
	const char *state;
	pid_t lwp;
};

static struct record records[MAX_RECORDS];
static int record_count;
/* Threads note their own chunks while the main thread may be noting its. */
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

static void note(void *pointer, size_t request, const char *state)
{
	pthread_mutex_lock(&record_lock);
	if (record_count < MAX_RECORDS)
		records[record_count++] = (struct record){pointer, request, state, gettid()};
	pthread_mutex_unlock(&record_lock);
}

/* The gdb tests break here; noinline and the empty asm keep it a real call. */
__attribute__((noinline)) void sample_checkpoint(void) { __asm__ volatile(""); }

static void write_text(int fd, const char *text) { (void)!write(fd, text, strlen(text)); }

static void write_record(const char *path, const pid_t *thread_lwps, int thread_count)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	char line[256];
	snprintf(line, sizeof line, "main %d\n", gettid());
	write_text(fd, line);
	for (int i = 0; i < thread_count; i++) {
		snprintf(line, sizeof line, "thread %d\n", thread_lwps[i]);
		write_text(fd, line);
	}
	for (int i = 0; i < record_count; i++) {
		snprintf(line, sizeof line, "chunk %#lx %zu %s %d\n", (unsigned long)records[i].pointer,
		         records[i].request, records[i].state, records[i].lwp);
		write_text(fd, line);
	}
	struct mallinfo2 info = mallinfo2();
	snprintf(line, sizeof line,
	         "mallinfo2 arena=%zu ordblks=%zu smblks=%zu hblks=%zu hblkhd=%zu fsmblks=%zu "
	         "uordblks=%zu fordblks=%zu keepcost=%zu\n",
	         info.arena, info.ordblks, info.smblks, info.hblks, info.hblkhd, info.fsmblks, info.uordblks,
	         info.fordblks, info.keepcost);
	write_text(fd, line);
	close(fd);
}

#endif
