/* The pseudo-random source of the stress programs: xorshift64, seeded per thread, so every run
 * with the same arguments makes the same sequence of requests and a failure can be replayed. */
#ifndef ROBUST_XORSHIFT_H
#define ROBUST_XORSHIFT_H

#include <stdint.h>

static inline uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif
