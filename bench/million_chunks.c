/*
 * The heap the extension benchmark inspects: TOTAL chunks (argv[1], default 1,000,000) spread
 * over the main arena and three thread arenas, with every kind of bin populated in each arena
 * (tcache, fastbins, unsorted, small and large bins) plus a few mmapped chunks.
 *
 * Frees are chosen so that no two freed non-fast chunks are neighbours: nothing coalesces, so
 * the chunk count stays what was asked for.  When the heap is built the program prints "ready
 * PID" and sleeps until killed, for gdb to attach to (and gcore) as often as it likes.
 *
 * argv[2] is MiB of main heap to hold before the main arena's chunks; with argv[3], a file, the
 * program records there every chunk it made, freed or not, as pairs of native 64-bit words:
 * the pointer malloc returned and the chunk size it asked for (bench/recorded_chunks.py
 * compares them with a listing).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define THREADS 3
#define ARENAS (THREADS + 1)
#define MMAPPED 4
#define PADDING_CHUNK ((size_t)256 << 20)

static sem_t arena_built;
static long chunks_per_arena;
static int record_fd = -1; /* where each arena's chunks are recorded, or -1 */

/* Chunk size for position i: mostly fast-sized, every 8th small-bin sized, every 64th large. */
static size_t chunk_size_for(long i)
{
	if (i % 64 == 63)
		return 0x440 + (size_t)((i / 64) % 8) * 0x100;
	if (i % 8 == 7)
		return 0x90 + (size_t)((i / 8) % 16) * 0x30;
	return 0x20 + (size_t)(i % 4) * 0x10;
}

static int is_binned_size(long i) { return i % 8 == 7; }

/* A request of size - 8 gives a chunk of exactly `size` (the next prev_size is borrowed). */
static void *allocate_chunk(size_t size)
{
	void *pointer = malloc(size - 8);
	if (!pointer) {
		fprintf(stderr, "million_chunks: out of memory\n");
		exit(2);
	}
	return pointer;
}

/* The pointer table lives outside the heap so it adds no chunk of its own. */
static void **pointer_table(long count)
{
	void *table = mmap(NULL, (size_t)count * sizeof(void *), PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (table == MAP_FAILED) {
		perror("million_chunks: mmap");
		exit(2);
	}
	return table;
}

/* Each chunk of the table as (pointer, chunk size) to record_fd, with write() alone: stdio would
 * allocate, and the arenas are built one at a time, so the records never interleave. */
static void record_chunks(void **chunks, long count)
{
	if (record_fd < 0)
		return;
	uint64_t pair[2 * 512];
	for (long i = 0; i < count;) {
		size_t used = 0;
		for (; i < count && used < sizeof(pair) / sizeof(pair[0]); i++) {
			pair[used++] = (uint64_t)(uintptr_t)chunks[i];
			pair[used++] = chunk_size_for(i);
		}
		if (write(record_fd, pair, used * sizeof(pair[0])) != (ssize_t)(used * sizeof(pair[0]))) {
			perror("million_chunks: record");
			exit(2);
		}
	}
}

static void build_arena(void)
{
	long count = chunks_per_arena;
	void **chunks = pointer_table(count);
	for (long i = 0; i < count; i++)
		chunks[i] = allocate_chunk(chunk_size_for(i));
	/* Half the small-bin and large sizes go to the unsorted bin (after 7 per size in the
	   tcache); a large request then sorts them all into the small and large bins. */
	/* The last chunk borders top and would merge into it: it stays in use. */
	for (long i = 0; i < count - 1; i++)
		if ((is_binned_size(i) && (i / 8) % 2 == 0) || (i % 64 == 63 && (i / 64) % 2 == 0))
			free(chunks[i]);
	/* glibc sorts at most 10,000 unsorted chunks per malloc call, hence the loop. */
	for (long sorted = 0; sorted <= count / 8 / 2 + 10000; sorted += 10000)
		free(allocate_chunk(0x10000));
	/* A third of the fast-sized chunks (every size): 7 per size into the tcache, the rest
	   into fastbins.  No large request follows, so nothing consolidates them. */
	for (long i = 0; i < count; i++)
		if (!is_binned_size(i) && i % 64 != 63 && i % 3 == 0)
			free(chunks[i]);
	/* A few large chunks last: too big for the tcache, they stay in the unsorted bin. */
	for (long i = 64 + 63, freed = 0; i < count && freed < 16; i += 128, freed++)
		free(chunks[i]);
	record_chunks(chunks, count);
	munmap(chunks, (size_t)count * sizeof(void *));
}

static void *thread_main(void *unused)
{
	(void)unused;
	build_arena();
	sem_post(&arena_built);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 1000000;
	long padding_mib = argc > 2 ? atol(argv[2]) : 0;
	if (total < ARENAS * 1024) {
		fprintf(stderr, "million_chunks: at least %d chunks\n", ARENAS * 1024);
		return 2;
	}
	if (argc > 3) {
		record_fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (record_fd < 0) {
			perror(argv[3]);
			return 2;
		}
	}
	chunks_per_arena = total / ARENAS;
	sem_init(&arena_built, 0, 0);
	/* One thread at a time, so each builds its own arena without contention deciding. */
	for (int t = 0; t < THREADS; t++) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, thread_main, NULL) != 0) {
			perror("million_chunks: pthread_create");
			return 2;
		}
		sem_wait(&arena_built);
	}
	/* mmapped first: a large request would consolidate the main arena's fastbins. */
	for (int m = 0; m < MMAPPED; m++)
		allocate_chunk((size_t)(256 << 10) << m);
	/* The padding after the mmapped chunks (which M_MMAP_MAX 0 would refuse), with mmap
	   turned back on to glibc's default number of mappings afterwards. */
	if (padding_mib > 0) {
		mallopt(M_MMAP_MAX, 0);
		for (long held = 0; held < padding_mib; held += (long)(PADDING_CHUNK >> 20))
			allocate_chunk(PADDING_CHUNK);
		mallopt(M_MMAP_MAX, 65536);
	}
	build_arena();
	/* write(), not stdio: printf's buffer would be one more malloc after the heap is built. */
	char line[32];
	int length = snprintf(line, sizeof(line), "ready %d\n", (int)getpid());
	if (write(STDOUT_FILENO, line, (size_t)length) != length)
		return 2;
	for (;;)
		pause();
}
