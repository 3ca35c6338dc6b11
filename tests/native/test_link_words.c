/*
 * The link words of gdb/native/link_words.c: what pass one keeps of a live heap for the list
 * walks, driven here header by header as heapwalk_scan_window drives it, over crafted windows.
 *
 * The table is a cache of the process's words: a word it finds must be the window's word at
 * that address, and the rule only decides which words it holds. So each case checks both the
 * words the rule keeps (the links of free chunks, the plausible links of fastbin-sized ones) and
 * that nothing else is found: no word of an in-use chunk, none outside the window, none past the
 * budget, none of a region not sealed. Expected words are written out from the buffers.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link_words.h"
#include "test_link_words.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

enum { PREV_INUSE = 1 };

/* The rule of a 64-bit glibc: fd at 16, bk at 24, fastbins up to 0x80, links `shift`ed. */
static struct heapwalk_link_rule rule_with_shift(unsigned shift)
{
	return (struct heapwalk_link_rule){.fd_offset = 16,
	                                   .bk_offset = 24,
	                                   .size_mask = ~(uint64_t)7,
	                                   .prev_inuse = PREV_INUSE,
	                                   .fast_limit = 0x80,
	                                   .fast_shift = shift,
	                                   .alignment_mask = 15};
}

/* Notes every header of `segment` (words [0, words) at address low) from word 0, as
 * heapwalk_scan_window does, through windows of `window` words: each header is noted with the
 * window that holds it whole (its size word). */
static void note_segment(struct heapwalk_link_words *links, const uint64_t *segment, size_t words,
                         size_t window)
{
	size_t base = 0, word = 0;
	while (word + 1 < words) {
		if (word + 1 >= base + window)
			base = word;
		size_t count = words - base < window ? words - base : window;
		uint64_t field = segment[word + 1];
		heapwalk_link_words_note(links, segment + base, count, base, word, field);
		if ((field >> 3) == 0)
			break;
		word += field >> 3;
	}
}

static int found(const struct heapwalk_link_words *links, uint64_t address, uint64_t *value)
{
	*value = 0xdead;
	return heapwalk_link_words_find(links, address, value);
}

/* A segment of five chunks at 0x10000: in use (0x30), free (0x90, the next one's PREV_INUSE
 * clear), fast-sized with a link to the first chunk, fast-sized with a null first word, top. */
enum { LOW = 0x10000, WORDS = 64 };
static void five_chunks(uint64_t *segment, unsigned shift)
{
	memset(segment, 0, WORDS * sizeof(*segment));
	/* word: 0 in use, 6 free, 24 fast (links to 0), 28 fast (null), 32 top */
	segment[1] = 0x30 | PREV_INUSE;
	segment[2] = 0xaaaa; /* in-use data that is no link */
	segment[3] = 0xbbbb;
	segment[7] = 0x90 | PREV_INUSE;
	segment[8] = 0x7000; /* fd and bk of the free chunk */
	segment[9] = 0x7100;
	segment[25] = 0x20; /* PREV_INUSE clear: the chunk before (word 6) is free */
	uint64_t slot = LOW + 26 * 8;
	segment[26] = shift < 64 ? (uint64_t)LOW ^ (slot >> shift) : LOW;
	segment[27] = 0xcccc;
	segment[29] = 0x20 | PREV_INUSE;
	segment[33] = 0x100 | PREV_INUSE; /* top */
}

/* The five chunks' words taken by a table of `budget` words over their region alone, through
 * windows of `window` words, the region sealed. */
static struct heapwalk_link_words *take_five_chunks(const uint64_t *segment, unsigned shift, size_t budget,
                                                    size_t window)
{
	uint64_t bounds[] = {LOW, LOW + WORDS * 8};
	struct heapwalk_link_rule rule = rule_with_shift(shift);
	struct heapwalk_link_words *links = heapwalk_link_words_open(bounds, 1, budget, &rule);
	CU_ASSERT_PTR_NOT_NULL_FATAL(links);
	CU_ASSERT_EQUAL_FATAL(heapwalk_link_words_begin(links, LOW), 0);
	note_segment(links, segment, WORDS, window);
	heapwalk_link_words_seal(links);
	return links;
}

