/*
 * calloc (zeroing, no tcache, overflow), the memalign family (alignments, EINVAL and ENOMEM rules,
 * valloc, pvalloc, aligned_alloc) and malloc_usable_size.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>

#include "paths_suites.h"
#include "staging.h"

static bool all_zero(const unsigned char *p, size_t length)
{
	for (size_t i = 0; i < length; i++)
		if (p[i])
			return false;
	return true;
}

static void calloc_zeroes_reused_memory(void)
{
	unsigned char *p = must_malloc(0x508);
	must_malloc(0x18);
	memset(p, 0xab, 0x508);
	free(p);
	unsigned char *q = calloc(1, 0x508); /* the exact fit waiting in the unsorted bin */
	EXPECT_EQ(q, p);
	EXPECT(q && all_zero(q, 0x508));
	unsigned char *fresh = calloc(0x100, 0x10); /* from the start of top */
	EXPECT(fresh && all_zero(fresh, 0x1000));
}

static void calloc_bypasses_tcache(void)
{
	void *p = must_malloc(24);
	free(p);
	void *q = calloc(1, 24);
	EXPECT(q != p);
	EXPECT_EQ(must_malloc(24), p);
}

static void calloc_overflow(void)
{
	volatile size_t half = (size_t)1 << 32, big = (size_t)PTRDIFF_MAX / 2 + 1;
	errno = 0;
	EXPECT_EQ(calloc(half, half), NULL);
	EXPECT_EQ(errno, ENOMEM);
	errno = 0;
	EXPECT_EQ(calloc(big, 2), NULL);
	EXPECT_EQ(errno, ENOMEM);
}

static void memalign_alignments(void)
{
	must_malloc(24);
	must_malloc(24);
	void *p = memalign(64, 100);
	EXPECT_EQ(heap_offset(p), 0x300);
	EXPECT_EQ(raw_size_of(p), 0x71);
	void *q = memalign(4096, 100);
	EXPECT_EQ(heap_offset(q), 0x1000);
	EXPECT_EQ(raw_size_of(q), 0x70); /* the lead before it was freed */
	static const size_t alignments[] = {32, 128, 256, 1024, 8192, 65536, 1 << 20};
	for (size_t i = 0; i < sizeof alignments / sizeof alignments[0]; i++) {
		void *r = memalign(alignments[i], 300);
		EXPECT(r && (uintptr_t)r % alignments[i] == 0);
		EXPECT(r && malloc_usable_size(r) >= 300);
	}
}

static void memalign_rounds_odd_alignments_up(void)
{
	void *p = memalign(48, 10);
	EXPECT(p && (uintptr_t)p % 64 == 0);
	void *q = memalign(8, 10); /* no stricter than malloc: plain malloc */
	EXPECT(q && (uintptr_t)q % 16 == 0);
	void *r = aligned_alloc(3, 10); /* 2.36 does not validate aligned_alloc's arguments */
	EXPECT(r != NULL);
	void *s = aligned_alloc(256, 1000);
	EXPECT(s && (uintptr_t)s % 256 == 0);
}

static void memalign_error_rules(void)
{
	volatile size_t too_aligned = ((size_t)1 << 63) + 1, huge_alignment = (size_t)1 << 63;
	errno = 0;
	EXPECT_EQ(memalign(too_aligned, 1), NULL);
	EXPECT_EQ(errno, EINVAL);
	errno = 0;
	EXPECT_EQ(memalign(huge_alignment, 1), NULL);
	EXPECT_EQ(errno, ENOMEM);
	volatile size_t too_big = (size_t)PTRDIFF_MAX;
	errno = 0;
	EXPECT_EQ(memalign(64, too_big), NULL);
	EXPECT_EQ(errno, ENOMEM);
}

static void posix_memalign_rules(void)
{
	void *untouched = (void *)0x1234, *p = untouched;
	EXPECT_EQ(posix_memalign(&p, 0, 10), EINVAL);
	EXPECT_EQ(posix_memalign(&p, 24, 10), EINVAL);
	EXPECT_EQ(posix_memalign(&p, 48, 10), EINVAL);
	EXPECT_EQ(posix_memalign(&p, 4, 10), EINVAL);
	EXPECT_EQ(p, untouched);
	volatile size_t too_big = (size_t)PTRDIFF_MAX;
	EXPECT_EQ(posix_memalign(&p, 64, too_big), ENOMEM);
	EXPECT_EQ(p, untouched);
	EXPECT_EQ(posix_memalign(&p, 8, 10), 0);
	EXPECT((uintptr_t)p % 16 == 0);
	EXPECT_EQ(posix_memalign(&p, 4096, 10), 0);
	EXPECT((uintptr_t)p % 4096 == 0);
}

static void valloc_and_pvalloc(void)
{
	void *v = valloc(100);
	EXPECT(v && (uintptr_t)v % 4096 == 0);
	void *p = pvalloc(100); /* rounded up to a whole page */
	EXPECT(p && (uintptr_t)p % 4096 == 0);
	EXPECT(p && malloc_usable_size(p) >= 4096);
	void *z = pvalloc(0);
	EXPECT(z && (uintptr_t)z % 4096 == 0);
	volatile size_t wraps = SIZE_MAX - 100;
	errno = 0;
	EXPECT_EQ(pvalloc(wraps), NULL);
	EXPECT_EQ(errno, ENOMEM);
}

static void usable_size(void)
{
	EXPECT_EQ(malloc_usable_size(NULL), 0);
	EXPECT_EQ(malloc_usable_size(must_malloc(0)), 24);
	EXPECT_EQ(malloc_usable_size(must_malloc(25)), 40);
	void *p = must_malloc(0x500);
	must_malloc(0x18);
	EXPECT_EQ(malloc_usable_size(p), 0x508);
	EXPECT_EQ(malloc_usable_size(must_malloc(200000)), 200688);
}

const struct heap_case calloc_and_aligned_cases[] = {
    {"calloc zeroes reused memory", calloc_zeroes_reused_memory, NULL},
    {"calloc bypasses the tcache", calloc_bypasses_tcache, NULL},
    {"calloc overflow", calloc_overflow, NULL},
    {"memalign alignments", memalign_alignments, NULL},
    {"memalign rounds odd alignments up", memalign_rounds_odd_alignments_up, NULL},
    {"memalign EINVAL and ENOMEM", memalign_error_rules, NULL},
    {"posix_memalign rules", posix_memalign_rules, NULL},
    {"valloc and pvalloc", valloc_and_pvalloc, NULL},
    {"malloc_usable_size", usable_size, NULL},
    {NULL, NULL, NULL},
};
