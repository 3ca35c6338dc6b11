/*
 * The fixed cost of the allocator itself: one malloc and one free, so what remains of the
 * difference between glibc and the clone is loading the library (its pages, ld.so's bookkeeping)
 * and initialising it, not any allocation pattern.
 */
#include <string.h>

#include "workload.h"

int main(int argc, char **argv)
{
	(void)workload_scale(argc, argv);
	unsigned char *block = malloc(32);
	if (!block)
		die_out_of_memory("empty");
	memset(block, 7, 32);
	unsigned checksum = block[31];
	free(block);
	printf("empty checksum %u\n", checksum);
	return 0;
}