static void check_five_chunks(unsigned shift)
{
	uint64_t segment[WORDS], value;
	five_chunks(segment, shift);
	uint64_t bounds[] = {LOW, LOW + WORDS * 8};
	struct heapwalk_link_rule rule = rule_with_shift(shift);
	struct heapwalk_link_words *links = heapwalk_link_words_open(bounds, 1, 100, &rule);
	CU_ASSERT_PTR_NOT_NULL_FATAL(links);
	CU_ASSERT_EQUAL_FATAL(heapwalk_link_words_begin(links, LOW), 0);
	note_segment(links, segment, WORDS, WORDS);
	/* Before the seal nothing is found: the region's directory is not whole yet. */
	CU_ASSERT_FALSE(found(links, LOW + 8 * 8, &value));
	heapwalk_link_words_seal(links);
	CU_ASSERT_EQUAL(heapwalk_link_words_count(links), 3);
	CU_ASSERT_TRUE(found(links, LOW + 8 * 8, &value));
	CU_ASSERT_EQUAL(value, 0x7000);
	CU_ASSERT_TRUE(found(links, LOW + 9 * 8, &value));
	CU_ASSERT_EQUAL(value, 0x7100);
	CU_ASSERT_TRUE(found(links, LOW + 26 * 8, &value));
	CU_ASSERT_EQUAL(value, segment[26]);
	/* In-use words, a fastbin-sized chunk's second word, a null link, top: not kept. */
	const uint64_t absent[] = {2, 3, 1, 7, 27, 30, 34, 10};
	for (size_t i = 0; i < COUNT_OF(absent); i++)
		CU_ASSERT_FALSE(found(links, LOW + absent[i] * 8, &value));
	/* Outside the region, and an address inside a kept word. */
	CU_ASSERT_FALSE(found(links, LOW - 8, &value));
	CU_ASSERT_FALSE(found(links, LOW + WORDS * 8, &value));
	CU_ASSERT_FALSE(found(links, LOW + 8 * 8 + 4, &value));
	heapwalk_link_words_close(links);
}

static void test_rule_keeps_free_and_fast_links(void) { check_five_chunks(64); }

static void test_rule_reveals_safe_links(void) { check_five_chunks(12); }

/* A fastbin-sized chunk's first word that does not reveal an aligned address among the regions
 * (in-use data: a misaligned value, one past the regions, one below them, the stored form of a
 * null safe link read as if it were plain) is not kept. */
static void test_implausible_fast_links_are_not_kept(void)
{
	const uint64_t stored[] = {LOW + 8, LOW + WORDS * 8, LOW - 16, (LOW + 26 * 8) >> 12};
	for (size_t i = 0; i < COUNT_OF(stored); i++) {
		uint64_t segment[WORDS], value;
		five_chunks(segment, 64);
		segment[26] = stored[i];
		struct heapwalk_link_words *links = take_five_chunks(segment, 64, 100, WORDS);
		CU_ASSERT_FALSE(found(links, LOW + 26 * 8, &value));
		CU_ASSERT_EQUAL(heapwalk_link_words_count(links), 2);
		heapwalk_link_words_close(links);
	}
}

/* A free chunk whose links lie in the window before the one that holds the next header (the
 * window moved on) is not kept; with a window that holds both, it is. */
static void test_words_outside_the_window_are_not_kept(void)
{
	uint64_t segment[WORDS], value;
	five_chunks(segment, 64);
	/* Windows of 12 words: the free chunk's links (words 8, 9) are in [6, 18), the header that
	 * says it is free (word 24) in [24, 36). */
	struct heapwalk_link_words *links = take_five_chunks(segment, 64, 100, 12);
	CU_ASSERT_FALSE(found(links, LOW + 8 * 8, &value));
	CU_ASSERT_FALSE(found(links, LOW + 9 * 8, &value));
	CU_ASSERT_TRUE(found(links, LOW + 26 * 8, &value));
	CU_ASSERT_EQUAL(value, LOW);
	heapwalk_link_words_close(links);
}

/* With room for two words, the first two the rule meets are kept and nothing after them. */
static void test_budget_bounds_the_words_kept(void)
{
	uint64_t segment[WORDS], value;
	five_chunks(segment, 64);
	struct heapwalk_link_words *links = take_five_chunks(segment, 64, 2, WORDS);
	CU_ASSERT_EQUAL(heapwalk_link_words_count(links), 2);
	CU_ASSERT_TRUE(found(links, LOW + 8 * 8, &value));
	CU_ASSERT_TRUE(found(links, LOW + 9 * 8, &value));
	CU_ASSERT_FALSE(found(links, LOW + 26 * 8, &value));
	heapwalk_link_words_close(links);
}

/* Regions: begin names a region by its start, once; a region not begun finds nothing; notes with
 * no region begun keep nothing; impossible tables are refused. */
static void test_regions_are_taken_once(void)
{
	uint64_t segment[WORDS], value;
	five_chunks(segment, 64);
	uint64_t bounds[] = {LOW + 0x100000, LOW + 0x100000 + WORDS * 8, LOW, LOW + WORDS * 8};
	struct heapwalk_link_rule rule = rule_with_shift(64);
	struct heapwalk_link_words *links = heapwalk_link_words_open(bounds, 2, 100, &rule);
	CU_ASSERT_PTR_NOT_NULL_FATAL(links);
	note_segment(links, segment, WORDS, WORDS); /* nothing begun: nothing kept */
	CU_ASSERT_EQUAL(heapwalk_link_words_count(links), 0);
	CU_ASSERT_EQUAL(heapwalk_link_words_begin(links, LOW + 8), -1);
	CU_ASSERT_EQUAL_FATAL(heapwalk_link_words_begin(links, LOW), 0);
	note_segment(links, segment, WORDS, WORDS);
	heapwalk_link_words_seal(links);
	CU_ASSERT_EQUAL(heapwalk_link_words_begin(links, LOW), -1);
	CU_ASSERT_TRUE(found(links, LOW + 8 * 8, &value));
	CU_ASSERT_FALSE(found(links, LOW + 0x100000 + 8 * 8, &value));
	heapwalk_link_words_close(links);
	uint64_t empty[] = {LOW, LOW};
	CU_ASSERT_PTR_NULL(heapwalk_link_words_open(empty, 1, 100, &rule));
	CU_ASSERT_PTR_NULL(heapwalk_link_words_open(bounds, 0, 100, &rule));
	CU_ASSERT_PTR_NULL(heapwalk_link_words_open(bounds, 2, 0, &rule));
	CU_ASSERT_FALSE(heapwalk_link_words_find(NULL, LOW, &value));
}

