/* A buggy program for ptmalloc-audit's tests: writes past a block over the next chunk's size
   field, then frees the block, which glibc and the clone answer with an abort. */
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *block = malloc(0x500);
	char *next = malloc(0x500);
	volatile size_t length = 0x500 + 16;
	memset(block, 'A', length);
	free(block);
	free(next);
	return 0;
}
