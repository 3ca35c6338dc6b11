/*
 * Multi-threaded stress with content verification: waves of worker threads allocate blocks of
 * mixed sizes (tcache, fastbin, small, large and mmapped), fill each with a pattern, and trade
 * them through a shared pool, so most blocks are freed by a different thread than the one that
 * allocated them, often after that thread and its wave have exited.  Every block is checked
 * before it is freed, after realloc moves it, and calloc memory must read as zero.
 *
 * usage: thread_stress THREADS WAVES OPERATIONS_PER_THREAD
 * Exit status 0 and a summary line on success; 1 with a description of the first bad block.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

#define POOL_SLOTS 4096

struct block {
	unsigned char *data;
	size_t size;
	uint64_t serial;
};

static struct block pool[POOL_SLOTS];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_serial = 1;
static unsigned long checked_blocks;
static long operations_per_thread;

static void fail(const char *what, const struct block *block, size_t offset)
{
	fprintf(stderr, "thread_stress: %s: block serial %llu size %zu at %p, offset %zu\n", what,
	        (unsigned long long)block->serial, block->size, (void *)block->data, offset);
	exit(1);
}

static void verify(const struct block *block, const char *when)
{
	size_t bad = pattern_check(block->data, block->size, block->serial);
	if (bad != block->size)
		fail(when, block, bad);
	__atomic_add_fetch(&checked_blocks, 1, __ATOMIC_RELAXED);
}

static size_t pick_size(uint64_t *random)
{
	uint64_t r = next_random(random);
	switch (r % 16) {
	case 0:
		return 140000 + (r >> 8) % 200000; /* mmapped */
	case 1:
	case 2:
		return 1100 + (r >> 8) % 30000; /* large bins */
	case 3:
	case 4:
	case 5:
		return 200 + (r >> 8) % 800; /* small bins */
	default:
		return 1 + (r >> 8) % 120; /* tcache and fastbins */
	}
}

static uint64_t take_serial(void) { return __atomic_fetch_add(&next_serial, 1, __ATOMIC_RELAXED); }

static struct block new_block(uint64_t *random)
{
	struct block block = {.size = pick_size(random), .serial = take_serial()};
	if (next_random(random) % 8 == 0) {
		block.data = calloc(1, block.size);
		if (block.data == NULL) {
			perror("calloc");
			exit(1);
		}
		for (size_t i = 0; i < block.size; i++)
			if (block.data[i] != 0)
				fail("calloc memory not zeroed", &block, i);
	} else {
		block.data = malloc(block.size);
		if (block.data == NULL) {
			perror("malloc");
			exit(1);
		}
	}
	pattern_fill(block.data, block.size, block.serial);
	return block;
}

/* realloc must carry the old contents over (up to the smaller size) wherever the block lands. */
static void resize_block(struct block *block, uint64_t *random)
{
	size_t new_size = pick_size(random);
	unsigned char *moved = realloc(block->data, new_size);
	if (moved == NULL) {
		perror("realloc");
		exit(1);
	}
	size_t kept = new_size < block->size ? new_size : block->size;
	struct block old_part = {.data = moved, .size = kept, .serial = block->serial};
	verify(&old_part, "realloc lost contents");
	block->data = moved;
	block->size = new_size;
	block->serial = take_serial();
	pattern_fill(block->data, block->size, block->serial);
}

static void release(struct block *block)
{
	verify(block, "corrupted before free");
	free(block->data);
	block->data = NULL;
}

static void *worker(void *seed_pointer)
{
	uint64_t random = (uint64_t)(uintptr_t)seed_pointer * 0x2545f4914f6cdd1dULL + 1;
	struct block mine[16] = {0};
	for (long op = 0; op < operations_per_thread; op++) {
		uint64_t r = next_random(&random);
		struct block *local = &mine[r % 16];
		if ((r >> 4) % 4 == 0) {
			/* Trade through the pool: whatever is in the slot was made by someone else. */
			struct block incoming = new_block(&random);
			size_t slot = (size_t)((r >> 8) % POOL_SLOTS);
			pthread_mutex_lock(&pool_lock);
			struct block outgoing = pool[slot];
			pool[slot] = incoming;
			pthread_mutex_unlock(&pool_lock);
			if (outgoing.data != NULL)
				release(&outgoing);
		} else if (local->data == NULL) {
			*local = new_block(&random);
		} else if ((r >> 4) % 4 == 1) {
			verify(local, "corrupted while held");
			resize_block(local, &random);
		} else {
			release(local);
		}
	}
	for (int i = 0; i < 16; i++)
		if (mine[i].data != NULL)
			release(&mine[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s THREADS WAVES OPERATIONS_PER_THREAD\n", argv[0]);
		return 2;
	}
	int threads = atoi(argv[1]);
	int waves = atoi(argv[2]);
	operations_per_thread = atol(argv[3]);
	if (threads < 1 || threads > 256 || waves < 1) {
		fputs("thread_stress: bad arguments\n", stderr);
		return 2;
	}
	pthread_t ids[256];
	for (int wave = 0; wave < waves; wave++) {
		for (int t = 0; t < threads; t++) {
			if (pthread_create(&ids[t], NULL, worker, (void *)(uintptr_t)(wave * 1000 + t + 1)) !=
			    0) {
				fputs("thread_stress: pthread_create failed\n", stderr);
				return 1;
			}
		}
		for (int t = 0; t < threads; t++)
			pthread_join(ids[t], NULL);
	}
	/* What the last wave left in the pool is freed by the main thread. */
	for (size_t slot = 0; slot < POOL_SLOTS; slot++)
		if (pool[slot].data != NULL)
			release(&pool[slot]);
	printf("thread_stress: %d waves of %d threads, %lu blocks verified\n", waves, threads,
	       checked_blocks);
	return 0;
}
