/* A healthy big heap: 200,000 allocations of mixed sizes, half of them freed in a scattered
   order, some reallocated and some memaligned, plus mmapped blocks.  Nothing is wrong. */
#include "audit_point.h"
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS 200000

static void *blocks[BLOCKS];

int main(void)
{
	unsigned seed = 12345;
	for (int i = 0; i < BLOCKS; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned pick = (seed >> 16) % 100;
		size_t size = pick < 60 ? 8 + pick : pick < 90 ? 200 + pick * 20 : 1100 + pick * 40;
		if (i % 20000 == 7)
			size = 200000; /* mmapped */
		blocks[i] = i % 5000 == 3 ? memalign(64, size) : malloc(size);
		memset(blocks[i], 0x5a, 8);
	}
	for (int i = 0; i < BLOCKS; i++) {
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 2) {
			free(blocks[i]);
			blocks[i] = NULL;
		} else if ((seed >> 16) % 7 == 0) {
			blocks[i] = realloc(blocks[i], 64 + (seed >> 20) % 900);
		}
	}
	void *sorter = malloc(70000); /* consolidates fastbins and sorts the unsorted bin */
	audit_point();
	free(sorter);
	for (int i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	return 0;
}
