/*
 * A fastbin attack on a global, staged for tests/gdb/test_fake_fast.py.  `area` holds a fake
 * chunk header (size 0x71, fd the safe-linked NULL) and a second one with a size no fastbin
 * takes.  At fake_fast_stop() the debugger asks which fake chunks cover area[6]; then the program
 * really makes the attack: a freed 0x70 chunk's fd is pointed at the fake chunk, and the second
 * calloc of its size returns what the fastbin gave.  The result goes to stdout.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t area[16] __attribute__((aligned(16)));

__attribute__((noinline)) void fake_fast_stop(void) { __asm__ volatile("" ::: "memory"); }

/* safe-linking (glibc 2.32 on): a link stored at `slot` is the pointer xored with slot >> 12 */
static uint64_t protect(void *slot, void *pointer) { return ((uint64_t)slot >> 12) ^ (uint64_t)pointer; }

int main(void)
{
	void *fill[7];
	for (int i = 0; i < 7; i++)
		fill[i] = malloc(0x60);
	void *victim = malloc(0x60);
	void *guard = malloc(0x18); /* keeps the victim off the top chunk */
	for (int i = 0; i < 7; i++)
		free(fill[i]); /* the 0x70 tcache bin is full: the next free goes to the fastbin */
	free(victim);
	area[1] = 0x71;
	area[2] = protect(&area[2], NULL);
	area[9] = 0x251; /* no fast chunk has this size */
	fake_fast_stop();
	*(uint64_t *)victim = protect(victim, &area[0]);
	void *first = calloc(1, 0x60);
	void *second = calloc(1, 0x60);
	printf("first %p second %p fake %p\n", first, second, (void *)&area[2]);
	free(guard);
	return 0;
}
