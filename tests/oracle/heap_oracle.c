/*
 * A heap whose ground truth the program itself knows, for the extension's fault-injection oracle
 * (tests/oracle/).  From a seed it makes a random sequence of malloc, calloc, realloc and free in
 * the main thread and in THREADS other threads (each with its own arena once there are several),
 * keeping a table of every block it holds and every block it freed and never got back.  Then it
 * may damage the heap in one known way (MUTATION), writes what it holds, freed and damaged to
 * RECORD_FILE, and stops in oracle_stop() with every thread alive, where the harness's gdb reads
 * the heap.  The record is written with write(): stdio would allocate and move what it records.
 *
 * Two size classes are kept out of the random sequence so that the damage aimed at free lists
 * hits a list the program knows: chunks of TCACHE_TARGET_SIZE bytes only ever go to one tcache
 * bin, chunks of FASTBIN_TARGET_SIZE bytes to one tcache bin (filled) and then one fastbin.
 *
 * usage: heap_oracle RECORD_FILE SEED MUTATION THREADS
 * mutations: none zero-header size-grow size-garbage clear-prev-inuse tcache-link tcache-cycle
 *            fastbin-link mmapped-size, and busy (no damage; the threads go on allocating
 *            through the stop)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 4
#define SLOTS 96
#define OPERATIONS 600
#define MAX_FREED 4096
#define HEADER 16
#define SIZE_FIELD 8
/* Requests whose chunks land in the reserved classes: 0x3f0 and 0x50 bytes. */
#define TCACHE_TARGET_REQUEST 1000
#define FASTBIN_TARGET_REQUEST 64
#define TCACHE_TARGET_CHUNK 0x3f0
#define FASTBIN_TARGET_CHUNK 0x50
#define TCACHE_FILL 7
/* Past the 32 MiB the dynamic mmap threshold can reach on 64-bit: always an mmapped chunk. */
#define BEYOND_MMAP_THRESHOLD ((size_t)33 << 20)

struct held {
	unsigned char *pointer;
	size_t request;
};

struct thread_heap {
	uint64_t random;
	pid_t lwp;
	struct held slots[SLOTS];
	unsigned char *freed[MAX_FREED];
	int freed_count;
};

static struct thread_heap heaps[MAX_THREADS + 1];
static pthread_barrier_t recorded, released;
/* Never passed: the threads stay alive (their tcaches and arenas attached) until the exit. */
static unsigned char *tcache_target, *fastbin_target;
static char damage_line[200];

__attribute__((noinline)) void oracle_stop(void) { __asm__ volatile("" ::: "memory"); }

static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return *state = x;
}

static size_t chunk_size_of(size_t request)
{
	size_t size = (request + SIZE_FIELD + 15) & ~(size_t)15;
	return size < 32 ? 32 : size;
}

/* Mostly tcache and fastbin sizes, some small and large bin sizes, now and then an mmapped one;
   never a request of the two reserved classes. */
static size_t random_request(uint64_t *random)
{
	for (;;) {
		uint64_t r = next_random(random);
		size_t request;
		switch (r % 16) {
		case 0:
			request = 140000 + (r >> 8) % 60000;
			break;
		case 1:
		case 2:
			request = 1100 + (r >> 8) % 6000;
			break;
		default:
			request = 1 + (r >> 8) % 1100;
		}
		size_t chunk = chunk_size_of(request);
		if (chunk != TCACHE_TARGET_CHUNK && chunk != FASTBIN_TARGET_CHUNK)
			return request;
	}
}

static void forget_freed(struct thread_heap *heap, unsigned char *pointer)
{
	for (int i = 0; i < heap->freed_count; i++)
		if (heap->freed[i] == pointer)
			heap->freed[i] = heap->freed[--heap->freed_count];
}

/* Called before the block is given back.  An mmapped block's memory goes back to the kernel,
   which may map it again for any thread: it is not recorded. */
