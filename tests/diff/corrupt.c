/*
 * Stages one heap corruption, named on the command line, then makes the allocator call that
 * glibc 2.36 catches.  The test runs each scenario on glibc and on the clone: both must die of
 * SIGABRT with the same words on stderr.  Reaching the end of a scenario is a failure of the
 * allocator's checks, reported on stdout with exit status 0 so the test can tell it apart.
 *
 * Every scenario writes into chunk headers with glibc 2.36's x86-64 layout: the size word sits
 * 8 bytes before the user pointer, a free chunk's fd/bk (or tcache next/key) at its start.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL_TCACHE 7

/* Hides a pointer's history from the compiler, which would otherwise reject the staged misuse. */
static void *launder(void *pointer)
{
	void *volatile hidden = pointer;
	return hidden;
}

static size_t *size_word(void *user_pointer) { return (size_t *)((char *)user_pointer - 8); }

static size_t *prev_size_word(void *user_pointer) { return (size_t *)((char *)user_pointer - 16); }

static void **link_word(void *user_pointer, int index) { return (void **)user_pointer + index; }

/* Stores `target` in a free chunk's first link the way safe-linking does (glibc 2.32+; built
   against 2.31 the link is plain), so the allocator reads back exactly `target` whatever the
   address-space layout. */
static void store_protected_link(void *user_pointer, uintptr_t target)
{
#if __GLIBC_PREREQ(2, 32)
	*link_word(user_pointer, 0) = (void *)(((uintptr_t)link_word(user_pointer, 0) >> 12) ^ target);
#else
	*link_word(user_pointer, 0) = (void *)target;
#endif
}

/* Fills the tcache bin of `request` so the next free of that size goes to the arena. */
static void fill_tcache(size_t request)
{
	void *blocks[FILL_TCACHE];
	for (int i = 0; i < FILL_TCACHE; i++)
		blocks[i] = malloc(request);
	for (int i = 0; i < FILL_TCACHE; i++)
		free(blocks[i]);
}

static void drain_tcache(size_t request)
{
	for (int i = 0; i < FILL_TCACHE; i++)
		(void)launder(malloc(request));
}

/* A fake chunk outside the heap whose links point nowhere useful, for corrupted fd/bk. */
static size_t fake_chunk[8] __attribute__((aligned(16)));
#define MISALIGNED_TARGET ((uintptr_t)fake_chunk + 8)

static void tcache_double_free(void)
{
	void *p = malloc(24);
	free(p);
	free(launder(p));
}

static void fastbin_double_free(void)
{
	fill_tcache(24);
	void *p = malloc(24);
	void *q = malloc(24);
	(void)q;
	fill_tcache(24);
	free(p);
	free(launder(p));
}

static void invalid_pointer_free(void)
{
	char *p = malloc(64);
	free(launder(p + 8));
}

static void invalid_size_free(void)
{
	void *p = malloc(24);
	*size_word(p) = 0x11;
	free(p);
}

static void next_size_fast(void)
{
	fill_tcache(24);
	void *p = malloc(24);
	(void)malloc(24);
	fill_tcache(24);
	*size_word((char *)p + 32) = 0x9; /* the following chunk claims to be 8 bytes */
	free(p);
}

static void next_size_normal(void)
{
	char *p = malloc(0x500);
	(void)malloc(24);
	*size_word(p + 0x510) = 0x1;
	free(p);
}

static void double_free_not_prev(void)
{
	void *p = malloc(0x500);
	(void)malloc(24);
	free(p);
	free(launder(p));
}

static void double_free_top(void)
{
	(void)malloc(24);
	void *p = malloc(0x500);
	free(p);
	free(launder(p));
}

static void double_free_out(void)
{
	void *p = malloc(0x500);
	(void)malloc(24);
	*size_word(p) = 0x1000001; /* reaches past the top chunk */
	free(p);
}

static void munmap_invalid_pointer(void)
{
	void *p = malloc(1 << 20);
	*size_word(p) += 0x10;
	free(p);
}

