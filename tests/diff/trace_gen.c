/*
 * Writes a pseudo-random allocation trace for replay.c, fully determined by its seed.
 *
 * The mix is skewed so that one trace reaches every part of ptmalloc2: phases favour one size so
 * tcache bins fill and the overflow lands in fastbins and small bins; the live set swells and
 * drains so frees in random order make neighbours coalesce and large bins sort; rare requests of
 * hundreds of KiB to a few MiB go to mmap and move the dynamic threshold; a few impossible sizes
 * and alignments check the error paths.
 *
 * usage: trace_gen SEED OPERATIONS [--mallopt PARAM=VALUE]... [--no-mallopt] [--stats] [--mmap-floor N]
 *   --mallopt  start the trace with these mallopt calls (instead of the seed's random choice)
 *   --no-mallopt  never start with a mallopt
 *   --stats    sprinkle mallinfo2 snapshots into the trace
 *   --mmap-floor N  the environment sets an mmap threshold of N (see comparable_alignment)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS 4096
#define MAX_LEADING_MALLOPTS 16

static uint64_t random_state;

/* splitmix64: tiny, fast and good enough to scatter sizes; same sequence on every machine. */
static uint64_t next_random(void)
{
	uint64_t z = (random_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t random_below(uint64_t limit) { return limit == 0 ? 0 : next_random() % limit; }

static uint64_t random_between(uint64_t low, uint64_t high) { return low + random_below(high - low + 1); }

static bool chance(unsigned percent_times_ten) { return random_below(1000) < percent_times_ten; }

static bool occupied[MAX_SLOTS];
static unsigned live_slots[MAX_SLOTS]; /* dense list of occupied slots, for picking one at random */
static unsigned live_position[MAX_SLOTS];
static unsigned live_count;
static unsigned last_allocated_slot;

static void mark_live(unsigned slot)
{
	occupied[slot] = true;
	live_position[slot] = live_count;
	live_slots[live_count++] = slot;
	last_allocated_slot = slot;
}

static void mark_free(unsigned slot)
{
	unsigned position = live_position[slot];
	unsigned moved = live_slots[--live_count];
	live_slots[position] = moved;
	live_position[moved] = position;
	occupied[slot] = false;
}

static unsigned pick_free_slot(void)
{
	for (;;) {
		unsigned slot = (unsigned)random_below(MAX_SLOTS);
		if (!occupied[slot])
			return slot;
	}
}

/* A phase keeps a favourite size so bins of that size fill up, then changes its mind. */
static uint64_t favourite_size;

static uint64_t random_size(void)
{
	if (chance(350))
		return favourite_size + random_below(16) - (favourite_size >= 16 ? 8 : 0);
	unsigned bucket = (unsigned)random_below(1000);
	if (bucket < 300)
		return random_below(129); /* tcache and fastbin sizes */
	if (bucket < 520)
		return random_between(129, 1032); /* tcache, small bins once tcache is full */
	if (bucket < 720)
		return random_between(1033, 8192); /* large bins */
	if (bucket < 900)
		return random_between(8193, 131071); /* large bins, top, dynamic threshold */
	if (bucket < 980)
		return random_between(131072, 1 << 20); /* mmap, or heap once the threshold rose */
	if (bucket < 997)
		return random_between(1 << 20, 4 << 20);
	switch (random_below(4)) { /* impossible requests: ENOMEM paths */
	case 0:
		return (uint64_t)INT64_MAX + 1;
	case 1:
		return UINT64_MAX - random_below(64);
	case 2:
		return (uint64_t)INT64_MAX - random_below(64);
	default:
		return 1ull << 47;
	}
}

static void new_favourite(void)
{
	unsigned kind = (unsigned)random_below(10);
	if (kind < 5)
		favourite_size = random_below(129);
	else if (kind < 8)
		favourite_size = random_between(129, 1100);
	else
		favourite_size = random_between(1100, 70000);
}

/* The lowest mmap threshold the trace can have (mallopt may lower glibc's 128 KiB). */
static uint64_t mmap_threshold_floor = 131072;

/* A chunk aligned beyond a page inside a fresh mapping starts at an offset that depends on where
   the kernel put the mapping, and freeing it moves glibc's dynamic mmap threshold by that offset:
   plain and preloaded runs (whose mappings differ by the library itself) would part ways for a
   reason that is not the allocator's.  Such alignments are kept to requests the heap serves. */
static uint64_t comparable_alignment(uint64_t alignment, uint64_t size)
{
	bool beyond_page = alignment > 4096 && alignment <= (1ull << 62);
	if (beyond_page && (size >= mmap_threshold_floor || size + alignment + 64 >= mmap_threshold_floor))
		return 1ull << random_between(3, 12);
	return alignment;
}

static uint64_t random_alignment(void)
{
	unsigned kind = (unsigned)random_below(100);
	if (kind < 90)
		return 1ull << random_between(3, 16);
	if (kind < 96)
		return random_between(0, 300); /* mostly not a power of two */
	if (kind < 98)
		return 1ull << 63;
	return (1ull << 63) + 1;
}

static void emit_allocation(void)
{
	unsigned slot = pick_free_slot();
	unsigned kind = (unsigned)random_below(1000);
	if (kind < 640) {
		printf("m %u %llu\n", slot, (unsigned long long)random_size());
	} else if (kind < 800) {
		uint64_t count = random_between(1, 16);
		uint64_t size = random_size() / count;
		if (chance(5)) { /* count * size overflows */
			count = (1ull << 33) + random_below(100);
			size = 1ull << 31;
		}
		printf("c %u %llu %llu\n", slot, (unsigned long long)count, (unsigned long long)size);
	} else if (kind < 970) {
		const char *operation_letter = kind < 880 ? "a" : kind < 950 ? "p" : "A";
		uint64_t size = random_size();
		uint64_t alignment = comparable_alignment(random_alignment(), size);
		printf("%s %u %llu %llu\n", operation_letter, slot, (unsigned long long)alignment,
		       (unsigned long long)size);
	} else if (kind < 985) {
		printf("v %u %llu\n", slot, (unsigned long long)random_size());
	} else {
		printf("P %u %llu\n", slot, (unsigned long long)random_size());
	}
	mark_live(slot);
}

static void emit_free(void)
{
	unsigned slot;
	if (live_count == 0 || chance(3)) {
		printf("f %u\n", pick_free_slot()); /* free(NULL) */
		return;
	}
	/* mostly random order, sometimes the newest, as real programs free temporaries */
	slot = chance(200) && occupied[last_allocated_slot] ? last_allocated_slot
	                                                    : live_slots[random_below(live_count)];
	printf("f %u\n", slot);
	mark_free(slot);
}

static void emit_realloc(void)
{
	if (live_count == 0 || chance(50)) {
		unsigned slot = pick_free_slot();
		printf("r %u %llu\n", slot, (unsigned long long)random_size());
		mark_live(slot);
		return;
	}
	unsigned slot = live_slots[random_below(live_count)];
	uint64_t size;
	unsigned kind = (unsigned)random_below(100);
	if (kind < 40)
		size = random_size();
	else if (kind < 95)
		size = random_below(2048) + (kind & 1 ? 0 : random_below(1 << 17)); /* near neighbours */
	else
		size = 0; /* realloc(p, 0) frees */
	printf("r %u %llu\n", slot, (unsigned long long)size);
	if (size == 0)
		mark_free(slot);
}

static void lower_threshold_floor(long param, uint64_t value)
{
	if (param == -3 && value < mmap_threshold_floor) /* M_MMAP_THRESHOLD */
		mmap_threshold_floor = value;
}

static void emit_random_mallopt(void)
{
	uint64_t threshold;
	switch (random_below(6)) {
	case 0:
		printf("o 1 %llu\n", (unsigned long long)random_below(170)); /* M_MXFAST */
		break;
	case 1:
		printf("o -1 %llu\n", (unsigned long long)random_below(1 << 20)); /* M_TRIM_THRESHOLD */
		break;
	case 2:
		printf("o -2 %llu\n", (unsigned long long)random_below(1 << 18)); /* M_TOP_PAD */
		break;
	case 3:
		threshold = random_between(4096, 1 << 21);
		lower_threshold_floor(-3, threshold);
		printf("o -3 %llu\n", (unsigned long long)threshold); /* M_MMAP_THRESHOLD */
		break;
	case 4:
		printf("o -4 %llu\n", (unsigned long long)random_below(64)); /* M_MMAP_MAX */
		break;
	default:
		printf("o -6 %llu\n", (unsigned long long)random_below(256)); /* M_PERTURB */
		break;
	}
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: trace_gen SEED OPERATIONS [--mallopt PARAM=VALUE]... [--no-mallopt] "
	                "[--stats] [--mmap-floor N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	uint64_t seed = strtoull(argv[1], NULL, 0);
	unsigned long operations = strtoul(argv[2], NULL, 0);
	const char *leading_mallopts[MAX_LEADING_MALLOPTS];
	unsigned leading_count = 0;
	bool random_mallopt_allowed = true, with_stats = false;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--mallopt") == 0 && i + 1 < argc && leading_count < MAX_LEADING_MALLOPTS)
			leading_mallopts[leading_count++] = argv[++i];
		else if (strcmp(argv[i], "--no-mallopt") == 0)
			random_mallopt_allowed = false;
		else if (strcmp(argv[i], "--stats") == 0)
			with_stats = true;
		else if (strcmp(argv[i], "--mmap-floor") == 0 && i + 1 < argc)
			lower_threshold_floor(-3, strtoull(argv[++i], NULL, 0));
		else
			usage();
	}

	random_state = seed * 0x2545f4914f6cdd1dull + 1;
	new_favourite();
	printf("# trace seed=%llu operations=%lu\n", (unsigned long long)seed, operations);

	unsigned long emitted = 0;
	for (unsigned i = 0; i < leading_count; i++, emitted++) {
		long param, value;
		if (sscanf(leading_mallopts[i], "%ld=%ld", &param, &value) != 2)
			usage();
		lower_threshold_floor(param, (uint64_t)(unsigned int)value);
		printf("o %ld %ld\n", param, value);
	}
	if (leading_count == 0 && random_mallopt_allowed && chance(250)) {
		emit_random_mallopt();
		emitted++;
	}

	unsigned target_live = 0;
	unsigned long phase_left = 0;
	for (; emitted < operations; emitted++) {
		if (phase_left == 0) {
			phase_left = random_between(100, 3000);
			target_live = (unsigned)(chance(300) ? random_below(40) : random_below(1500));
			new_favourite();
		}
		phase_left--;
		if (with_stats && chance(5)) {
			printf("i\n");
			continue;
		}
		if (chance(2)) {
			printf("t %llu\n", (unsigned long long)(chance(500) ? 0 : random_below(1 << 20)));
			continue;
		}
		if (chance(80)) {
			emit_realloc();
			continue;
		}
		unsigned allocate_percent = live_count < target_live ? 70 : 30;
		if (live_count + 1 >= MAX_SLOTS / 2)
			allocate_percent = 0;
		if (random_below(100) < allocate_percent)
			emit_allocation();
		else
			emit_free();
	}
	return 0;
}
