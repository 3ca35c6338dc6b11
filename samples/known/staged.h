/*
 * What the samples that stage bins around guard chunks share (sbrk_blocked, big_sbrk): noting
 * each chunk held or freed in the record (record.h), and a set of small chunks, each between
 * two held guards so that no free can merge it with a neighbour.  A sample may define
 * STAGED_TINY (the 0x30 chunks per set) before including this header.
 */
#ifndef SAMPLES_KNOWN_STAGED_H
#define SAMPLES_KNOWN_STAGED_H
#include "record.h"
#include <stdlib.h>
#ifndef STAGED_TINY
#define STAGED_TINY 3
#endif

static void *held(size_t request)
{
	void *pointer = malloc(request);
	note(pointer, request, "in-use");
	return pointer;
}

/* The record is of pointers, so the state is written down before the free. */
static void release(void *pointer, const char *state)
{
	for (int i = 0; i < record_count; i++)
		if (records[i].pointer == pointer)
			records[i].state = state;
	free(pointer);
}

/* Chunks the sample frees at its end. */
struct staged {
	void *tiny[STAGED_TINY]; /* 0x30 chunks: tcache, later fastbin */
	void *small[2];          /* 0x110 chunks: tcache, or the small bin */
	void *large;             /* 0x510 chunk: the large bin */
	void *unsorted;          /* 0x460 chunk: left in the unsorted bin */
};

static void *guarded(size_t request)
{
	held(0x18);
	void *pointer = held(request);
	held(0x18);
	return pointer;
}

static void stage(struct staged *where)
{
	for (int i = 0; i < STAGED_TINY; i++)
		where->tiny[i] = guarded(0x28);
	for (int i = 0; i < 2; i++)
		where->small[i] = guarded(0x100);
	where->large = guarded(0x500);
	where->unsorted = guarded(0x450);
}
#endif
