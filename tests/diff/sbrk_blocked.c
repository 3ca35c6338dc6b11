/*
 * A heap whose break cannot move: a page is mapped right above the initial break before any
 * growth, so every sysmalloc of the main arena fails sbrk and continues in mmapped memory (the
 * noncontiguous path, with its fenceposts and glibc 2.36's fallback sizing).  A fixed
 * pseudo-random workload then prints each block as an offset from the first block served from
 * mmapped memory; with address randomisation off (setarch -R) consecutive anonymous mappings are
 * placed the same way for glibc and the clone, so the offsets must agree.
 */
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "raw_output.h"

enum { SLOTS = 64, OPERATIONS = 4000 };

static uint64_t random_state = 0x9e3779b97f4a7c15ULL;
static uint64_t next_random(void)
{
	random_state ^= random_state << 13;
	random_state ^= random_state >> 7;
	random_state ^= random_state << 17;
	return random_state;
}

int main(void)
{
	void *first = malloc(16); /* initialises the heap from sbrk */
	char *break_now = sbrk(0);
	if (mmap(break_now, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return 2;

	void *slots[SLOTS] = {0};
	char *base = NULL;
	for (int operation = 0; operation < OPERATIONS; operation++) {
		unsigned slot = (unsigned)(next_random() % SLOTS);
		if (slots[slot] != NULL) {
			free(slots[slot]);
			slots[slot] = NULL;
			continue;
		}
		uint64_t roll = next_random() % 100;
		size_t size = roll < 60   ? next_random() % 512
		              : roll < 95 ? next_random() % 20000
		                          : next_random() % 300000;
		char *block = malloc(size);
		slots[slot] = block;
		if (block == NULL) {
			put_text("null\n");
			continue;
		}
		if (base == NULL && (block < (char *)first || block > break_now))
			base = block;
		put_text(block >= (char *)first && block < break_now ? "heap " : "mapped ");
		put_number((uint64_t)(block >= (char *)first && block < break_now ? block - (char *)first
		                                                                  : block - base),
		           16);
		put_text(" ");
		put_number(malloc_usable_size(block), 10);
		put_text("\n");
	}
	struct mallinfo2 totals = mallinfo2();
	const struct {
		const char *name;
		size_t value;
	} fields[] = {
	    {"arena", totals.arena},        {" ordblks", totals.ordblks},   {" hblkhd", totals.hblkhd},
	    {" uordblks", totals.uordblks}, {" fordblks", totals.fordblks}, {" keepcost", totals.keepcost},
	};
	for (size_t field = 0; field < sizeof fields / sizeof fields[0]; field++) {
		put_text(fields[field].name);
		put_text(" ");
		put_number(fields[field].value, 10);
	}
	put_text("\n");
	flush_output();
	return 0;
}