static void corrupted_top_size(void)
{
	char *p = malloc(24);
	*size_word(p + 32) = (size_t)-1 & ~(size_t)0xf; /* top now claims almost all memory */
	(void)malloc(0x1000);
}

static void top_size_too_small(void)
{
	char *p = malloc(24);
	*size_word(p + 32) = 0x21; /* tiny, not page-ending: sysmalloc's assertion */
	(void)malloc(0x1000);
}

static void unsorted_bk_corruption(void)
{
	void *p = malloc(0x500);
	(void)malloc(24);
	free(p);
	*link_word(p, 1) = fake_chunk; /* bk points at a chunk whose fd is not p */
	(void)malloc(0x600);
}

static void unsorted_invalid_size(void)
{
	void *p = malloc(0x500);
	(void)malloc(24);
	free(p);
	*size_word(p) = 0x9;
	(void)malloc(0x600);
}

static void unsorted_prev_size_mismatch(void)
{
	char *p = malloc(0x500);
	(void)malloc(24);
	free(p);
	*prev_size_word(p + 0x510) = 0x400;
	(void)malloc(0x600);
}

static void tcache_next_unaligned(void)
{
	void *p = malloc(24);
	void *q = malloc(24);
	free(q);
	free(p);
	store_protected_link(p, MISALIGNED_TARGET);
	(void)malloc(24);
	(void)malloc(24);
}

static void tcache_scan_unaligned(void)
{
	void *p = malloc(24);
	void *q = malloc(24);
	free(q);
	free(p);
	store_protected_link(p, MISALIGNED_TARGET); /* the double-free scan meets it before q */
	free(launder(q));
}

static void tcache_scan_too_long(void)
{
	void *p = malloc(24);
	void *q = malloc(24);
	void *r = malloc(24);
	free(p);
	free(q);
	/* close the bin into a cycle q -> p -> q, mangled the way safe-linking stores it */
	store_protected_link(p, (uintptr_t)q);
	*link_word(r, 1) = *link_word(p, 1); /* r carries the tcache key, so free scans the bin */
	free(r);
}

static void fastbin_fd_unaligned(void)
{
	fill_tcache(24);
	void *p = malloc(24);
	(void)malloc(24);
	fill_tcache(24);
	free(p);
	store_protected_link(p, MISALIGNED_TARGET);
	drain_tcache(24);
	(void)malloc(24);
}

static void fastbin_wrong_size(void)
{
	fill_tcache(24);
	void *p = malloc(24);
	(void)malloc(24);
	fill_tcache(24);
	free(p);
	*size_word(p) = 0x41; /* sits in the 0x20 fastbin but claims 0x40 */
	drain_tcache(24);
	(void)malloc(24);
}

static void consolidate_wrong_size(void)
{
	fill_tcache(24);
	void *p = malloc(24);
	(void)malloc(24);
	fill_tcache(24);
	free(p);
	*size_word(p) = 0x41;
	(void)malloc(0x600); /* a large request consolidates the fastbins */
}

static void prev_size_while_consolidating(void)
{
	char *a = malloc(0x500);
	char *b = malloc(0x500);
	(void)malloc(24);
	free(a);
	*size_word(a) = 0x4f1;
	free(b);
}

static void unlink_corrupted_links(void)
{
	char *a = malloc(0x500);
	char *b = malloc(0x500);
	(void)malloc(24);
	free(a);
	*link_word(a, 0) = fake_chunk;
	free(b);
}

static void smallbin_bk_corruption(void)
{
	fill_tcache(0x88);
	void *p = malloc(0x88);
	(void)malloc(24);
	fill_tcache(0x88);
	free(p);
	(void)malloc(0x600); /* files p into its small bin */
	*link_word(p, 1) = fake_chunk;
	drain_tcache(0x88);
	(void)malloc(0x88);
}

/* A free chunk in its small bin whose bk no longer leads back: 2.41's free, filing a second chunk
   of that size straight into the bin, notices.  2.36's files it in the unsorted bin, and sorting
   it into the bin rewrites the damaged link: damaged again, the malloc that takes the chunk
   notices. */
