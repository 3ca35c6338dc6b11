/*
 * Builds one deterministic heap state (named by argv[1]) and reports it through every statistics
 * entry point: malloc_info and the mallinfo2/mallinfo fields on stdout, malloc_stats on stderr.
 * The test runs it plain and with the clone preloaded and compares the two reports byte for byte.
 *
 * stdout gets a static buffer before anything else happens, so stdio never allocates and both runs
 * see exactly the allocations the scenario makes (plus whatever pthread_create makes, in both).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS 4096

static char stdout_buffer[1 << 20];
static void *blocks[MAX_BLOCKS];

static void report(const char *label)
{
	printf("== %s\n", label);
	malloc_info(0, stdout);
#if __GLIBC_PREREQ(2, 33) /* built against 2.31 too (tests/versions/test_stats_2_31.py) */
	struct mallinfo2 wide = mallinfo2();
	printf("mallinfo2: arena=%zu ordblks=%zu smblks=%zu hblks=%zu hblkhd=%zu usmblks=%zu fsmblks=%zu "
	       "uordblks=%zu fordblks=%zu keepcost=%zu\n",
	       wide.arena, wide.ordblks, wide.smblks, wide.hblks, wide.hblkhd, wide.usmblks, wide.fsmblks,
	       wide.uordblks, wide.fordblks, wide.keepcost);
#endif
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	struct mallinfo narrow = mallinfo();
#pragma GCC diagnostic pop
	printf("mallinfo: arena=%d ordblks=%d smblks=%d hblks=%d hblkhd=%d usmblks=%d fsmblks=%d uordblks=%d "
	       "fordblks=%d keepcost=%d\n",
	       narrow.arena, narrow.ordblks, narrow.smblks, narrow.hblks, narrow.hblkhd, narrow.usmblks,
	       narrow.fsmblks, narrow.uordblks, narrow.fordblks, narrow.keepcost);
	fprintf(stderr, "== %s\n", label);
	malloc_stats();
}

/* Nothing allocated yet: both libraries must initialise themselves and report an empty heap. */
static void scenario_fresh(void) { report("fresh"); }

/* Seven of each small size fill the tcache; the next ones land in fastbins, kept from top by a
   guard block. */
static void scenario_fastbins(void)
{
	int n = 0;
	for (size_t size = 8; size <= 120; size += 16)
		for (int i = 0; i < 12; i++)
			blocks[n++] = malloc(size);
	void *guard = malloc(24);
	for (int i = 0; i < n; i++)
		free(blocks[i]);
	report("fastbins");
	free(guard);
	report("fastbins-guard-freed");
}

/* Freed chunks too big for fastbins and with a full tcache go to the unsorted bin, then a large
   request sorts them into their small bins. */
static void scenario_bins(void)
{
	int n = 0;
	for (size_t size = 200; size <= 900; size += 100) {
		for (int i = 0; i < 9; i++) {
			blocks[n++] = malloc(size);
			blocks[n++] = malloc(16); /* separator, so neighbours never merge */
		}
	}
	for (int i = 0; i < n; i += 2)
		free(blocks[i]);
	report("unsorted");
	void *large = malloc(5000);
	report("smallbins");
	free(large);
	report("large-freed");
}

/* Large chunks of several sizes, some equal, sorted into large bins by a bigger request. */
static void scenario_largebins(void)
{
	static const size_t sizes[] = {1100, 1500,  1500,  2000,  3200,   3600, 9000,
	                               9000, 12000, 40000, 70000, 100000, 1100, 2600};
	int n = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		blocks[n++] = malloc(sizes[i]);
		blocks[n++] = malloc(40);
	}
	for (int i = 0; i < n; i += 2)
		free(blocks[i]);
	report("large-unsorted");
	void *bigger = malloc(120000);
	report("largebins");
	void *fit = malloc(1490);
	void *split = malloc(8000);
	report("largebins-taken");
	free(fit);
	free(split);
	free(bigger);
	report("largebins-returned");
}

/* Mapped chunks, and the sliding threshold that freeing one moves. */
static void scenario_mmapped(void)
{
	void *a = malloc(200000);
	void *b = malloc(500000);
	void *c = malloc(3000000);
	report("mmapped");
	free(a);
	void *d = malloc(200000); /* now below the raised threshold: from the heap */
	report("mmapped-threshold-moved");
	free(b);
	free(c);
	free(d);
	report("mmapped-freed");
}

