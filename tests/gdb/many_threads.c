/* 64 threads, each with a small allocation of its own, all waiting at a barrier while the main
   thread calls checkpoint(): `heap` must still fit one screen. */
#include <pthread.h>
#include <stdlib.h>

#define THREADS 64

static pthread_barrier_t started, release;

__attribute__((noinline)) void checkpoint(void) { __asm__ volatile(""); }

static void *worker(void *unused)
{
	(void)unused;
	void *block = malloc(48);
	pthread_barrier_wait(&started);
	pthread_barrier_wait(&release);
	free(block);
	return NULL;
}

int main(void)
{
	pthread_t threads[THREADS];
	pthread_barrier_init(&started, NULL, THREADS + 1);
	pthread_barrier_init(&release, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&threads[i], NULL, worker, NULL);
	pthread_barrier_wait(&started);
	checkpoint();
	pthread_barrier_wait(&release);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
