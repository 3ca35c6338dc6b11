/*
 * MALLOC_CHECK_ under glibc 2.31 (tests/diff/test_malloc_check.py): run with MALLOC_CHECK_ or
 * glibc.malloc.check set, plain and with the clone preloaded, the output must be identical.
 *
 * Without an argument it allocates, resizes and frees through every entry point and prints, for
 * each block, its offset from the first, malloc_usable_size and every byte from the end of the
 * request to the end of the chunk (where the checking hooks keep their marks), and errno after
 * the requests that must fail.  The marks depend on the blocks' addresses, so the probe runs
 * itself again without address randomisation first.
 *
 * With an argument it stages one misuse the checking hooks must refuse (--list names them) and
 * makes the call that meets it; the abort message is on stderr.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>

#include "raw_output.h"

static unsigned char *first;
/* Sizes the compiler must not see through (it refuses calls it can tell are too large). */
static volatile size_t size_max = SIZE_MAX, ptrdiff_max = PTRDIFF_MAX, two_to_62 = (size_t)1 << 62;

static void put_offset(const void *block)
{
	if (block == NULL) {
		put_text("NULL");
		return;
	}
	intptr_t offset = (intptr_t)((const unsigned char *)block - first);
	if (offset < 0) {
		put_text("-");
		offset = -offset;
	}
	put_text("0x");
	put_number((uint64_t)offset, 16);
}

/* The chunk's size field says where the chunk ends; the bytes past the request up to there. */
static void show(const char *label, void *block, size_t request)
{
	put_text(label);
	size_t head = block != NULL ? ((size_t *)block)[-1] : 0;
	bool mmapped = head & 2;
	/* A preloaded library moves the mmapped blocks: where they are in their page is compared,
	   and their mark (first byte past the request), derived from the address, is not. */
	if (mmapped) {
		put_text(" mmapped at page offset 0x");
		put_number((uintptr_t)block & 0xfff, 16);
	} else {
		put_text(" at ");
		put_offset(block);
	}
	if (block != NULL) {
		size_t end = (head & ~(size_t)7) - (mmapped ? 16 : 8);
		put_text(" usable ");
		put_number(malloc_usable_size(block), 10);
		put_text(" head 0x");
		put_number(head, 16);
		put_text(" tail");
		for (size_t at = request; at < end; at++) {
			put_text(" ");
			if (mmapped && at == request)
				put_text("mark");
			else
				put_number(((unsigned char *)block)[at], 16);
		}
	}
	put_text("\n");
}

static void show_errno(const char *label, void *result)
{
	put_text(label);
	put_text(result == NULL ? " NULL errno " : " not NULL errno ");
	put_number((uint64_t)errno, 10);
	put_text("\n");
}

static void tour(void)
{
	first = malloc(24);
	show("malloc(24)", first, 24);
	static const size_t requests[] = {0, 1, 8, 25, 40, 255, 256, 300, 1000, 0x500, 200000};
	void *blocks[sizeof requests / sizeof requests[0]];
	for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
		blocks[i] = malloc(requests[i]);
		put_text("malloc(");
		put_number(requests[i], 10);
		put_text(")");
		show("", blocks[i], requests[i]);
	}
	free(blocks[2]);
	free(blocks[4]);
	show("malloc(40) again", blocks[4] = malloc(40), 40);
	show("calloc(3, 10)", calloc(3, 10), 30);
	show("memalign(64, 100)", memalign(64, 100), 100);
	show("memalign(48, 100)", memalign(48, 100), 100);
	show("memalign(4096, 300000)", memalign(4096, 300000), 300000);
	show("valloc(10)", valloc(10), 10);
	void *aligned = NULL;
	put_text(posix_memalign(&aligned, 256, 33) == 0 ? "posix_memalign ok\n" : "posix_memalign failed\n");
	show("posix_memalign(256, 33)", aligned, 33);
	show("realloc grown to 500", blocks[1] = realloc(blocks[1], 500), 500);
	show("realloc shrunk to 100", blocks[1] = realloc(blocks[1], 100), 100);
	show("realloc mmapped to 400000", blocks[10] = realloc(blocks[10], 400000), 400000);
	show("realloc mmapped to 20", blocks[10] = realloc(blocks[10], 20), 20);
	show("realloc(NULL, 70)", blocks[2] = realloc(NULL, 70), 70);
	show_errno("realloc(x, 0)", realloc(blocks[2], 0));

	errno = 0;
	show_errno("malloc(SIZE_MAX)", malloc(size_max));
	errno = 0;
	show_errno("malloc(PTRDIFF_MAX)", malloc(ptrdiff_max));
	errno = 0;
	show_errno("realloc(x, SIZE_MAX)", realloc(blocks[3], size_max));
	errno = 0;
	show_errno("realloc(x, PTRDIFF_MAX)", realloc(blocks[3], ptrdiff_max));
	show("x after the failed reallocs", blocks[3], 25);
	errno = 0;
	show_errno("memalign(2^63 + 16, 8)", memalign(((size_t)1 << 63) + 16, 8));
	errno = 0;
	show_errno("memalign(64, SIZE_MAX - 64)", memalign(64, size_max - 64));
	errno = 0;
	show_errno("calloc(2^62, 8)", calloc(two_to_62, 8));
	for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++)
		if (i != 2)
			free(blocks[i]);
	free(NULL);
	show("malloc(24) at the end", malloc(24), 24);
	struct mallinfo info = mallinfo();
	put_text("mallinfo arena ");
	put_number((uint64_t)info.arena, 10);
	put_text(" ordblks ");
	put_number((uint64_t)info.ordblks, 10);
	put_text(" uordblks ");
	put_number((uint64_t)info.uordblks, 10);
	put_text(" hblks ");
	put_number((uint64_t)info.hblks, 10);
	put_text("\n");
}

