/*
 * Many small objects: rounds of allocating a large batch of 16..128-byte blocks, writing into
 * each, then freeing them in a shuffled order.  Exercises the tcache, fastbins and the small-bin
 * path as batches overflow the tcache, the bread and butter of C programs.
 */
#include <string.h>

#include "workload.h"

#define BATCH 200000

int main(int argc, char **argv)
{
	double scale = workload_scale(argc, argv);
	int rounds = (int)(30 * scale);
	struct rng rng = {0x9E3779B97F4A7C15ULL};
	static unsigned char *blocks[BATCH];
	uint64_t checksum = 0;
	for (int round = 0; round < rounds; round++) {
		for (int i = 0; i < BATCH; i++) {
			size_t size = 16 + 8 * rng_below(&rng, 15);
			blocks[i] = malloc(size);
			if (!blocks[i])
				die_out_of_memory("small_objects");
			memset(blocks[i], (int)i, 16);
		}
		/* Free a shuffled order so neighbours rarely go back together. */
		for (int i = BATCH - 1; i > 0; i--) {
			size_t j = rng_below(&rng, (size_t)i + 1);
			unsigned char *swap = blocks[i];
			blocks[i] = blocks[j];
			blocks[j] = swap;
		}
		for (int i = 0; i < BATCH; i++) {
			checksum += blocks[i][0];
			free(blocks[i]);
		}
	}
	printf("small_objects %d rounds checksum %llu\n", rounds, (unsigned long long)checksum);
	return 0;
}
