/* Many threads hammering every entry point, with every byte they own verified before it is given
 * back.  Blocks also travel between threads through a shared mailbox, so frees land on arenas other
 * than the freeing thread's own.
 *
 * Usage: thread_stress [threads=8] [operations per thread=1000000] [seed=1]
 * Exit 0 with a summary line when every check held; exit 1 naming the first broken block. */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malloc_provider.h"
#include "xorshift.h"

#define SLOTS_PER_THREAD 512
#define MAILBOX_SLOTS 64
/* Large blocks are only checked at both ends: checking all of them would make the test about
 * memcmp, not the allocator. */
#define CHECKED_EDGE 512

/* The first bytes of every block say how long it is and what it was filled with, so any thread can
 * verify a block it did not allocate. */
struct block_header {
	size_t length;
	uint32_t fill;
	uint32_t zeroed_by_calloc;
};

struct thread_state {
	unsigned index;
	uint64_t random;
	unsigned long operations;
	struct block_header *slots[SLOTS_PER_THREAD];
	unsigned long counts[8];
};

static _Atomic(struct block_header *) mailbox[MAILBOX_SLOTS];
static atomic_int failed;

static size_t pick_size(uint64_t *state)
{
	uint64_t r = next_random(state);
	unsigned bucket = (unsigned)(r % 1000);
	r >>= 10;
	if (bucket < 700)
		return sizeof(struct block_header) + r % 256;
	if (bucket < 950)
		return 256 + r % 3840;
	if (bucket < 997)
		return 4096 + r % 61440;
	return 65536 + r % 262144; /* some cross the mmap threshold */
}

static void fail(const char *what, struct block_header *block, size_t at)
{
	if (atomic_exchange(&failed, 1) == 0) {
		printf("thread_stress: FAILED: %s: block %p length %zu, byte %zu\n", what, (void *)block,
		       block ? block->length : 0, at);
		fflush(stdout);
	}
}

static void fill_block(struct block_header *block, size_t length, uint32_t fill)
{
	block->length = length;
	block->fill = fill;
	block->zeroed_by_calloc = 0;
	memset(block + 1, (int)(fill & 0xff), length - sizeof *block);
}

static void check_range(const struct block_header *block, size_t from, size_t to)
{
	const unsigned char *bytes = (const unsigned char *)block;
	unsigned char expected = (unsigned char)(block->fill & 0xff);
	for (size_t i = from; i < to; i++) {
		if (bytes[i] != expected) {
			fail("content changed", (struct block_header *)block, i);
			return;
		}
	}
}

static void check_block(const struct block_header *block)
{
	size_t length = block->length;
	if (length < sizeof *block || length > (1u << 20) || block->fill >> 8 != 0xc0ffee) {
		fail("header changed", (struct block_header *)block, 0);
		return;
	}
	if (malloc_usable_size((void *)block) < length)
		fail("usable size below request", (struct block_header *)block, length);
	size_t body = sizeof *block;
	if (length - body <= 2 * CHECKED_EDGE) {
		check_range(block, body, length);
	} else {
		check_range(block, body, body + CHECKED_EDGE);
		check_range(block, length - CHECKED_EDGE, length);
	}
}

static uint32_t fill_for(struct thread_state *state)
{
	return 0xc0ffee00u | (uint32_t)(next_random(&state->random) & 0xff);
}

static struct block_header *allocate(struct thread_state *state, size_t length)
{
	unsigned how = (unsigned)(next_random(&state->random) % 16);
	struct block_header *block;
	if (how < 11) {
		block = malloc(length);
		state->counts[0]++;
	} else if (how < 13) {
		block = calloc(1, length);
		state->counts[1]++;
		if (block != NULL) {
			const unsigned char *bytes = (const unsigned char *)block;
			size_t limit = length < 4096 ? length : 4096;
			for (size_t i = 0; i < limit; i++)
				if (bytes[i] != 0) {
					fail("calloc memory not zero", block, i);
					break;
				}
		}
	} else if (how < 15) {
		size_t alignment = (size_t)16 << (next_random(&state->random) % 8);
		block = memalign(alignment, length);
		state->counts[2]++;
		if (block != NULL && (uintptr_t)block % alignment != 0)
			fail("memalign misaligned", block, alignment);
	} else {
		void *out = NULL;
		if (posix_memalign(&out, 64, length) != 0)
			out = NULL;
		block = out;
		state->counts[3]++;
	}
	if (block == NULL) {
		fail("allocation returned NULL", NULL, length);
		return NULL;
	}
	fill_block(block, length, fill_for(state));
	return block;
}

