/*
 * Large and mmapped blocks: a small working set of 64 KiB .. 8 MiB blocks replaced at random.
 * The big ones go to mmap and, as they are freed, raise glibc's dynamic mmap threshold, so later
 * ones come from the heap: this covers sysmalloc, trimming, mmap and munmap.
 */
#include <string.h>

#include "workload.h"

#define LIVE 24

int main(int argc, char **argv)
{
	double scale = workload_scale(argc, argv);
	long steps = (long)(60000 * scale);
	struct rng rng = {0xBF58476D1CE4E5B9ULL};
	unsigned char *live[LIVE] = {0};
	size_t sizes[LIVE] = {0};
	uint64_t checksum = 0;
	for (long step = 0; step < steps; step++) {
		size_t slot = rng_below(&rng, LIVE);
		if (live[slot]) {
			checksum += live[slot][0] + live[slot][sizes[slot] - 1];
			free(live[slot]);
		}
		/* Log-uniform sizes: as many 64 KiB blocks as 4 MiB ones. */
		size_t size = (size_t)64 << 10 << rng_below(&rng, 7);
		size += rng_below(&rng, size);
		live[slot] = malloc(size);
		if (!live[slot])
			die_out_of_memory("large_blocks");
		/* Touch both ends only: page faults would otherwise drown the allocator's cost. */
		live[slot][0] = (unsigned char)step;
		live[slot][size - 1] = (unsigned char)size;
		sizes[slot] = size;
	}
	for (int slot = 0; slot < LIVE; slot++)
		free(live[slot]);
	printf("large_blocks %ld steps checksum %llu\n", steps, (unsigned long long)checksum);
	return 0;
}
