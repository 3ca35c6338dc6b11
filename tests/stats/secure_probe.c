/*
 * What the malloc tunables did, seen from outside the allocator: how far the first allocation
 * moved the break (glibc.malloc.top_pad) and what a fresh block from the top chunk is filled
 * with (glibc.malloc.perturb).  Built twice, against glibc and with the clone linked in
 * statically, and run plain and as a set-user-id program, where glibc ignores every malloc
 * tunable; LD_PRELOAD would be ignored there, which is why the clone is linked in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	char *before = sbrk(0);
	unsigned char *block = malloc(5000);
	char *after = sbrk(0);
	if (block == NULL)
		return 1;
	printf("break grew by %#lx, fresh block starts %02x %02x %02x %02x\n",
	       (unsigned long)(after - before), block[0], block[1], block[2], block[3]);
	return 0;
}
