/*
 * A main arena whose sbrk heap is larger than 1 GiB: with mmap turned off (M_MMAP_MAX 0) every
 * request, however large, comes from the break, so a few dozen 16 MiB chunks grow one contiguous
 * heap past the 1 GiB mark without writing to their pages (a core of it stays quick to write).
 * Small chunks staged before and after the big ones fill each kind of bin, so the chunks the
 * extension must find past 1 GiB include free ones that the bins list.
 *
 * Like every_bin, the program writes a record (record.h: each pointer it holds or freed, the
 * state it must be in, mallinfo2's totals) to the file named by argv[1], then calls
 * sample_checkpoint(); with "crash" as argv[2] it then aborts.  Every free comes after the last
 * allocation that could sort or consolidate the bins, so each recorded state follows from glibc
 * 2.36's algorithm alone.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#define BIG_REQUEST ((size_t)16 << 20)
#define BIG_CHUNKS 72 /* 72 x 16 MiB = 1.125 GiB */
#define STAGED_TINY 4
#include "staged.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		static const char usage[] = "usage: big_sbrk RECORD_FILE [crash]\n";
		(void)!write(2, usage, sizeof usage - 1);
		return 2;
	}
	if (!mallopt(M_MMAP_MAX, 0))
		return 3;
	struct staged early, late;
	stage(&early);
	for (int i = 0; i < BIG_CHUNKS; i++)
		held(BIG_REQUEST - 8);
	stage(&late); /* past the 1 GiB mark */

	/* The 0x110 chunks fill a tcache bin; the large ones go to unsorted, and a larger request
	   then sorts them into their large bin. */
	release(early.small[0], "tcache");
	release(late.small[0], "tcache");
	release(early.large, "largebin");
	release(late.large, "largebin");
	held(0x1000);

	/* 0x30: seven to the tcache, the eighth to the fastbin; then one chunk left unsorted. */
	int tiny_freed = 0;
	for (int i = 0; i < 4; i++, tiny_freed++)
		release(early.tiny[i], "tcache");
	for (int i = 0; i < 4; i++, tiny_freed++)
		release(late.tiny[i], tiny_freed < 7 ? "tcache" : "fastbin");
	release(late.unsorted, "unsorted");

	write_record(argv[1], NULL, 0);
	sample_checkpoint();
	if (argc > 2 && strcmp(argv[2], "crash") == 0)
		abort();
	return 0;
}
