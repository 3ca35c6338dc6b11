/*
 * How many arenas a program ends up with, as malloc_info reports them, and whether an exited
 * thread's arena is handed to the next new thread.  The test runs each mode under glibc and
 * under the clone (and under arena tunables) and requires the same lines.
 *
 *   arena_count concurrent K        K threads alive at once, each having allocated
 *   arena_count waves W K           W waves of K short-lived threads
 *   arena_count mallopt-max N K     mallopt(M_ARENA_MAX, N), then K concurrent threads
 *   arena_count reuse               two threads one after the other: same heap, same offsets?
 *
 * After the threads are gone the program prints malloc_info and mallinfo2, whose per-arena and
 * total figures the test cross-checks.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAP_ALIGNMENT (64UL * 1024 * 1024)
#define MAX_THREADS 128

static char report_text[1 << 16];
static pthread_barrier_t all_allocated, may_exit;

static int count_arenas(void)
{
	FILE *out = fmemopen(report_text, sizeof report_text, "w");
	if (out == NULL) {
		perror("fmemopen");
		exit(1);
	}
	malloc_info(0, out);
	fclose(out);
	int arenas = 0;
	for (const char *at = report_text; (at = strstr(at, "<heap nr=")) != NULL; at++)
		arenas++;
	return arenas;
}

static void *allocate_and_wait(void *unused)
{
	(void)unused;
	void *block = malloc(100);
	pthread_barrier_wait(&all_allocated);
	pthread_barrier_wait(&may_exit);
	free(block);
	return NULL;
}

static void start_threads(pthread_t *ids, int count, void *(*body)(void *), void *arg)
{
	for (int i = 0; i < count; i++) {
		if (pthread_create(&ids[i], NULL, body, arg) != 0) {
			fputs("arena_count: pthread_create failed\n", stderr);
			exit(1);
		}
	}
}

/* All K threads hold their arena at the moment of counting. */
static void run_concurrent(int count)
{
	pthread_t ids[MAX_THREADS];
	pthread_barrier_init(&all_allocated, NULL, (unsigned)count + 1);
	pthread_barrier_init(&may_exit, NULL, (unsigned)count + 1);
	start_threads(ids, count, allocate_and_wait, NULL);
	pthread_barrier_wait(&all_allocated);
	printf("threads alive=%d arenas=%d\n", count, count_arenas());
	pthread_barrier_wait(&may_exit);
	for (int i = 0; i < count; i++)
		pthread_join(ids[i], NULL);
	printf("threads joined arenas=%d\n", count_arenas());
}

void *leftovers[MAX_THREADS];

/* Every thread of a wave is alive at the barrier, so wave 1 creates one arena per thread and the
   later waves must find them all on the free list instead of creating more. */
static void *allocate_wait_and_leave(void *slot_pointer)
{
	free(malloc(200));
	/* Left behind on purpose, so the arena keeps something in use after its thread is gone. */
	*(void **)slot_pointer = malloc(300);
	pthread_barrier_wait(&all_allocated);
	return NULL;
}

static void run_waves(int waves, int count)
{
	pthread_t ids[MAX_THREADS];
	for (int wave = 0; wave < waves; wave++) {
		pthread_barrier_init(&all_allocated, NULL, (unsigned)count);
		for (int i = 0; i < count; i++) {
			if (pthread_create(&ids[i], NULL, allocate_wait_and_leave, &leftovers[i]) != 0) {
				fputs("arena_count: pthread_create failed\n", stderr);
				exit(1);
			}
		}
		for (int i = 0; i < count; i++)
			pthread_join(ids[i], NULL);
		pthread_barrier_destroy(&all_allocated);
		printf("after wave %d arenas=%d\n", wave + 1, count_arenas());
	}
}

struct first_block {
	uintptr_t heap;
	uintptr_t offset;
};

static void *record_first_block(void *result_pointer)
{
	struct first_block *result = result_pointer;
	uintptr_t address = (uintptr_t)malloc(24);
	result->heap = address & ~(HEAP_ALIGNMENT - 1);
	result->offset = address - result->heap;
	return NULL;
}

/* The second thread must get the first one's arena back, and with it the same addresses. */
static void run_reuse(void)
{
	struct first_block first, second;
	pthread_t id;
	pthread_create(&id, NULL, record_first_block, &first);
	pthread_join(id, NULL);
	pthread_create(&id, NULL, record_first_block, &second);
	pthread_join(id, NULL);
	printf("first offset=%#lx second offset=%#lx same heap=%s arenas=%d\n", (unsigned long)first.offset,
	       (unsigned long)second.offset, first.heap == second.heap ? "yes" : "no", count_arenas());
}

static void print_final_report(void)
{
	FILE *out = fmemopen(report_text, sizeof report_text, "w");
	malloc_info(0, out);
	fclose(out);
	struct mallinfo2 info = mallinfo2();
	printf("%s", report_text);
	printf("mallinfo2: arena=%zu ordblks=%zu smblks=%zu hblks=%zu hblkhd=%zu fsmblks=%zu uordblks=%zu "
	       "fordblks=%zu\n",
	       info.arena, info.ordblks, info.smblks, info.hblks, info.hblkhd, info.fsmblks, info.uordblks,
	       info.fordblks);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "concurrent") == 0) {
		run_concurrent(atoi(argv[2]) % MAX_THREADS);
	} else if (argc == 4 && strcmp(argv[1], "waves") == 0) {
		run_waves(atoi(argv[2]), atoi(argv[3]) % MAX_THREADS);
	} else if (argc == 4 && strcmp(argv[1], "mallopt-max") == 0) {
		printf("mallopt(M_ARENA_MAX, %d) = %d\n", atoi(argv[2]), mallopt(M_ARENA_MAX, atoi(argv[2])));
		run_concurrent(atoi(argv[3]) % MAX_THREADS);
	} else if (argc == 2 && strcmp(argv[1], "reuse") == 0) {
		run_reuse();
	} else {
		fprintf(stderr, "usage: %s concurrent K | waves W K | mallopt-max N K | reuse\n", argv[0]);
		return 2;
	}
	print_final_report();
	return 0;
}