static void note_freed(struct thread_heap *heap, unsigned char *pointer)
{
	bool mmapped = ((size_t *)pointer)[-1] & 2;
	if (!mmapped && heap->freed_count < MAX_FREED)
		heap->freed[heap->freed_count++] = pointer;
}

/* A block the allocator hands out again is held, not freed.  Each thread frees only its own
   blocks, into its own arena and tcache, so only its own table can name it. */
static void now_held(struct thread_heap *heap, unsigned char *pointer) { forget_freed(heap, pointer); }

static void random_operation(struct thread_heap *heap)
{
	uint64_t r = next_random(&heap->random);
	struct held *slot = &heap->slots[r % SLOTS];
	if (slot->pointer != NULL && (r >> 32) % 5 == 0) {
		size_t request = random_request(&heap->random);
		bool was_mmapped = ((size_t *)slot->pointer)[-1] & 2;
		unsigned char *moved = realloc(slot->pointer, request);
		if (moved == NULL)
			abort();
		if (moved != slot->pointer && !was_mmapped && heap->freed_count < MAX_FREED)
			heap->freed[heap->freed_count++] = slot->pointer;
		now_held(heap, moved);
		*slot = (struct held){moved, request};
	} else if (slot->pointer != NULL) {
		note_freed(heap, slot->pointer);
		free(slot->pointer);
		slot->pointer = NULL;
	} else {
		size_t request = random_request(&heap->random);
		unsigned char *block = (r >> 32) % 7 == 0 ? calloc(1, request) : malloc(request);
		if (block == NULL)
			abort();
		memset(block, 0x5a, request);
		now_held(heap, block);
		*slot = (struct held){block, request};
	}
}

/* With the mutation "busy" the threads go on allocating after the record, so the stop catches
   them anywhere, inside malloc and free too; only the main thread's blocks are recorded. */
static bool keep_churning;

static void *thread_main(void *argument)
{
	struct thread_heap *heap = argument;
	heap->lwp = gettid();
	for (int i = 0; i < OPERATIONS; i++)
		random_operation(heap);
	pthread_barrier_wait(&recorded);
	while (keep_churning)
		random_operation(heap);
	pthread_barrier_wait(&released);
	return NULL;
}

/* The reserved classes: one block in a tcache bin of its own, and two blocks in a fastbin
   behind a full tcache bin.  Each freed block stays apart from its neighbours (a held guard
   between them), so none merges. */
static void stage_free_list_targets(struct thread_heap *heap)
{
	unsigned char *tcache_blocks[2], *fast_blocks[TCACHE_FILL + 2];
	for (int i = 0; i < 2; i++)
		now_held(heap, tcache_blocks[i] = malloc(TCACHE_TARGET_REQUEST));
	for (int i = 0; i < TCACHE_FILL + 2; i++)
		now_held(heap, fast_blocks[i] = malloc(FASTBIN_TARGET_REQUEST));
	note_freed(heap, tcache_blocks[0]);
	free(tcache_blocks[0]);
	tcache_target = tcache_blocks[0];
	heap->slots[SLOTS - 1] = (struct held){tcache_blocks[1], TCACHE_TARGET_REQUEST};
	for (int i = 0; i < TCACHE_FILL + 2; i++) {
		note_freed(heap, fast_blocks[i]);
		free(fast_blocks[i]);
	}
	fastbin_target = fast_blocks[TCACHE_FILL + 1];
}

static struct held *random_held(uint64_t *random, int threads)
{
	for (;;) {
		struct thread_heap *heap = &heaps[next_random(random) % (unsigned)(threads + 1)];
		struct held *slot = &heap->slots[next_random(random) % SLOTS];
		if (slot->pointer != NULL && chunk_size_of(slot->request) < 128 * 1024)
			return slot;
	}
}

static size_t *size_field(unsigned char *user) { return (size_t *)(user - SIZE_FIELD); }

