/*
 * A main arena that outgrows a break which cannot move: a page is mapped right above the break
 * after the first malloc, so every later sysmalloc of the main arena fails sbrk and continues in
 * mmapped memory.  glibc 2.36 (and the clone) then marks the arena NONCONTIGUOUS, makes the first
 * fallback mapping at least 1 MiB and later ones just big enough for the request, and closes each
 * abandoned top with two 0x10|PREV_INUSE fenceposts.  Large mmapped chunks are made in between,
 * so the kernel places them next to the arena's own mappings (often merged into one region).
 *
 * Like every_bin, the program writes a record (record.h: each pointer it holds or freed, the
 * state it must be in, mallinfo2's totals) to the file named by argv[1], then calls
 * sample_checkpoint(); with "crash" as argv[2] it then aborts.  Every free comes after the last
 * allocation that could sort or consolidate the bins, so each recorded state follows from glibc
 * 2.36's algorithm alone.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_RECORDS 512
#define SEGMENTS 4             /* staged: the sbrk heap and three mmapped segments */
#define FILLER_REQUEST 0x18000 /* below the mmap threshold: served by the arena */
#include "staged.h"

/* Carve the top chunk down to `left` bytes (mallinfo2's keepcost is the main arena's top). */
static void leave_top(size_t left)
{
	size_t top = mallinfo2().keepcost;
	if (top >= left + 0x40)
		held(top - left - 8);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		static const char usage[] = "usage: sbrk_blocked RECORD_FILE [crash]\n";
		(void)!write(2, usage, sizeof usage - 1);
		return 2;
	}
	held(0x18); /* the sbrk heap exists from here on */
	char *break_now = sbrk(0);
	if (mmap(break_now, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return 3;

	/* Segment 0 is the sbrk heap; each stage after it opens a new mmapped segment, because the
	   previous top was cut down to 0x60 bytes first: sysmalloc shrinks such a top to 0x40, closes
	   it with the fenceposts and frees it to the tcache, where no later request of this program
	   looks, so every stage lands in its own segment. */
	struct staged staged[SEGMENTS];
	for (int segment = 0; segment < SEGMENTS; segment++) {
		stage(&staged[segment]);
		/* Larger than any top: an mmapped chunk, placed by the kernel next to the arena's maps. */
		size_t mapped_request = 0x110000 + 4096 * (size_t)segment;
		note(malloc(mapped_request), mapped_request, "mmapped");
		if (segment < SEGMENTS - 1)
			leave_top(0x60);
	}
	/* The last old top is large: freed to the unsorted bin, it clears its fencepost's
	   PREV_INUSE, and the sorting request below splits it. */
	leave_top(0x2000);
	held(FILLER_REQUEST);

	/* 7 of the 0x110 chunks fill their tcache bin, the 8th goes to unsorted; the large ones go
	   to unsorted too, and a larger request then sorts them into the small and large bins. */
	for (int segment = 0; segment < SEGMENTS; segment++) {
		release(staged[segment].small[0], "tcache");
		release(staged[segment].large, "largebin");
	}
	for (int segment = 0; segment < 3; segment++)
		release(staged[segment].small[1], "tcache");
	release(staged[SEGMENTS - 1].small[1], "smallbin");
	held(0x1000);

	/* 0x30: seven to the tcache, the rest to the fastbin; then one chunk left unsorted. */
	int tiny_freed = 0;
	for (int segment = 0; segment < SEGMENTS; segment++)
		for (int i = 0; i < 3; i++, tiny_freed++)
			release(staged[segment].tiny[i], tiny_freed < 7 ? "tcache" : "fastbin");
	release(staged[1].unsorted, "unsorted");

	write_record(argv[1], NULL, 0);
	sample_checkpoint();
	if (argc > 2 && strcmp(argv[2], "crash") == 0)
		abort();
	return 0;
}
