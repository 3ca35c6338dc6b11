/* A program that loses its only pointer to a block (a leak for `heap check --leaks`), then wipes
   the stack it used, so no stale copy of the pointer stays behind for the scan to find. */
#include <stdlib.h>
#include <string.h>

char *kept;

__attribute__((noinline)) static void lose_a_block(void)
{
	char *lost = malloc(200);
	memset(lost, 1, 200);
	kept = malloc(64);
}

__attribute__((noinline)) static void wipe_stack(void)
{
	volatile char area[16384];
	for (size_t i = 0; i < sizeof area; i++)
		area[i] = 0;
}

int main(void)
{
	lose_a_block();
	wipe_stack();
	strcpy(kept, "kept");
	return kept[0] == 'k' ? 0 : 1;
}