static void smallbin_corrupted_on_free(void)
{
	void *p = malloc(0x88);
	(void)malloc(24);
	void *q = malloc(0x88);
	(void)malloc(24);
	fill_tcache(0x88);
	free(p);
	(void)malloc(0x600); /* p now in its small bin, whichever way it went there */
	*link_word(p, 1) = fake_chunk;
	free(q);
	(void)malloc(0x600);
	*link_word(p, 1) = fake_chunk;
	drain_tcache(0x88);
	(void)malloc(0x88);
}

/* A chunk whose size reaches past the canonical addresses: 2.36's realloc refuses the size
   ("invalid old size"); from 2.38 realloc first reads the header after the chunk to find its
   usable size, and faults there. */
static void realloc_huge_old_size(void)
{
	void *p = malloc(24);
	*size_word(p) = ((size_t)1 << 47) | 1;
	(void)launder(realloc(p, 100));
}

static void realloc_invalid_old_size(void)
{
	void *p = malloc(24);
	*size_word(p) = 0x8;
	(void)launder(realloc(p, 100));
}

static void realloc_invalid_next_size(void)
{
	char *p = malloc(0x500);
	(void)malloc(24);
	*size_word(p + 0x510) = 0x1;
	(void)launder(realloc(p, 0x600));
}

static void realloc_invalid_pointer(void)
{
	char *p = malloc(64);
	(void)launder(realloc(launder(p + 8), 100));
}

struct scenario {
	const char *name;
	void (*stage)(void);
};

static const struct scenario scenarios[] = {
    {"tcache_double_free", tcache_double_free},
    {"fastbin_double_free", fastbin_double_free},
    {"invalid_pointer_free", invalid_pointer_free},
    {"invalid_size_free", invalid_size_free},
    {"next_size_fast", next_size_fast},
    {"next_size_normal", next_size_normal},
    {"double_free_not_prev", double_free_not_prev},
    {"double_free_top", double_free_top},
    {"double_free_out", double_free_out},
    {"munmap_invalid_pointer", munmap_invalid_pointer},
    {"corrupted_top_size", corrupted_top_size},
    {"top_size_too_small", top_size_too_small},
    {"unsorted_bk_corruption", unsorted_bk_corruption},
    {"unsorted_invalid_size", unsorted_invalid_size},
    {"unsorted_prev_size_mismatch", unsorted_prev_size_mismatch},
    {"tcache_next_unaligned", tcache_next_unaligned},
    {"tcache_scan_unaligned", tcache_scan_unaligned},
    {"tcache_scan_too_long", tcache_scan_too_long},
    {"fastbin_fd_unaligned", fastbin_fd_unaligned},
    {"fastbin_wrong_size", fastbin_wrong_size},
    {"consolidate_wrong_size", consolidate_wrong_size},
    {"prev_size_while_consolidating", prev_size_while_consolidating},
    {"unlink_corrupted_links", unlink_corrupted_links},
    {"smallbin_bk_corruption", smallbin_bk_corruption},
    {"smallbin_corrupted_on_free", smallbin_corrupted_on_free},
    {"realloc_huge_old_size", realloc_huge_old_size},
    {"realloc_invalid_old_size", realloc_invalid_old_size},
    {"realloc_invalid_next_size", realloc_invalid_next_size},
    {"realloc_invalid_pointer", realloc_invalid_pointer},
};

static void say(const char *text)
{
	if (write(STDOUT_FILENO, text, strlen(text)) < 0)
		_exit(3);
}

int main(int argc, char **argv)
{
	size_t count = sizeof scenarios / sizeof scenarios[0];
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < count; i++) {
			say(scenarios[i].name);
			say("\n");
		}
		return 0;
	}
	for (size_t i = 0; argc == 2 && i < count; i++) {
		if (strcmp(argv[1], scenarios[i].name) == 0) {
			scenarios[i].stage();
			say("survived ");
			say(argv[1]);
			say("\n");
			return 0;
		}
	}
	say("usage: corrupt --list | corrupt SCENARIO\n");
	return 2;
}
