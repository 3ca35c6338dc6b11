/*
 * Producer/consumer across threads: one thread allocates messages and hands them over in batches
 * of BATCH, the other reads and frees them.  Every free is of a chunk from another thread's arena,
 * the path (arena lookup, lock, no tcache of the owner) that message-passing servers live on.
 *
 * The two threads take turns: the producer fills a batch while the consumer waits, then the
 * consumer empties it while the producer waits.  Letting them overlap measured the scheduler
 * more than the allocator on two shared cores: depending on timing the pair either ran in
 * lockstep or fought over the producer's arena lock, and the run time moved between the two by
 * a factor of three (spinning on sched_yield instead, by a factor of ten).  Taking turns keeps
 * every cross-thread free and costs two wake-ups a batch.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "workload.h"

#define BATCH 4096

struct message {
	uint64_t value;
	size_t length;
	unsigned char payload[];
};

static struct message *batch[BATCH];
static size_t batch_length;
static bool batch_full; /* whose turn: the consumer's when true */
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long message_count;

static void wait_for_turn(bool consumer)
{
	pthread_mutex_lock(&turn_lock);
	while (batch_full != consumer)
		pthread_cond_wait(&turn_changed, &turn_lock);
	pthread_mutex_unlock(&turn_lock);
}

static void pass_turn(bool to_consumer)
{
	pthread_mutex_lock(&turn_lock);
	batch_full = to_consumer;
	pthread_cond_signal(&turn_changed);
	pthread_mutex_unlock(&turn_lock);
}

static void *producer(void *unused)
{
	(void)unused;
	struct rng rng = {0x2545F4914F6CDD1DULL};
	for (long done = 0; done < message_count;) {
		wait_for_turn(false);
		size_t count = 0;
		for (; count < BATCH && done < message_count; count++, done++) {
			size_t length = 16 + rng_below(&rng, 496);
			struct message *message = malloc(sizeof(*message) + length);
			if (!message)
				die_out_of_memory("producer_consumer");
			message->value = rng_next(&rng);
			message->length = length;
			memset(message->payload, (int)done, length);
			batch[count] = message;
		}
		batch_length = count;
		pass_turn(true);
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
	for (long done = 0; done < message_count;) {
		wait_for_turn(true);
		for (size_t i = 0; i < batch_length; i++, done++) {
			struct message *message = batch[i];
			checksum += message->value + message->payload[message->length - 1];
			free(message);
		}
		pass_turn(false);
	}
	pthread_join(thread, NULL);
	printf("producer_consumer %ld messages checksum %llu\n", message_count, (unsigned long long)checksum);
	return 0;
}
