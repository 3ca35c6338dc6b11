/* Address space exhausted with RLIMIT_AS: every entry point must return NULL (or ENOMEM) without
 * crashing, a thread that cannot get an arena must still be served, the blocks already handed out
 * must stay intact, and once the limit is lifted the same heap must serve and free again.
 *
 * Only facts that do not depend on how much address space happens to be left are printed, so a
 * plain run on glibc 2.36 is the expectation for a run with the clone preloaded.  Exit status 0
 * means every content check held; a broken block is reported and exits 1. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "malloc_provider.h"

#define BUDGET_BYTES (48u << 20)
#define SMALL_BLOCK 1000
#define LARGE_BLOCK (256u << 10)
#define CHUNK_IS_MMAPPED 0x2
#define CHUNK_NON_MAIN_ARENA 0x4

/* Blocks chain through their own first bytes, so tracking them costs no extra allocation. */
struct block {
	struct block *next;
	size_t length;
	unsigned char fill;
	unsigned char payload[];
};

static int failures;

static struct block *push_block(struct block *list, struct block *fresh, size_t length)
{
	fresh->next = list;
	fresh->length = length;
	fresh->fill = (unsigned char)((uintptr_t)fresh >> 4);
	memset(fresh->payload, fresh->fill, length - sizeof *fresh);
	return fresh;
}

/* Frees (or just checks) a list; a block whose pattern changed means the allocator wrote into
 * memory it had handed out. */
static size_t check_blocks(struct block *list, int release)
{
	size_t count = 0;
	while (list != NULL) {
		struct block *next = list->next;
		for (size_t i = 0; i < list->length - sizeof *list; i++) {
			if (list->payload[i] != list->fill) {
				printf("CORRUPTED block %p at byte %zu\n", (void *)list, i);
				failures++;
				break;
			}
		}
		if (release)
			free(list);
		list = next;
		count++;
	}
	return count;
}

static struct block *fill_until_null(size_t length, int *error_out, size_t *count_out)
{
	struct block *list = NULL;
	size_t count = 0;
	for (;;) {
		errno = 0;
		struct block *fresh = malloc(length);
		if (fresh == NULL) {
			*error_out = errno;
			break;
		}
		list = push_block(list, fresh, length);
		count++;
	}
	*count_out = count;
	return list;
}

static const char *error_name(int error) { return error ? strerrorname_np(error) : "0"; }

static unsigned long chunk_flags(void *user_pointer) { return ((unsigned long *)user_pointer)[-1] & 0x7; }

static void *thread_allocates(void *unused)
{
	(void)unused;
	errno = 0;
	unsigned char *block = malloc(100);
	int error = errno;
	if (block == NULL) {
		printf("thread malloc(100): NULL errno=%s\n", error_name(error));
		return NULL;
	}
	memset(block, 0x77, 100);
	unsigned long flags = chunk_flags(block);
	printf("thread malloc(100): ok mmapped=%d non_main_arena=%d\n", (int)!!(flags & CHUNK_IS_MMAPPED),
	       (int)!!(flags & CHUNK_NON_MAIN_ARENA));
	free(block);
	return NULL;
}

static void run_thread(const char *when)
{
	pthread_attr_t attributes;
	pthread_t thread;
	pthread_attr_init(&attributes);
	pthread_attr_setstacksize(&attributes, 256u << 10);
	printf("%s: ", when);
	fflush(stdout);
	int code = pthread_create(&thread, &attributes, thread_allocates, NULL);
	if (code != 0)
		printf("pthread_create failed: %s\n", error_name(code));
	else
		pthread_join(thread, NULL);
	pthread_attr_destroy(&attributes);
}

