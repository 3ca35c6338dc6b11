/*
 * A thread arena that moves to a second heap when its first has less than MINSIZE left in top:
 * glibc's sysmalloc then closes the old heap with the remainder as one chunk without the
 * NON_MAIN_ARENA bit, before the 0|PREV_INUSE fencepost.  A healthy heap the audit must call
 * healthy.  The thread fills its first heap with blocks below the mmap threshold, leaves exactly
 * LEFT_IN_TOP bytes of top, then asks for more; it stops in closed_heap_stop() with both heaps.
 *
 * usage: closed_heap     (prints the first heap's closing remainder's address)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define HEAP_SIZE (64UL << 20)
#define FILL_REQUEST (100UL << 10)
#define HEADER 16
#define LEFT_IN_TOP 0x30

__attribute__((noinline)) void closed_heap_stop(void) { __asm__ volatile("" ::: "memory"); }

static size_t chunk_size(const void *user) { return ((const size_t *)user)[-1] & ~(size_t)7; }

static void *fill_first_heap(void *unused)
{
	(void)unused;
	char *block = malloc(FILL_REQUEST);
	uintptr_t heap_end = ((uintptr_t)block & ~(HEAP_SIZE - 1)) + HEAP_SIZE;
	for (;;) {
		uintptr_t top = (uintptr_t)block - HEADER + chunk_size(block);
		size_t left = heap_end - top;
		if (left < 2 * FILL_REQUEST) {
			/* A last block that leaves LEFT_IN_TOP: its chunk is the request plus the size
			   field, rounded up to 16, so ask for exactly that much less. */
			block = malloc(left - LEFT_IN_TOP - 8);
			break;
		}
		block = malloc(FILL_REQUEST);
	}
	uintptr_t remainder = (uintptr_t)block - HEADER + chunk_size(block);
	char *second = malloc(4096);
	printf("remainder %#lx second %p\n", (unsigned long)remainder, (void *)second);
	fflush(stdout);
	closed_heap_stop();
	return NULL;
}

int main(void)
{
	pthread_t thread;
	pthread_create(&thread, NULL, fill_first_heap, NULL);
	pthread_join(thread, NULL);
	return 0;
}