/* A heap grown well past the trim threshold, freed, and given back by malloc_trim. */
static void scenario_trim(void)
{
	int n = 0;
	for (int i = 0; i < 300; i++)
		blocks[n++] = malloc(1000 + (size_t)i * 10);
	void *keep = malloc(100);
	for (int i = 0; i < n; i += 2)
		free(blocks[i]);
	report("before-trim");
	printf("malloc_trim(0) = %d\n", malloc_trim(0));
	report("after-trim");
	for (int i = 1; i < n; i += 2)
		free(blocks[i]);
	printf("malloc_trim(4096) = %d\n", malloc_trim(4096));
	report("after-second-trim");
	free(keep);
	report("all-freed");
}

/* mallopt changes what lands where: no fastbins at all, a perturbed heap, no top pad. */
static void scenario_mallopt(void)
{
	printf("M_MXFAST 0 -> %d\n", mallopt(M_MXFAST, 0));
	printf("M_TOP_PAD 0 -> %d\n", mallopt(M_TOP_PAD, 0));
	printf("M_PERTURB 0x5a -> %d\n", mallopt(M_PERTURB, 0x5a));
	int n = 0;
	for (int i = 0; i < 40; i++) {
		blocks[n++] = malloc(24 + (size_t)i * 8);
		blocks[n++] = malloc(24);
	}
	for (int i = 0; i < n; i += 2)
		free(blocks[i]);
	report("mallopt-no-fastbins");
	printf("M_MXFAST 160 -> %d\n", mallopt(M_MXFAST, 160));
	printf("M_MXFAST 161 -> %d\n", mallopt(M_MXFAST, 161));
	for (int i = 0; i < 30; i++)
		free(malloc(150));
	report("mallopt-mxfast-160");
}

/* A long pseudo-random but fixed sequence: whatever the bins end up holding, both libraries must
   report it the same way. */
static void scenario_random(void)
{
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	int live = 0;
	for (int step = 0; step < 20000; step++) {
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned r = (unsigned)(state >> 33);
		int slot = (int)(r % 512);
		if (blocks[slot] != NULL) {
			free(blocks[slot]);
			blocks[slot] = NULL;
			live--;
		} else {
			size_t size = (r >> 9) % 8 == 0 ? (r >> 12) % 70000 : (r >> 12) % 1200;
			blocks[slot] = malloc(size);
			live++;
		}
	}
	printf("live blocks: %d\n", live);
	report("random");
}

static void *checked_sample_thread(void *unused)
{
	(void)unused;
	void *p[4];
	for (int i = 0; i < 4; i++)
		p[i] = malloc(100);
	free(p[1]);
	void *q = malloc(3000);
	malloc(50);
	free(q);
	return NULL;
}

/* The sample of the fact sheet: everything is allocated first and freed afterwards, then one
   short-lived thread leaves a second arena behind. */
static void scenario_checked_sample(void)
{
	void *small[10], *medium[10];
	for (int i = 0; i < 10; i++)
		small[i] = malloc(40);
	for (int i = 0; i < 10; i++) {
		medium[i] = malloc(200);
		malloc(16);
	}
	void *big1 = malloc(5000);
	malloc(16);
	void *big2 = malloc(6000);
	malloc(16);
	for (int i = 0; i < 10; i++)
		free(small[i]);
	for (int i = 0; i < 10; i++)
		free(medium[i]);
	free(big1);
	free(big2);
	malloc(7000);
	malloc(300000);
	pthread_t thread;
	if (pthread_create(&thread, NULL, checked_sample_thread, NULL) != 0 ||
	    pthread_join(thread, NULL) != 0) {
		fputs("pthread failed\n", stderr);
		exit(2);
	}
	report("checked-sample");
}

static const struct {
	const char *name;
	void (*run)(void);
} scenarios[] = {
    {"fresh", scenario_fresh},
    {"fastbins", scenario_fastbins},
    {"bins", scenario_bins},
    {"largebins", scenario_largebins},
    {"mmapped", scenario_mmapped},
    {"trim", scenario_trim},
    {"mallopt", scenario_mallopt},
    {"random", scenario_random},
    {"checked-sample", scenario_checked_sample},
};

int main(int argc, char **argv)
{
	setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
			printf("%s\n", scenarios[i].name);
		return 0;
	}
	for (size_t i = 0; argc == 2 && i < sizeof scenarios / sizeof scenarios[0]; i++) {
		if (strcmp(argv[1], scenarios[i].name) == 0) {
			scenarios[i].run();
			return 0;
		}
	}
	fprintf(stderr, "usage: %s --list | SCENARIO\n", argv[0]);
	return 2;
}
