/*
 * Block contents the thread tests write and verify: every byte depends on the block's serial
 * number and its position, so a block that was handed out twice, overlapped by a neighbour or
 * corrupted by a free list shows up as a mismatch instead of passing silently.
 */
#ifndef THREAD_TEST_PATTERN_H
#define THREAD_TEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>

static inline unsigned char pattern_byte(uint64_t serial, size_t offset)
{
	uint64_t mixed = (serial * 0x9e3779b97f4a7c15ULL) ^ (offset * 0xbf58476d1ce4e5b9ULL);
	return (unsigned char)(mixed >> 56);
}

static inline void pattern_fill(unsigned char *block, size_t size, uint64_t serial)
{
	for (size_t i = 0; i < size; i++)
		block[i] = pattern_byte(serial, i);
}

/* Returns the first offset that does not match, or size when the block is intact. */
static inline size_t pattern_check(const unsigned char *block, size_t size, uint64_t serial)
{
	for (size_t i = 0; i < size; i++)
		if (block[i] != pattern_byte(serial, i))
			return i;
	return size;
}

/* A small, fast, per-thread pseudo-random sequence (xorshift64*). */
static inline uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

#endif