static bool is_mmapped(unsigned char *user) { return *size_field(user) & 2; }

/* A held mmapped block (the main thread's, one is allocated when it holds none: above the
   largest mmap threshold, since freeing mmapped blocks raises it), and the held mmapped block
   whose mapping starts right where its own ends, if any. */
static struct held *mmapped_victim(struct held **neighbour)
{
	struct held *victim = NULL;
	*neighbour = NULL;
	for (int i = 0; i < SLOTS && victim == NULL; i++)
		if (heaps[0].slots[i].pointer != NULL && is_mmapped(heaps[0].slots[i].pointer))
			victim = &heaps[0].slots[i];
	for (int i = 0; i < SLOTS && victim == NULL; i++)
		if (heaps[0].slots[i].pointer == NULL) {
			heaps[0].slots[i].request = BEYOND_MMAP_THRESHOLD;
			heaps[0].slots[i].pointer = malloc(BEYOND_MMAP_THRESHOLD);
			victim = &heaps[0].slots[i];
		}
	if (victim == NULL)
		return NULL;
	unsigned char *end = victim->pointer - HEADER + (*size_field(victim->pointer) & ~(size_t)7);
	for (int t = 0; t <= MAX_THREADS; t++)
		for (int i = 0; i < SLOTS; i++) {
			unsigned char *other = heaps[t].slots[i].pointer;
			if (other != NULL && other - HEADER == end && is_mmapped(other))
				*neighbour = &heaps[t].slots[i];
		}
	return victim;
}

/* The chunk's size before the damage says where the next chunk really is. */
static void damage(const char *kind, unsigned char *user, size_t true_size, const char *what)
{
	snprintf(damage_line, sizeof damage_line, "damage %s %#lx %#zx %s\n", kind,
	         (unsigned long)(user - HEADER), true_size, what);
}

static size_t true_size_of(unsigned char *user) { return *size_field(user) & ~(size_t)7; }

/* Returns 0 for a known mutation.  Each writes damage_line: the kind, the header of the chunk
   damaged, its size before the damage and what was done. */
static int mutate(const char *kind, uint64_t *random, int threads)
{
	if (strcmp(kind, "none") == 0 || strcmp(kind, "busy") == 0)
		return 0;
	if (strcmp(kind, "tcache-link") == 0) {
		*(uint64_t *)tcache_target = 0x4141414141414140ULL;
		damage(kind, tcache_target, true_size_of(tcache_target), "next link overwritten");
		return 0;
	}
	if (strcmp(kind, "tcache-cycle") == 0) {
		/* Safe-linking stores next ^ (its own address >> 12); a plain pointer list (2.31) does
		   not.  The pointer is written both ways so the list points back to its own entry
		   under either rule: the harness tells which holds from the allocator. */
		uintptr_t self = (uintptr_t)tcache_target;
		*(uintptr_t *)tcache_target = getenv("ORACLE_PLAIN_LINKS") ? self : self ^ (self >> 12);
		damage(kind, tcache_target, true_size_of(tcache_target), "next link points to itself");
		return 0;
	}
	if (strcmp(kind, "fastbin-link") == 0) {
		*(uint64_t *)fastbin_target = 0x4141414141414140ULL;
		damage(kind, fastbin_target, true_size_of(fastbin_target), "fd overwritten");
		return 0;
	}
	if (strcmp(kind, "mmapped-size") == 0) {
		/* Grown by a page over the mapping that follows, where one does; else a size that is
		   no multiple of the page.  Either hides a chunk from a scan of the mappings. */
		struct held *neighbour, *victim = mmapped_victim(&neighbour);
		if (victim == NULL)
			return -1;
		size_t true_size = true_size_of(victim->pointer);
		*size_field(victim->pointer) += neighbour != NULL ? 4096 : 16 * (1 + next_random(random) % 8);
		damage(kind, victim->pointer, true_size,
		       neighbour != NULL ? "size grown over the next mapping"
		                         : "size no multiple of the page");
		return 0;
	}
	struct held *victim = random_held(random, threads);
	size_t *size = size_field(victim->pointer);
	size_t true_size = true_size_of(victim->pointer);
	if (strcmp(kind, "zero-header") == 0) {
		size[-1] = 0;
		size[0] = 0;
		damage(kind, victim->pointer, true_size, "prev_size and size zeroed");
	} else if (strcmp(kind, "size-grow") == 0) {
		size[0] += 16 * (1 + next_random(random) % 8);
		damage(kind, victim->pointer, true_size, "size grown over its neighbour");
	} else if (strcmp(kind, "size-garbage") == 0) {
		size[0] = (next_random(random) | 1) & ~(size_t)6;
		damage(kind, victim->pointer, true_size, "size replaced by garbage");
	} else if (strcmp(kind, "clear-prev-inuse") == 0) {
		/* The flag lives in the next chunk's size: it says this in-use chunk is free. */
		size_t *next_size = size_field(victim->pointer + (size[0] & ~(size_t)7));
		*next_size &= ~(size_t)1;
		damage(kind, victim->pointer, true_size, "next chunk's PREV_INUSE cleared");
	} else {
		return -1;
	}
	return 0;
}

