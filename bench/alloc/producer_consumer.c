/*
 * Producer/consumer across threads: one thread allocates messages and passes them through a
 * single-producer single-consumer ring, the other reads and frees them.  Every free is of a chunk
 * from another thread's arena, the path (arena lookup, lock, no tcache of the owner) that
 * message-passing servers live on.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "workload.h"

#define RING 4096

struct message {
	uint64_t value;
	size_t length;
	unsigned char payload[];
};

static struct message *ring[RING];
static _Atomic size_t produced, consumed;
static long message_count;

static void *producer(void *unused)
{
	(void)unused;
	struct rng rng = {0x2545F4914F6CDD1DULL};
	for (long i = 0; i < message_count; i++) {
		size_t length = 16 + rng_below(&rng, 496);
		struct message *message = malloc(sizeof(*message) + length);
		if (!message)
			die_out_of_memory("producer_consumer");
		message->value = rng_next(&rng);
		message->length = length;
		memset(message->payload, (int)i, length);
		size_t slot = atomic_load_explicit(&produced, memory_order_relaxed);
		/* Yield rather than spin: two cores are shared with everything else. */
		while (slot - atomic_load_explicit(&consumed, memory_order_acquire) >= RING)
			sched_yield();
		ring[slot % RING] = message;
		atomic_store_explicit(&produced, slot + 1, memory_order_release);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double scale = workload_scale(argc, argv);
	message_count = (long)(3000000 * scale);
	pthread_t thread;
	if (pthread_create(&thread, NULL, producer, NULL) != 0)
		die_out_of_memory("producer_consumer thread");
	uint64_t checksum = 0;
	for (long i = 0; i < message_count; i++) {
		size_t slot = atomic_load_explicit(&consumed, memory_order_relaxed);
		while (atomic_load_explicit(&produced, memory_order_acquire) == slot)
			sched_yield();
		struct message *message = ring[slot % RING];
		checksum += message->value + message->payload[message->length - 1];
		free(message);
		atomic_store_explicit(&consumed, slot + 1, memory_order_release);
	}
	pthread_join(thread, NULL);
	printf("producer_consumer %ld messages checksum %llu\n", message_count,
	       (unsigned long long)checksum);
	return 0;
}