/* While nothing is left, each entry point must fail cleanly and leave its inputs alone. */
static void probe_exhausted(struct block *victim)
{
	size_t big = 32u << 20;
	void *result;
	errno = 0;
	result = malloc(big);
	printf("exhausted malloc(32M): %s errno=%s\n", result ? "ok" : "NULL", error_name(errno));
	free(result);
	errno = 0;
	result = calloc(1, big);
	printf("exhausted calloc(1, 32M): %s errno=%s\n", result ? "ok" : "NULL", error_name(errno));
	free(result);
	errno = 0;
	result = memalign(4096, big);
	printf("exhausted memalign(4096, 32M): %s errno=%s\n", result ? "ok" : "NULL", error_name(errno));
	free(result);
	errno = 0;
	result = NULL;
	int code = posix_memalign(&result, 64, big);
	printf("exhausted posix_memalign(64, 32M): %s\n", error_name(code));
	free(result);
	errno = 0;
	result = valloc(big);
	printf("exhausted valloc(32M): %s errno=%s\n", result ? "ok" : "NULL", error_name(errno));
	free(result);
	errno = 0;
	result = realloc(victim, big);
	printf("exhausted realloc(small, 32M): %s errno=%s\n", result ? "ok" : "NULL", error_name(errno));
	if (result != NULL)
		failures++;
}

int main(void)
{
	report_malloc_provider();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("exhaust: start\n");

	struct rlimit original;
	getrlimit(RLIMIT_AS, &original);
	unsigned long pages_now = 0;
	FILE *statm = fopen("/proc/self/statm", "r");
	if (statm == NULL || fscanf(statm, "%lu", &pages_now) != 1) {
		printf("cannot read /proc/self/statm\n");
		return 2;
	}
	fclose(statm);
	struct rlimit budget = {pages_now * (unsigned long)sysconf(_SC_PAGESIZE) + BUDGET_BYTES,
	                        original.rlim_max};
	if (setrlimit(RLIMIT_AS, &budget) != 0) {
		printf("cannot set RLIMIT_AS\n");
		return 2;
	}

	int error = 0;
	size_t large_count = 0, small_count = 0;
	struct block *large = fill_until_null(LARGE_BLOCK, &error, &large_count);
	printf("large blocks until NULL: some=%d errno=%s\n", (int)(large_count > 0), error_name(error));
	struct block *small = fill_until_null(SMALL_BLOCK, &error, &small_count);
	printf("small blocks until NULL: errno=%s\n", error_name(error));
	if (small == NULL)
		small = push_block(NULL, malloc(SMALL_BLOCK), SMALL_BLOCK);
	errno = 0;
	void *tiny = malloc(1);
	int tiny_error = errno;
	if (tiny == NULL)
		printf("exhausted malloc(1): NULL errno=%s\n", error_name(tiny_error));
	else
		free(tiny);

	probe_exhausted(small);

	/* Give back the mappings but keep the limit: a thread now finds room for a mapping but not
	 * for a 64 MiB arena heap. */
	check_blocks(large, 1);
	run_thread("limited thread");

	if (setrlimit(RLIMIT_AS, &original) != 0) {
		printf("cannot restore RLIMIT_AS\n");
		return 2;
	}
	printf("limit lifted\n");
	check_blocks(small, 0);

	void *huge = malloc(64u << 20);
	printf("after: malloc(64M) %s\n", huge ? "ok" : "NULL");
	if (huge)
		memset(huge, 1, 64u << 20);
	free(huge);
	size_t more_count = 0;
	struct block *more = NULL;
	for (size_t i = 0; i < 20000; i++) {
		struct block *fresh = malloc(32 + (i * 37) % 3000);
		if (fresh == NULL) {
			printf("after: malloc failed at %zu\n", i);
			failures++;
			break;
		}
		more = push_block(more, fresh, 32 + (i * 37) % 3000);
		more_count++;
	}
	printf("after: 20000 mixed blocks %s\n", more_count == 20000 ? "ok" : "FAILED");
	run_thread("unlimited thread");

	check_blocks(more, 1);
	check_blocks(small, 1);
	malloc_trim(0);
	struct mallinfo2 totals = mallinfo2();
	/* The statistics walk every bin and top of every arena: they must still add up after the heap
	 * went through failed growths and fallback mappings. */
	printf("after free: arena==used+free %d, fast<=free %d, no mappings left %d\n",
	       (int)(totals.arena == totals.uordblks + totals.fordblks),
	       (int)(totals.fsmblks <= totals.fordblks), (int)(totals.hblkhd == 0));
	printf("exhaust: %s\n", failures ? "FAILED" : "done");
	return failures ? 1 : 0;
}