/* ---- misuses ---- */

static void overflow_then_free(void)
{
	char *block = malloc(24);
	block[24] ^= 0x55;
	free(block);
}

static void overflow_then_realloc(void)
{
	char *block = malloc(100);
	block[100] = 0;
	(void)!realloc(block, 200);
}

static void overflow_mmapped_then_free(void)
{
	char *block = malloc(300000);
	block[300000] ^= 0x55;
	free(block);
}

static void overflow_then_usable_size(void)
{
	char *volatile block = malloc(10);
	memset(block + 10, 0, 14); /* the mark and the spare bytes after it */
	(void)!malloc_usable_size(block);
}

static void double_free_small(void)
{
	void *block = malloc(40);
	free(block);
	free(block);
}

static void double_free_large(void)
{
	void *block = malloc(0x500);
	malloc(24);
	free(block);
	free(block);
}

static void free_interior(void)
{
	char *block = malloc(100);
	free(block + 32);
}

static void free_misaligned(void)
{
	char *block = malloc(100);
	free(block + 8);
}

static void corrupt_top_then_malloc(void)
{
	char *block = malloc(24);
	((size_t *)block)[-1 + 6] = 0x10; /* the top chunk's size word, right after this block */
	malloc(24);
}

static void corrupt_top_then_memalign(void)
{
	char *block = malloc(24);
	((size_t *)block)[-1 + 6] = 0x10;
	(void)!memalign(64, 24);
}

/* The hooks are put in place by malloc's initialisation, which a free does not run: this one
   is not checked (and goes through). */
static void free_stack_before_first_malloc(void)
{
	size_t fake[8] = {0, 0x21, 0, 0, 0, 0x21, 0, 0};
	free(&fake[2]);
}

static const struct {
	const char *name;
	void (*stage)(void);
} misuses[] = {
    {"overflow_then_free", overflow_then_free},
    {"overflow_then_realloc", overflow_then_realloc},
    {"overflow_mmapped_then_free", overflow_mmapped_then_free},
    {"overflow_then_usable_size", overflow_then_usable_size},
    {"double_free_small", double_free_small},
    {"double_free_large", double_free_large},
    {"free_interior", free_interior},
    {"free_misaligned", free_misaligned},
    {"corrupt_top_then_malloc", corrupt_top_then_malloc},
    {"corrupt_top_then_memalign", corrupt_top_then_memalign},
    {"free_stack_before_first_malloc", free_stack_before_first_malloc},
};

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < sizeof misuses / sizeof misuses[0]; i++) {
			put_text(misuses[i].name);
			put_text("\n");
		}
		flush_output();
		return 0;
	}
	/* The same addresses on every run, so the marks derived from them are comparable: a misuse
	 * too, whose end can hang on its chunk's mark (an overflowed mmapped chunk's changed mark is
	 * read past when the real mark is 0, which under ASLR one address in 128 gives). */
	int persona = personality(0xffffffff);
	if (!(persona & ADDR_NO_RANDOMIZE)) {
		if (personality((unsigned long)persona | ADDR_NO_RANDOMIZE) == -1)
			return 4;
		execv("/proc/self/exe", argv);
		return 5;
	}
	if (argc > 1) {
		for (size_t i = 0; i < sizeof misuses / sizeof misuses[0]; i++) {
			if (strcmp(argv[1], misuses[i].name) == 0) {
				misuses[i].stage();
				put_text("the misuse went through\n");
				flush_output();
				return 0;
			}
		}
		return 2;
	}
	tour();
	flush_output();
	return 0;
}
