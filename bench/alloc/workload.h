/*
 * Shared by the allocator workloads: a tiny deterministic random generator (so glibc and the
 * clone see the very same request sequence) and the scale argument every workload accepts, so
 * the driver can shrink a run on a slow machine without editing code.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct rng {
	uint64_t state;
};

static inline uint64_t rng_next(struct rng *rng)
{
	/* xorshift64*: fast enough that the workload measures malloc, not the generator. */
	uint64_t x = rng->state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng->state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline size_t rng_below(struct rng *rng, size_t bound) { return (size_t)(rng_next(rng) % bound); }

/* argv[1], when given, multiplies the work (in percent: 100 is the default size). */
static inline double workload_scale(int argc, char **argv)
{
	if (argc < 2)
		return 1.0;
	double percent = strtod(argv[1], NULL);
	return percent > 0 ? percent / 100.0 : 1.0;
}

static inline void die_out_of_memory(const char *what)
{
	fprintf(stderr, "%s: out of memory\n", what);
	exit(2);
}

#endif
