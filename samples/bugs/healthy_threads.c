/* A healthy multi-threaded heap: worker threads each get an arena, fill tcache bins, fastbins,
   the unsorted, small and large bins and make mmapped chunks; one worker grows its arena past a
   64 MiB heap (so the old heap ends in a fencepost); one worker exits before the audit (its
   arena goes on the free list and its tcache drains into it).  Nothing is wrong: the audit must
   say so, and the program exits normally. */
#include "audit_point.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS 4
#define BIG_WORKER 1
#define EXITING_WORKER 3
#define HEAP_FILLER 110000 /* below the mmap threshold, 700 of them outgrow one 64 MiB heap */

static pthread_barrier_t staged, released;
/* What each thread still holds, so nothing is leaked: slot WORKERS is the main thread's. */
static void *held[WORKERS + 1][64 + 2];

static void stage_bins(unsigned seed, int slot)
{
	void **blocks = held[slot];
	for (int i = 0; i < 64; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t sizes[] = {24, 40, 100, 300, 700, 1500, 3000, 5000};
		blocks[i] = malloc(sizes[(seed >> 16) % 8]);
		memset(blocks[i], i, 16);
	}
	for (int i = 0; i < 64; i += 2)
		free(blocks[i]);
	blocks[64] = malloc(6000); /* sorts the unsorted bin into small and large bins */
	for (int i = 1; i < 64; i += 4)
		free(blocks[i]);
}

static void *worker(void *argument)
{
	long number = (long)argument;
	stage_bins(1000u + (unsigned)number, (int)number);
	held[number][65] = malloc(300000);
	memset(held[number][65], 1, 64);
	if (number == BIG_WORKER) {
		static void *fillers[700];
		for (int i = 0; i < 700; i++)
			fillers[i] = malloc(HEAP_FILLER);
		for (int i = 0; i < 700; i += 3)
			free(fillers[i]);
	}
	if (number == EXITING_WORKER)
		return NULL;
	pthread_barrier_wait(&staged);
	pthread_barrier_wait(&released);
	return NULL;
}

int main(void)
{
	pthread_t threads[WORKERS];
	pthread_barrier_init(&staged, NULL, WORKERS);
	pthread_barrier_init(&released, NULL, WORKERS);
	stage_bins(7, WORKERS);
	for (long i = 0; i < WORKERS; i++)
		pthread_create(&threads[i], NULL, worker, (void *)i);
	pthread_join(threads[EXITING_WORKER], NULL);
	pthread_barrier_wait(&staged);
	audit_point();
	pthread_barrier_wait(&released);
	for (int i = 0; i < WORKERS; i++)
		if (i != EXITING_WORKER)
			pthread_join(threads[i], NULL);
	return 0;
}
