/*
 * Larson-style server churn with 2 threads: each lane keeps a table of live blocks and replaces
 * random ones with new random-sized blocks; every generation the lane's thread exits and a new
 * thread inherits the table, so blocks are freed by threads (and arenas) other than the one that
 * allocated them, and arenas are released and reused as threads come and go.
 */
#include <pthread.h>
#include <string.h>

#include "workload.h"

#define LANES 2
#define TABLE 2000

struct lane {
	unsigned char *blocks[TABLE];
	struct rng rng;
	long steps;
	uint64_t checksum;
};

static void *churn(void *argument)
{
	struct lane *lane = argument;
	for (long step = 0; step < lane->steps; step++) {
		size_t slot = rng_below(&lane->rng, TABLE);
		if (lane->blocks[slot]) {
			lane->checksum += lane->blocks[slot][0];
			free(lane->blocks[slot]);
		}
		size_t size = 16 + rng_below(&lane->rng, 497);
		lane->blocks[slot] = malloc(size);
		if (!lane->blocks[slot])
			die_out_of_memory("larson_churn");
		lane->blocks[slot][0] = (unsigned char)step;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double scale = workload_scale(argc, argv);
	int generations = (int)(30 * scale);
	static struct lane lanes[LANES];
	for (int l = 0; l < LANES; l++) {
		lanes[l].rng.state = 0x9E3779B97F4A7C15ULL + (uint64_t)l * 0x1234567ULL;
		lanes[l].steps = 100000;
	}
	for (int generation = 0; generation < generations; generation++) {
		pthread_t threads[LANES];
		for (int l = 0; l < LANES; l++)
			if (pthread_create(&threads[l], NULL, churn, &lanes[l]) != 0)
				die_out_of_memory("larson_churn thread");
		for (int l = 0; l < LANES; l++)
			pthread_join(threads[l], NULL);
	}
	uint64_t checksum = 0;
	for (int l = 0; l < LANES; l++) {
		for (int slot = 0; slot < TABLE; slot++)
			free(lanes[l].blocks[slot]);
		checksum += lanes[l].checksum;
	}
	printf("larson_churn %d generations checksum %llu\n", generations, (unsigned long long)checksum);
	return 0;
}
