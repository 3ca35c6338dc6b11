/*
 * Atfork handlers that allocate, and count how often they ran: the fork tests register sets of
 * them from several places (a library's constructor, the program's constructor, main, a running
 * process) to check that none of them finds the allocator locked.
 */
#ifndef THREAD_TEST_ALLOCATING_HANDLERS_H
#define THREAD_TEST_ALLOCATING_HANDLERS_H

#include <stdlib.h>
#include <string.h>

#include "stall_watch.h"

struct handler_counts {
	unsigned long prepares, parents, children;
};

/* Sizes from the tcache, the small bins and the mmap threshold: every path that locks an arena. */
static inline void allocate_in_handler(void)
{
	static const size_t sizes[] = {24, 1000, 5000, 300000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *block = malloc(sizes[i]);
		if (block == NULL)
			abort();
		memset(block, 0xa5, sizes[i]);
		free(block);
	}
}

/* Defines name_prepare, name_parent and name_child, counting into `counts`. */
#define ALLOCATING_HANDLERS(name, counts)                                                                    \
	static void name##_prepare(void)                                                                     \
	{                                                                                                    \
		allocate_in_handler();                                                                       \
		progress_add(&(counts).prepares);                                                            \
	}                                                                                                    \
	static void name##_parent(void)                                                                      \
	{                                                                                                    \
		allocate_in_handler();                                                                       \
		progress_add(&(counts).parents);                                                             \
	}                                                                                                    \
	static void name##_child(void)                                                                       \
	{                                                                                                    \
		allocate_in_handler();                                                                       \
		(counts).children++;                                                                         \
	}

#endif
