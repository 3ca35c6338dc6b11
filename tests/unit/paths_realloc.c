/*
 * realloc: grow into top, grow into the next free chunk, shrink with a split, move, mremap of
 * mmapped chunks, realloc(NULL, n) and realloc(p, 0).
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>

#include "paths_suites.h"
#include "staging.h"

static void grow_into_top(void)
{
	void *p = must_malloc(0x100);
	void *q = realloc(p, 0x2000);
	EXPECT_EQ(q, p);
	EXPECT_EQ(raw_size_of(q), 0x2011);
#if PTM_INTERNALS
	EXPECT_EQ(main_arena.top, next_chunk(chunk_of(q)));
#endif
}

static void grow_into_next_free_chunk(void)
{
	void *p = must_malloc(0x508), *next = must_malloc(0x508);
	must_malloc(0x18);
	free(next);
	void *q = realloc(p, 0x900); /* 0x910 of the 0xa20 merged; the 0x110 rest is freed */
	EXPECT_EQ(q, p);
	EXPECT_EQ(raw_size_of(q), 0x911);
	EXPECT_EQ(must_malloc(0x108), (char *)p + 0x910); /* the rest went to the tcache */
}

static void shrink_with_split(void)
{
	void *p = must_malloc(0x508);
	must_malloc(0x18);
	void *q = realloc(p, 0x100);
	EXPECT_EQ(q, p);
	EXPECT_EQ(raw_size_of(q), 0x111);
	EXPECT_EQ(must_malloc(0x3f8), (char *)p + 0x110); /* the 0x400 rest, via the tcache */
}

static void shrink_too_little_to_split(void)
{
	void *p = must_malloc(0x108);
	EXPECT_EQ(realloc(p, 0xf8), p);
	EXPECT_EQ(raw_size_of(p), 0x111);
}

static void move_when_blocked(void)
{
	unsigned char *p = must_malloc(0x100);
	must_malloc(0x100);
	for (int i = 0; i < 0x100; i++)
		p[i] = (unsigned char)i;
	unsigned char *q = realloc(p, 0x1000);
	EXPECT(q != p);
	int same = 1;
	for (int i = 0; i < 0x100; i++)
		same &= q[i] == (unsigned char)i;
	EXPECT(same);
	EXPECT_EQ(must_malloc(0x100), p); /* the old chunk was freed into the tcache */
}

static void mremap_of_mmapped_chunk(void)
{
	unsigned char *p = must_malloc(200000);
	memset(p, 0x5a, 200000);
	unsigned char *q = realloc(p, 400000);
	EXPECT(q != NULL);
	EXPECT(chunk_is_mmapped(chunk_of(q)));
	EXPECT_EQ(raw_size_of(q), 0x62000 | IS_MMAPPED);
	EXPECT(q[0] == 0x5a && q[199999] == 0x5a);
	unsigned char *r = realloc(q, 1000); /* stays mmapped however small */
	EXPECT(chunk_is_mmapped(chunk_of(r)));
	EXPECT_EQ(raw_size_of(r), 0x1000 | IS_MMAPPED);
	EXPECT(r[999] == 0x5a);
#if PTM_INTERNALS
	EXPECT_EQ(mp_.n_mmaps, 1);
	EXPECT_EQ(mp_.mmapped_mem, 0x1000);
#endif
}

static void realloc_null_is_malloc(void)
{
	void *p = realloc(NULL, 24);
	EXPECT_EQ(heap_offset(p), 0x2a0);
}

static void realloc_zero_frees(void)
{
	void *p = must_malloc(0x48);
	EXPECT_EQ(realloc(p, 0), NULL);
	EXPECT_EQ(must_malloc(0x48), p);
}

static void realloc_impossible_size(void)
{
	void *p = must_malloc(0x48);
	volatile size_t too_big = (size_t)PTRDIFF_MAX + 1;
	errno = 0;
	EXPECT_EQ(realloc(p, too_big), NULL);
	EXPECT_EQ(errno, ENOMEM);
	EXPECT_EQ(raw_size_of(p), 0x51); /* untouched */
	errno = 0;
	volatile size_t overflowing_factor = (size_t)1 << 33;
	EXPECT_EQ(reallocarray(p, overflowing_factor, overflowing_factor), NULL);
	EXPECT_EQ(errno, ENOMEM);
}

const struct heap_case realloc_path_cases[] = {
    {"grow into top", grow_into_top, NULL},
    {"grow into the next free chunk", grow_into_next_free_chunk, NULL},
    {"shrink with split", shrink_with_split, NULL},
    {"shrink too little to split", shrink_too_little_to_split, NULL},
    {"move when blocked", move_when_blocked, NULL},
    {"mremap of an mmapped chunk", mremap_of_mmapped_chunk, NULL},
    {"realloc(NULL, n) is malloc", realloc_null_is_malloc, NULL},
    {"realloc(p, 0) frees", realloc_zero_frees, NULL},
    {"impossible sizes fail with ENOMEM", realloc_impossible_size, NULL},
    {NULL, NULL, NULL},
};
