/* The heap the gdb corruption fuzzer damages: every kind of bin populated (tcache, fastbin, unsorted,
 * small, large), an mmapped chunk, and a second thread with its own arena and tcache, kept alive at
 * the stop.  fuzz_stop() is where the fuzzer's gdb breaks; the program then exits normally.
 * With an argument "never" it stops before allocating anything at all. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malloc_provider.h"

static pthread_barrier_t at_stop, released;
static void *volatile keep[64];

/* With FUZZ_SELF_STOP set the program stops itself (SIGTRAP), so a debugger that may not write
 * memory, and therefore cannot insert a breakpoint, still gets a stop here. */
__attribute__((noinline)) void fuzz_stop(void)
{
	if (getenv("FUZZ_SELF_STOP") != NULL)
		raise(SIGTRAP);
	__asm__ volatile("" ::: "memory");
}

static void *second_arena(void *unused)
{
	(void)unused;
	void *blocks[24];
	for (int i = 0; i < 24; i++)
		blocks[i] = malloc(24 + (size_t)i * 40);
	for (int i = 0; i < 24; i += 2)
		free(blocks[i]);
	pthread_barrier_wait(&at_stop);
	pthread_barrier_wait(&released);
	return NULL;
}

int main(int argc, char **argv)
{
	report_malloc_provider();
	if (argc > 1 && strcmp(argv[1], "never") == 0) {
		fuzz_stop();
		return 0;
	}
	pthread_barrier_init(&at_stop, NULL, 2);
	pthread_barrier_init(&released, NULL, 2);
	void *small[16], *fast[10], *large[6];
	for (int i = 0; i < 16; i++)
		small[i] = malloc(0x88);
	for (int i = 0; i < 10; i++)
		fast[i] = malloc(0x28);
	for (int i = 0; i < 6; i++) {
		large[i] = malloc(0x500 + (size_t)i * 0x80);
		keep[i] = malloc(0x18); /* guards: keep the large chunks apart */
	}
	for (int i = 0; i < 16; i += 2)
		free(small[i]); /* 7 to the tcache, the 8th to unsorted */
	for (int i = 0; i < 10; i++)
		free(fast[i]); /* 7 to the tcache, 3 to a fastbin (consolidated below) */
	for (int i = 0; i < 6; i += 2)
		free(large[i]);
	keep[10] = malloc(0x1000); /* sorts unsorted chunks into small and large bins */
	void *fast_after[10];
	for (int i = 0; i < 10; i++)
		fast_after[i] = malloc(0x38);
	for (int i = 0; i < 10; i++)
		free(fast_after[i]); /* 7 to the tcache, 3 stay in the 0x40 fastbin */
	for (int i = 1; i < 6; i += 2)
		free(large[i]);    /* these stay in unsorted */
	keep[11] = malloc(300000); /* an mmapped chunk */
	pthread_t thread;
	pthread_create(&thread, NULL, second_arena, NULL);
	pthread_barrier_wait(&at_stop);
	fuzz_stop();
	pthread_barrier_wait(&released);
	pthread_join(thread, NULL);
	return 0;
}
