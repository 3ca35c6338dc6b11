/*
 * Producer/consumer across threads: one thread allocates messages and passes them through a
 * single-producer single-consumer ring, the other reads and frees them.  Every free is of a chunk
 * from another thread's arena, the path (arena lookup, lock, no tcache of the owner) that
 * message-passing servers live on.
 *
 * A side that finds the ring full (or empty) sleeps until it is half empty (or half full, or the
 * last message is in) instead of spinning on sched_yield: on two cores shared with other work a
 * yield can cost a whole time slice, which made the run time swing by 10x from run to run and
 * measure the scheduler rather than the allocator.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "workload.h"

#define RING 4096
#define HALF (RING / 2)

struct message {
	uint64_t value;
	size_t length;
	unsigned char payload[];
};

static struct message *ring[RING];
static atomic_size_t produced, consumed;
static atomic_bool producer_sleeps, consumer_sleeps;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_changed = PTHREAD_COND_INITIALIZER;
static long message_count;

/* Sleep until ready() holds.  The flag and the counters are sequentially consistent, so a side
   that advances a counter either sees the flag (and wakes the sleeper) or was seen by it.  The
   waker clears the flag, so one sleep costs one wake-up, however long the sleeper takes to run. */
static void sleep_until(atomic_bool *sleeping, bool (*ready)(void))
{
	pthread_mutex_lock(&sleep_lock);
	for (;;) {
		atomic_store(sleeping, true);
		if (ready())
			break;
		pthread_cond_wait(&ring_changed, &sleep_lock);
	}
	atomic_store(sleeping, false);
	pthread_mutex_unlock(&sleep_lock);
}

static void wake(atomic_bool *sleeping)
{
	if (atomic_load(sleeping) && atomic_exchange(sleeping, false)) {
		pthread_mutex_lock(&sleep_lock);
		pthread_cond_broadcast(&ring_changed);
		pthread_mutex_unlock(&sleep_lock);
	}
}

static size_t in_ring(void) { return atomic_load(&produced) - atomic_load(&consumed); }
static bool half_empty(void) { return in_ring() <= HALF; }
static bool half_full_or_done(void)
{
	return in_ring() >= HALF || atomic_load(&produced) == (size_t)message_count;
}

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
		if (in_ring() >= RING)
			sleep_until(&producer_sleeps, half_empty);
		size_t slot = atomic_load_explicit(&produced, memory_order_relaxed);
		ring[slot % RING] = message;
		atomic_store(&produced, slot + 1);
		if (half_full_or_done())
			wake(&consumer_sleeps);
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
		if (atomic_load(&produced) == slot)
			sleep_until(&consumer_sleeps, half_full_or_done);
		struct message *message = ring[slot % RING];
		checksum += message->value + message->payload[message->length - 1];
		free(message);
		atomic_store(&consumed, slot + 1);
		if (half_empty())
			wake(&producer_sleeps);
	}
	pthread_join(thread, NULL);
	printf("producer_consumer %ld messages checksum %llu\n", message_count,
	       (unsigned long long)checksum);
	return 0;
}