static void *worker(void *argument)
{
	struct thread_state *state = argument;
	for (unsigned long op = 0; op < state->operations && !atomic_load(&failed); op++) {
		uint64_t r = next_random(&state->random);
		unsigned slot = (unsigned)(r % SLOTS_PER_THREAD);
		unsigned action = (unsigned)((r >> 16) % 100);
		struct block_header **held = &state->slots[slot];
		if (action < 8) {
			/* Trade with the mailbox: our block goes out, whatever was there comes in. */
			unsigned box = (unsigned)((r >> 32) % MAILBOX_SLOTS);
			struct block_header *incoming = atomic_exchange(&mailbox[box], *held);
			if (incoming != NULL)
				check_block(incoming);
			*held = incoming;
			state->counts[4]++;
		} else if (*held == NULL) {
			*held = allocate(state, pick_size(&state->random));
		} else if (action < 30) {
			check_block(*held);
			size_t length = pick_size(&state->random);
			size_t kept = (*held)->length < length ? (*held)->length : length;
			struct block_header *moved = realloc(*held, length);
			state->counts[5]++;
			if (moved == NULL) {
				fail("realloc returned NULL", *held, length);
				break;
			}
			/* The prefix survives the move; the rest is refilled under the old fill. */
			moved->length = kept;
			check_block(moved);
			fill_block(moved, length, moved->fill);
			*held = moved;
		} else {
			check_block(*held);
			free(*held);
			*held = NULL;
			state->counts[6]++;
		}
	}
	for (unsigned i = 0; i < SLOTS_PER_THREAD; i++) {
		if (state->slots[i] != NULL) {
			check_block(state->slots[i]);
			free(state->slots[i]);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	report_malloc_provider();
	unsigned threads = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 8;
	unsigned long operations = argc > 2 ? strtoul(argv[2], NULL, 0) : 1000000;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;
	if (threads == 0 || threads > 64) {
		fprintf(stderr, "thread_stress: threads must be 1..64\n");
		return 2;
	}
	struct thread_state *states = calloc(threads, sizeof *states);
	pthread_t *ids = calloc(threads, sizeof *ids);
	for (unsigned i = 0; i < threads; i++) {
		states[i].index = i;
		states[i].random = seed * 0x9e3779b97f4a7c15ull + i + 1;
		states[i].operations = operations;
		if (pthread_create(&ids[i], NULL, worker, &states[i]) != 0) {
			printf("thread_stress: pthread_create failed\n");
			return 2;
		}
	}
	unsigned long totals[8] = {0};
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(ids[i], NULL);
		for (unsigned k = 0; k < 8; k++)
			totals[k] += states[i].counts[k];
	}
	for (unsigned box = 0; box < MAILBOX_SLOTS; box++) {
		struct block_header *left = atomic_exchange(&mailbox[box], NULL);
		if (left != NULL) {
			check_block(left);
			free(left);
		}
	}
	struct mallinfo2 info = mallinfo2();
	if (info.arena != info.uordblks + info.fordblks)
		fail("mallinfo2 does not add up", NULL, info.arena);
	printf("thread_stress: %u threads x %lu operations: malloc %lu calloc %lu memalign %lu "
	       "posix_memalign %lu traded %lu realloc %lu free %lu: %s\n",
	       threads, operations, totals[0], totals[1], totals[2], totals[3], totals[4], totals[5],
	       totals[6], atomic_load(&failed) ? "FAILED" : "ok");
	free(states);
	free(ids);
	return atomic_load(&failed) ? 1 : 0;
}
