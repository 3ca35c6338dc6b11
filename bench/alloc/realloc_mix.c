/*
 * Mixed sizes with realloc: a table of live blocks where each step allocates, grows, shrinks or
 * frees a random slot.  Sizes are skewed small with a tail up to 64 KiB, so realloc takes every
 * route: in place, into the next free chunk, from top, and malloc-copy-free.
 */
#include <string.h>

#include "workload.h"

#define SLOTS 8192

static size_t pick_size(struct rng *rng)
{
	uint64_t dice = rng_below(rng, 100);
	if (dice < 70)
		return 8 + rng_below(rng, 256);
	if (dice < 95)
		return 256 + rng_below(rng, 4096);
	return 4096 + rng_below(rng, 60000);
}

int main(int argc, char **argv)
{
	double scale = workload_scale(argc, argv);
	long steps = (long)(4000000 * scale);
	struct rng rng = {0xD1B54A32D192ED03ULL};
	static unsigned char *slots[SLOTS];
	static size_t sizes[SLOTS];
	uint64_t checksum = 0;
	for (long step = 0; step < steps; step++) {
		size_t slot = rng_below(&rng, SLOTS);
		uint64_t action = rng_below(&rng, 10);
		if (!slots[slot]) {
			sizes[slot] = pick_size(&rng);
			slots[slot] = malloc(sizes[slot]);
			if (!slots[slot])
				die_out_of_memory("realloc_mix");
			slots[slot][0] = (unsigned char)step;
		} else if (action < 6) {
			/* Grow or shrink by up to half again: both directions matter to realloc. */
			size_t old = sizes[slot];
			size_t size = action < 4 ? old + rng_below(&rng, old / 2 + 16) + 1 : old / 2 + 1;
			unsigned char *moved = realloc(slots[slot], size);
			if (!moved)
				die_out_of_memory("realloc_mix");
			checksum += moved[0];
			moved[size - 1] = (unsigned char)size;
			slots[slot] = moved;
			sizes[slot] = size;
			if (size > 200000) {
				free(moved);
				slots[slot] = NULL;
			}
		} else {
			checksum += slots[slot][0];
			free(slots[slot]);
			slots[slot] = NULL;
		}
	}
	for (int slot = 0; slot < SLOTS; slot++)
		free(slots[slot]);
	printf("realloc_mix %ld steps checksum %llu\n", steps, (unsigned long long)checksum);
	return 0;
}
