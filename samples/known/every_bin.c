/*
 * A heap with something in every kind of bin, several thread arenas with their own tcaches, and
 * mmapped chunks, built by a fixed sequence whose outcome glibc 2.36's algorithm decides.
 *
 * The program writes a record of what it did (record.h: every pointer it freed or holds, the
 * state each must be in, every thread's LWP, mallinfo2's totals) to the file named by argv[1],
 * then calls sample_checkpoint(), where the gdb tests stop and compare the extension with the
 * record.  With "crash" as argv[2] it then aborts, leaving a core of the same heap.
 *
 * All threads are created before the main thread stages its bins, because pthread_create's own
 * calloc would sort the unsorted bin.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 3
#define MAX_RECORDS 256
#include "record.h"

static sem_t thread_ready, release_threads;
static pid_t thread_lwps[THREADS];

/* A request above the mmap threshold is mmapped only when the top chunk cannot serve it, which
   it can under glibc.malloc.hugetlb=2 (the main arena then grows by whole huge pages): the
   allocator's own count of mmapped chunks says which happened. */
static const char *large_state(size_t mmapped_before)
{
	return mallinfo2().hblks > mmapped_before ? "mmapped" : "in-use";
}

/* Recorded before the free: the record is of pointers, never of what they point to. */
static void release(void *pointer, size_t request, const char *state)
{
	note(pointer, request, state);
	free(pointer);
}

/* Each thread gets a new arena (its first malloc), fills one tcache bin, puts two chunks in a
   fastbin, one in its unsorted bin, and holds one chunk; then it waits, keeping its tcache. */
static void *thread_main(void *argument)
{
	long number = (long)argument;
	size_t small = 0x28 + 0x10 * (size_t)number; /* chunk 0x30, 0x40, 0x50 */
	void *fast[9];
	for (int i = 0; i < 9; i++)
		fast[i] = malloc(small);
	void *held = malloc(0x68);
	void *unsorted = malloc(0x500);
	void *guard = malloc(0x18);
	for (int i = 0; i < 9; i++)
		release(fast[i], small, i < 7 ? "tcache" : "fastbin");
	release(unsorted, 0x500, "unsorted");
	note(held, 0x68, "in-use");
	note(guard, 0x18, "in-use");
	thread_lwps[number] = gettid();
	sem_post(&thread_ready);
	sem_wait(&release_threads);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		static const char usage[] = "usage: every_bin RECORD_FILE [crash]\n";
		(void)!write(2, usage, sizeof usage - 1);
		return 2;
	}
	sem_init(&thread_ready, 0, 0);
	sem_init(&release_threads, 0, 0);
	pthread_t threads[THREADS];
	for (long i = 0; i < THREADS; i++) {
		pthread_create(&threads[i], NULL, thread_main, (void *)i);
		sem_wait(&thread_ready);
	}

	/* Everything is carved from top first; the guards keep freed chunks from merging. */
	void *tiny[9], *small[8], *large[3];
	for (int i = 0; i < 9; i++)
		tiny[i] = malloc(0x18);
	for (int i = 0; i < 8; i++) {
		small[i] = malloc(0x100);
		note(malloc(0x18), 0x18, "in-use");
	}
	static const size_t large_requests[3] = {0x500, 0x520, 0x500};
	for (int i = 0; i < 3; i++) {
		large[i] = malloc(large_requests[i]);
		note(malloc(0x18), 0x18, "in-use");
	}
	void *unsorted = malloc(0x450);
	note(malloc(0x18), 0x18, "in-use");
	static const size_t mapped_requests[2] = {200000, 300000};
	for (int i = 0; i < 2; i++) {
		size_t mmapped_before = mallinfo2().hblks;
		void *large = malloc(mapped_requests[i]);
		note(large, mapped_requests[i], large_state(mmapped_before));
	}
	/* memalign moves an mmapped chunk's header forward to the aligned pointer (prev_size holds
	   the lead), so its header is not at the start of its mapping. */
	size_t mmapped_before = mallinfo2().hblks;
	void *aligned_mapped = memalign(4096, 200000);
	note(aligned_mapped, 200000, large_state(mmapped_before));
	void *zeroed = calloc(10, 10);
	note(zeroed, 100, "in-use");

	/* Seven 0x110 chunks fill their tcache bin; the eighth and the large ones go to unsorted,
	   and a larger request sorts them into a small bin and the large bins. */
	for (int i = 0; i < 7; i++)
		release(small[i], 0x100, "tcache");
	release(small[7], 0x100, "smallbin");
	for (int i = 0; i < 3; i++)
		release(large[i], large_requests[i], "largebin");
	note(malloc(0x600), 0x600, "in-use");

	/* Nine 0x20 chunks: seven to the tcache, two to the fastbin. */
	for (int i = 0; i < 9; i++)
		release(tiny[i], 0x18, i < 7 ? "tcache" : "fastbin");
	release(unsorted, 0x450, "unsorted");

	write_record(argv[1], thread_lwps, THREADS);
	sample_checkpoint();
	if (argc > 2 && strcmp(argv[2], "crash") == 0)
		abort();
	for (int i = 0; i < THREADS; i++)
		sem_post(&release_threads);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