/* Random segments of free, fastbin-sized and in-use chunks over several 4 KiB granules (and, with
 * a small budget over a large region, coarser ones), windows of random sizes: every word found is
 * the segment's word, and every free chunk's links and plausible fast link whose words lie in
 * the window of the header after it are found (the rule, written out again here). */
static void test_random_segments_find_their_words(void)
{
	enum { SEGMENT_WORDS = 8192, ROUNDS = 40 };
	uint64_t *segment = calloc(SEGMENT_WORDS, sizeof(*segment));
	unsigned char *expected = calloc(SEGMENT_WORDS, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(segment);
	CU_ASSERT_PTR_NOT_NULL_FATAL(expected);
	srand(7);
	for (int round = 0; round < ROUNDS; round++) {
		/* Every other round, a region far larger than the segment and a budget that makes its
		 * directory coarse (64 KiB granules and more). */
		const uint64_t low = 0x40000000;
		uint64_t high = low + (round % 2 ? (uint64_t)1 << 32 : SEGMENT_WORDS * 8);
		memset(segment, 0, SEGMENT_WORDS * sizeof(*segment));
		memset(expected, 0, SEGMENT_WORDS);
		size_t window = 16 + (size_t)rand() % 2048;
		size_t word = 0, base = 0, previous = SIZE_MAX;
		uint64_t previous_size = 0;
		/* Chunks up to near the end, then a top chunk that runs to the end (its PREV_INUSE set):
		 * each header decides the chunk before it, as the rule is written out here. */
		int last = 0;
		while (!last) {
			last = word + 40 >= SEGMENT_WORDS;
			uint64_t size =
			    last ? (SEGMENT_WORDS - word) * 8 : 0x20 + 0x10 * (uint64_t)(rand() % 12);
			int before_is_free = !last && rand() % 4 == 0;
			for (size_t w = word + 2; w < word + size / 8; w++)
				segment[w] = rand() % 3 == 0
				                 ? low + 16 * (uint64_t)(rand() % (SEGMENT_WORDS / 2))
				                 : (uint64_t)rand();
			segment[word + 1] = size | (before_is_free ? 0 : PREV_INUSE);
			if (previous != SIZE_MAX) {
				if (word + 1 >= base + window)
					base = word;
				int in_window = previous + 2 >= base;
				if (before_is_free) {
					expected[previous + 2] = expected[previous + 3] =
					    (unsigned char)in_window;
				} else if (previous_size <= 0x80 && in_window) {
					uint64_t link = segment[previous + 2];
					expected[previous + 2] =
					    link != 0 && !(link & 15) && link >= low && link < high;
				}
			}
			previous = word;
			previous_size = size;
			word += size / 8;
		}
		uint64_t bounds[] = {low, high};
		struct heapwalk_link_rule rule = rule_with_shift(64);
		struct heapwalk_link_words *links = heapwalk_link_words_open(bounds, 1, 1 << 14, &rule);
		CU_ASSERT_PTR_NOT_NULL_FATAL(links);
		CU_ASSERT_EQUAL_FATAL(heapwalk_link_words_begin(links, low), 0);
		note_segment(links, segment, SEGMENT_WORDS, window);
		heapwalk_link_words_seal(links);
		size_t kept = 0;
		for (size_t w = 0; w < SEGMENT_WORDS; w++) {
			uint64_t value;
			int is_found = found(links, low + 8 * w, &value);
			kept += (size_t)is_found;
			if (is_found)
				CU_ASSERT_EQUAL_FATAL(value, segment[w]);
			CU_ASSERT_EQUAL_FATAL(is_found, expected[w]);
		}
		CU_ASSERT_EQUAL(kept, heapwalk_link_words_count(links));
		heapwalk_link_words_close(links);
	}
	free(segment);
	free(expected);
}

CU_TestInfo link_words_tests[] = {
    {"free and fast links are kept, nothing else", test_rule_keeps_free_and_fast_links},
    {"safe links are revealed", test_rule_reveals_safe_links},
    {"implausible fast links are not kept", test_implausible_fast_links_are_not_kept},
    {"words outside the window are not kept", test_words_outside_the_window_are_not_kept},
    {"the budget bounds the words kept", test_budget_bounds_the_words_kept},
    {"regions are taken once", test_regions_are_taken_once},
    {"random segments find their words", test_random_segments_find_their_words},
    CU_TEST_INFO_NULL,
};