static void write_text(int fd, const char *text) { (void)!write(fd, text, strlen(text)); }

static void write_record(const char *path, int threads)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror("heap_oracle: record");
		exit(1);
	}
	char line[200];
	for (int t = 0; t <= threads; t++) {
		snprintf(line, sizeof line, "thread %d\n", heaps[t].lwp);
		write_text(fd, line);
		if (t > 0 && keep_churning)
			continue;
		for (int i = 0; i < SLOTS; i++)
			if (heaps[t].slots[i].pointer != NULL) {
				snprintf(line, sizeof line, "held %#lx %zu %d\n",
				         (unsigned long)heaps[t].slots[i].pointer, heaps[t].slots[i].request,
				         heaps[t].lwp);
				write_text(fd, line);
			}
		for (int i = 0; i < heaps[t].freed_count; i++) {
			snprintf(line, sizeof line, "freed %#lx %d\n", (unsigned long)heaps[t].freed[i],
			         heaps[t].lwp);
			write_text(fd, line);
		}
	}
	write_text(fd, damage_line);
	write_text(fd, "end\n");
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fputs("usage: heap_oracle RECORD_FILE SEED MUTATION THREADS\n", stderr);
		return 2;
	}
	uint64_t seed = strtoull(argv[2], NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
	int threads = atoi(argv[4]);
	if (threads < 0 || threads > MAX_THREADS)
		threads = 0;
	pthread_barrier_init(&recorded, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&released, NULL, (unsigned)threads + 1);
	pthread_t ids[MAX_THREADS];
	for (int t = 1; t <= threads; t++) {
		heaps[t].random = seed + (uint64_t)t * 0x2545f4914f6cdd1dULL;
		pthread_create(&ids[t - 1], NULL, thread_main, &heaps[t]);
	}
	keep_churning = strcmp(argv[3], "busy") == 0;
	heaps[0].random = seed;
	heaps[0].lwp = gettid();
	for (int i = 0; i < OPERATIONS; i++)
		random_operation(&heaps[0]);
	stage_free_list_targets(&heaps[0]);
	pthread_barrier_wait(&recorded);

	snprintf(damage_line, sizeof damage_line, "damage none\n");
	if (mutate(argv[3], &heaps[0].random, threads) != 0) {
		fprintf(stderr, "heap_oracle: unknown mutation %s\n", argv[3]);
		return 2;
	}
	write_record(argv[1], threads);
	oracle_stop();
	/* A damaged heap is not touched again: the program leaves without freeing anything, and
	   without waking the threads, whose exit would empty their tcaches into it. */
	_exit(0);
}
