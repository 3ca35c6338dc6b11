/*
 * test-native: the gdb extension's C helper (gdb/native/heapwalk.c) on crafted word buffers.
 *
 * The helper reads words from a heap that may be corrupted, so each case stages one kind of bad
 * input (sizes below 8, a size running past the end, a header past the end, a cycle, a link out
 * of the buffer, an unaligned link) and checks both the answer and that the loop stopped.  Every
 * buffer handed to the helper is a heap block of exactly its length (see exact_copy), so the
 * sanitizer build of this suite fails on a read one word past it.  Expected values are written
 * out by hand from the buffers, not recomputed with the loops under test.
 *
 * heapwalk.c is compiled into this file, so the structs and enums are the library's own.
 */
#define _GNU_SOURCE /* heapwalk.c's process_vm_readv, declared by the headers included first */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heapwalk.c"
#include "test_link_words.h"
#include "unit_result.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))
#define NONE UINT64_MAX

/* A heap copy of `count` words (at least one byte is allocated), so any read past the last word
 * is a heap overflow the sanitizer build reports. */
static uint64_t *exact_copy(const uint64_t *words, size_t count)
{
	uint64_t *copy = malloc(count ? count * sizeof(*copy) : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	if (count)
		memcpy(copy, words, count * sizeof(*copy));
	return copy;
}

static void assert_words(const struct heapwalk_words *words, const uint64_t *expected, size_t count)
{
	CU_ASSERT_EQUAL_FATAL(words->count, count);
	for (size_t i = 0; i < count; i++)
		CU_ASSERT_EQUAL(words->data[i], expected[i]);
}

/* ---- heapwalk_scan ------------------------------------------------------------------------ */

struct scan_result {
	struct heapwalk_words positions, fields;
	uint64_t header_past_end;
	int status;
};

/* Scan `count` words with the size word at index 1 (prev_size, size, ...), as on x86-64. */
static struct scan_result scan_words(const uint64_t *words, size_t count, size_t size_index)
{
	struct scan_result result = {{0}, {0}, 0, 0};
	uint64_t *copy = exact_copy(words, count);
	result.status = heapwalk_scan(copy, count, size_index, &result.positions, &result.fields,
	                              &result.header_past_end);
	free(copy);
	return result;
}

static void scan_free(struct scan_result *result)
{
	heapwalk_free_words(&result->positions);
	heapwalk_free_words(&result->fields);
}

static void test_scan_normal_walk(void)
{
	/* Chunks of 0x20, 0x30 and 0x40 bytes: 4 + 6 + 8 words, the last one ends the buffer. */
	uint64_t words[18] = {0};
	words[1] = 0x21;
	words[5] = 0x31;
	words[11] = 0x41;
	struct scan_result result = scan_words(words, COUNT_OF(words), 1);
	CU_ASSERT_EQUAL(result.status, 0);
	assert_words(&result.positions, (uint64_t[]){0, 4, 10}, 3);
	assert_words(&result.fields, (uint64_t[]){0x21, 0x31, 0x41}, 3);
	CU_ASSERT_EQUAL(result.header_past_end, NONE);
	scan_free(&result);
}

static void test_scan_flag_bits_do_not_move_the_walk(void)
{
	/* PREV_INUSE, IS_MMAPPED and NON_MAIN_ARENA in every combination: the step is size >> 3. */
	uint64_t words[34] = {0};
	for (size_t chunk = 0; chunk < 8; chunk++)
		words[chunk * 4 + 1] = 0x20 | chunk;
	words[33] = 0x10 | 7;
	struct scan_result result = scan_words(words, COUNT_OF(words), 1);
	CU_ASSERT_EQUAL(result.status, 0);
	assert_words(&result.positions, (uint64_t[]){0, 4, 8, 12, 16, 20, 24, 28, 32}, 9);
	assert_words(&result.fields, (uint64_t[]){0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x17}, 9);
	CU_ASSERT_EQUAL(result.header_past_end, NONE);
	scan_free(&result);
}

/* Sizes 0..7 would not move the walk: the chunk is kept and the walk ends there. */
static void test_scan_size_below_eight_stops(void)
{
	for (uint64_t size = 0; size < 8; size++) {
		uint64_t words[16] = {0};
		words[1] = 0x20;
		words[5] = size;
		words[9] = 0x31; /* never reached */
		struct scan_result result = scan_words(words, COUNT_OF(words), 1);
		CU_ASSERT_EQUAL(result.status, 0);
		assert_words(&result.positions, (uint64_t[]){0, 4}, 2);
		assert_words(&result.fields, (uint64_t[]){0x20, size}, 2);
		CU_ASSERT_EQUAL(result.header_past_end, NONE);
		scan_free(&result);
	}
	/* A zero size as the very first header. */
	uint64_t zero[4] = {0};
	struct scan_result result = scan_words(zero, COUNT_OF(zero), 1);
	assert_words(&result.positions, (uint64_t[]){0}, 1);
	assert_words(&result.fields, (uint64_t[]){0}, 1);
	scan_free(&result);
}

/* 8..15 move the walk by one word: slow, but forward, so the walk still ends. */
static void test_scan_one_word_steps(void)
{
	uint64_t words[6] = {0, 8, 8, 0xf, 0xf, 0xf};
	struct scan_result result = scan_words(words, COUNT_OF(words), 1);
	CU_ASSERT_EQUAL(result.status, 0);
	assert_words(&result.positions, (uint64_t[]){0, 1, 2, 3, 4}, 5);
	/* From word 5 the size word (index 6) is past the buffer. */
	CU_ASSERT_EQUAL(result.header_past_end, 5);
	scan_free(&result);
}

static void test_scan_size_to_the_end_and_past_it(void)
{
	uint64_t exact[12] = {0};
	exact[1] = 0x20;
	exact[5] = 0x41; /* words 4..11: exactly the rest */
	struct scan_result result = scan_words(exact, COUNT_OF(exact), 1);
	assert_words(&result.positions, (uint64_t[]){0, 4}, 2);
	CU_ASSERT_EQUAL(result.header_past_end, NONE);
	scan_free(&result);

	uint64_t past[12] = {0};
	past[1] = 0x20;
	past[5] = 0x51; /* one chunk of 10 words from word 4: past the end */
	result = scan_words(past, COUNT_OF(past), 1);
	assert_words(&result.positions, (uint64_t[]){0, 4}, 2);
	assert_words(&result.fields, (uint64_t[]){0x20, 0x51}, 2);
	CU_ASSERT_EQUAL(result.header_past_end, NONE);
	scan_free(&result);

	/* The largest sizes must not wrap the position round to the start. */
	uint64_t huge[8] = {0};
	huge[1] = UINT64_MAX;
	result = scan_words(huge, COUNT_OF(huge), 1);
	assert_words(&result.positions, (uint64_t[]){0}, 1);
	assert_words(&result.fields, (uint64_t[]){UINT64_MAX}, 1);
	scan_free(&result);
	huge[1] = 0x20;
	huge[5] = UINT64_MAX - 0x1f; /* a step of 2^61 - 4 words */
	result = scan_words(huge, COUNT_OF(huge), 1);
	assert_words(&result.positions, (uint64_t[]){0, 4}, 2);
	scan_free(&result);
}

static void test_scan_header_past_end(void)
{
	/* The second header starts at the last word: its size word would be word 5 of 5. */
	uint64_t words[5] = {0, 0x21, 0, 0, 0xdead};
	struct scan_result result = scan_words(words, COUNT_OF(words), 1);
	CU_ASSERT_EQUAL(result.status, 0);
	assert_words(&result.positions, (uint64_t[]){0}, 1);
	assert_words(&result.fields, (uint64_t[]){0x21}, 1);
	CU_ASSERT_EQUAL(result.header_past_end, 4);
	scan_free(&result);
}

static void test_scan_tiny_buffers(void)
{
	uint64_t one[1] = {0x21};
	struct scan_result result = scan_words(one, 1, 1);
	CU_ASSERT_EQUAL(result.positions.count, 0);
	CU_ASSERT_EQUAL(result.header_past_end, 0);
	scan_free(&result);

	result = scan_words(one, 1, 0); /* size word first: one chunk, which runs past the end */
	assert_words(&result.positions, (uint64_t[]){0}, 1);
	assert_words(&result.fields, (uint64_t[]){0x21}, 1);
	CU_ASSERT_EQUAL(result.header_past_end, NONE);
	scan_free(&result);

	result = scan_words(one, 0, 1);
	CU_ASSERT_EQUAL(result.positions.count, 0);
	CU_ASSERT_EQUAL(result.header_past_end, NONE);
	scan_free(&result);

	uint64_t two[2] = {0, 0x10};
	result = scan_words(two, 2, 1);
	assert_words(&result.positions, (uint64_t[]){0}, 1);
	CU_ASSERT_EQUAL(result.header_past_end, NONE);
	scan_free(&result);

	result = scan_words(two, 2, 5); /* a size word beyond any buffer this small */
	CU_ASSERT_EQUAL(result.positions.count, 0);
	CU_ASSERT_EQUAL(result.header_past_end, 0);
	scan_free(&result);
}

/* Many chunks (the arrays grow several times) and random sizes: whatever the words, every kept
 * header's size word is in the buffer, each step is size >> 3, and the walk ends the way the
 * last header says. */
static void test_scan_random_buffers_keep_their_invariants(void)
{
	enum { WORDS = 6000 };
	uint64_t *words = calloc(WORDS, sizeof(*words));
	CU_ASSERT_PTR_NOT_NULL_FATAL(words);
	for (size_t i = 1; i + 4 <= WORDS; i += 4)
		words[i] = 0x21;
	struct scan_result result = scan_words(words, WORDS, 1);
	CU_ASSERT_EQUAL(result.positions.count, WORDS / 4);
	CU_ASSERT_EQUAL(result.positions.data[WORDS / 4 - 1], WORDS - 4);
	scan_free(&result);

	srand(20260212);
	for (int round = 0; round < 300; round++) {
		size_t count = (size_t)(rand() % 200);
		for (size_t i = 0; i < count; i++)
			words[i] = (uint64_t)(rand() % 8 ? rand() % 0x60 : rand());
		size_t size_index = (size_t)(rand() % 3);
		result = scan_words(words, count, size_index);
		CU_ASSERT_EQUAL_FATAL(result.status, 0);
		CU_ASSERT_EQUAL_FATAL(result.positions.count, result.fields.count);
		uint64_t expected_next = 0;
		for (size_t row = 0; row < result.positions.count; row++) {
			uint64_t position = result.positions.data[row];
			CU_ASSERT_EQUAL_FATAL(position, expected_next);
			CU_ASSERT_FATAL(position + size_index < count);
			CU_ASSERT_EQUAL_FATAL(result.fields.data[row], words[position + size_index]);
			expected_next = position + (result.fields.data[row] >> 3);
		}
		if (result.header_past_end != NONE) {
			CU_ASSERT_EQUAL_FATAL(result.header_past_end, expected_next);
			CU_ASSERT_FATAL(result.header_past_end + size_index >= count);
			CU_ASSERT_FATAL(result.header_past_end < count);
		} else if (result.positions.count) {
			uint64_t last = result.fields.data[result.positions.count - 1];
			CU_ASSERT_FATAL(last >> 3 == 0 || expected_next >= count);
		} else {
			CU_ASSERT_EQUAL_FATAL(count, 0);
		}
		scan_free(&result);
	}
	free(words);
}

/* ---- heapwalk_follow ---------------------------------------------------------------------- */

/* The buffer stands for the inferior's [LOW, LOW + 8 * word count); chunks are 16-aligned and
 * link through fd (offset 16). */
#define LOW 0x55555555a000ull
#define FD 16
#define PLAIN 64
#define SAFE 12
#define ALIGNED 15
#define ANY_ALIGNMENT 0

struct follow_result {
	struct heapwalk_words entries;
	uint64_t next;
	int stop;
};

static uint64_t chunk(size_t number) { return LOW + 0x20 * number; }

/* Store `target` as the fd of the chunk at `address`, safe-linked when shift is SAFE. */
static void link_to(uint64_t *words, uint64_t address, uint64_t target, unsigned shift)
{
	uint64_t slot = address + FD;
	words[(slot - LOW) / 8] = shift == SAFE ? target ^ (slot >> 12) : target;
}

static struct follow_result follow_words(const uint64_t *words, size_t count, uint64_t address,
                                         unsigned shift, uint64_t alignment_mask, uint64_t end, size_t limit)
{
	struct follow_result result = {{0}, 0, -1};
	uint64_t *copy = exact_copy(words, count);
	result.stop = heapwalk_follow(copy, LOW, count, address, FD, shift, alignment_mask, end, limit,
	                              &result.entries, &result.next);
	free(copy);
	return result;
}

/* What one call must answer: the stop code, *next, and the entries (only their number when
 * `entries` is NULL). */
struct expected_follow {
	int stop;
	uint64_t next;
	const uint64_t *entries;
	size_t count;
};
#define ENTRIES(...) (const uint64_t[]){__VA_ARGS__}, COUNT_OF(((const uint64_t[]){__VA_ARGS__}))
#define EXPECT(stop, next, ...) ((struct expected_follow){stop, next, __VA_ARGS__})

static void expect_follow(const uint64_t *words, size_t count, uint64_t address, unsigned shift,
                          uint64_t alignment_mask, uint64_t end, size_t limit,
                          struct expected_follow expected)
{
	struct follow_result result = follow_words(words, count, address, shift, alignment_mask, end, limit);
	CU_ASSERT_EQUAL(result.stop, expected.stop);
	CU_ASSERT_EQUAL(result.next, expected.next);
	if (expected.entries != NULL)
		assert_words(&result.entries, expected.entries, expected.count);
	else
		CU_ASSERT_EQUAL(result.entries.count, expected.count);
	heapwalk_free_words(&result.entries);
}

static void test_follow_plain_list_to_null(void)
{
	uint64_t words[32] = {0};
	link_to(words, chunk(0), chunk(3), PLAIN);
	link_to(words, chunk(3), chunk(1), PLAIN);
	link_to(words, chunk(1), 0, PLAIN);
	expect_follow(words, COUNT_OF(words), chunk(0), PLAIN, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_REACHED_END, 0, ENTRIES(chunk(0), chunk(3), chunk(1))));
}

static void test_follow_safe_linking(void)
{
	/* High enough that slot >> 12 is not zero, and two slots in different pages. */
	enum { WORDS = 0x400 };
	uint64_t *words = calloc(WORDS, sizeof(*words));
	CU_ASSERT_PTR_NOT_NULL_FATAL(words);
	uint64_t far = chunk(0x90); /* its fd slot is in the next page */
	link_to(words, chunk(1), far, SAFE);
	link_to(words, far, chunk(2), SAFE);
	link_to(words, chunk(2), 0, SAFE);
	expect_follow(words, WORDS, chunk(1), SAFE, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_REACHED_END, 0, ENTRIES(chunk(1), far, chunk(2))));

	/* A chunk 16 bytes before a page boundary: its fd slot is in the next page, and the slot's
	 * page, not the chunk's, is what the link is XORed with. */
	const uint64_t edge = LOW + 0xff0;
	link_to(words, chunk(2), edge, SAFE);
	link_to(words, edge, chunk(5), SAFE);
	link_to(words, chunk(5), 0, SAFE);
	CU_ASSERT_NOT_EQUAL((edge + FD) >> 12, edge >> 12);
	expect_follow(words, WORDS, chunk(1), SAFE, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_REACHED_END, 0, ENTRIES(chunk(1), far, chunk(2), edge, chunk(5))));

	/* The same words read as plain pointers: the first link is garbage and leaves the view. */
	expect_follow(words, WORDS, chunk(1), PLAIN, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_LEFT_VIEW, far ^ ((chunk(1) + FD) >> 12), ENTRIES(chunk(1))));
	free(words);
}

static void test_follow_reaches_end(void)
{
	/* A circular list whose head (the bin) lies outside the buffer. */
	const uint64_t head = 0x7ffff7fbe1c0ull;
	uint64_t words[32] = {0};
	link_to(words, chunk(0), chunk(2), PLAIN);
	link_to(words, chunk(2), head, PLAIN);
	expect_follow(words, COUNT_OF(words), chunk(0), PLAIN, ANY_ALIGNMENT, head, 100,
	              EXPECT(FOLLOW_REACHED_END, head, ENTRIES(chunk(0), chunk(2))));
	/* An empty list: the first address is already the end. */
	expect_follow(words, COUNT_OF(words), head, PLAIN, ANY_ALIGNMENT, head, 100,
	              EXPECT(FOLLOW_REACHED_END, head, NULL, 0));
	/* An end inside the buffer stops the walk before that chunk is taken. */
	expect_follow(words, COUNT_OF(words), chunk(0), PLAIN, ANY_ALIGNMENT, chunk(2), 100,
	              EXPECT(FOLLOW_REACHED_END, chunk(2), ENTRIES(chunk(0))));
}

static void test_follow_cycle(void)
{
	uint64_t words[32] = {0};
	link_to(words, chunk(0), chunk(1), SAFE);
	link_to(words, chunk(1), chunk(2), SAFE);
	link_to(words, chunk(2), chunk(1), SAFE);
	expect_follow(words, COUNT_OF(words), chunk(0), SAFE, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_REPEAT, chunk(1), ENTRIES(chunk(0), chunk(1), chunk(2))));

	/* A chunk that links to itself (a double free into an empty list). */
	link_to(words, chunk(3), chunk(3), SAFE);
	expect_follow(words, COUNT_OF(words), chunk(3), SAFE, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_REPEAT, chunk(3), ENTRIES(chunk(3))));

	/* A cycle through the last word of the buffer. */
	uint64_t last[9] = {0};
	const uint64_t at_end = LOW + 8 * 8 - FD; /* fd slot is word 8 */
	last[8] = at_end;
	expect_follow(last, COUNT_OF(last), at_end, PLAIN, ANY_ALIGNMENT, 0, 100,
	              EXPECT(FOLLOW_REPEAT, at_end, ENTRIES(at_end)));
}

static void test_follow_link_leaves_the_buffer(void)
{
	uint64_t words[16] = {0};
	const uint64_t outside = 0x7fffffffe010ull;
	link_to(words, chunk(0), chunk(1), SAFE);
	link_to(words, chunk(1), outside, SAFE);
	expect_follow(words, COUNT_OF(words), chunk(0), SAFE, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_LEFT_VIEW, outside, ENTRIES(chunk(0), chunk(1))));

	/* Below the buffer: the slot lies before LOW. */
	link_to(words, chunk(1), LOW - 0x20, SAFE);
	expect_follow(words, COUNT_OF(words), chunk(0), SAFE, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_LEFT_VIEW, LOW - 0x20, NULL, 2));

	/* A chunk header inside the buffer whose fd slot is the first word past it. */
	const uint64_t straddling = LOW + 8 * COUNT_OF(words) - FD;
	link_to(words, chunk(1), straddling, SAFE);
	expect_follow(words, COUNT_OF(words), chunk(0), SAFE, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_LEFT_VIEW, straddling, NULL, 2));

	/* A slot half in the buffer, half past it (4 bytes each side), with no alignment asked. */
	const uint64_t half = LOW + 8 * COUNT_OF(words) - 4 - FD;
	link_to(words, chunk(1), half, SAFE);
	expect_follow(words, COUNT_OF(words), chunk(0), SAFE, ANY_ALIGNMENT, 0, 100,
	              EXPECT(FOLLOW_LEFT_VIEW, half, NULL, 2));

	/* An empty buffer holds no slot at all. */
	expect_follow(words, 0, chunk(0), SAFE, ALIGNED, 0, 100, EXPECT(FOLLOW_LEFT_VIEW, chunk(0), NULL, 0));
}

static void test_follow_unaligned_address(void)
{
	uint64_t words[32] = {0};
	const uint64_t unaligned = chunk(2) + 8; /* 8-aligned, not 16-aligned */
	link_to(words, chunk(0), unaligned, PLAIN);
	link_to(words, unaligned, chunk(4), PLAIN);
	link_to(words, chunk(4), 0, PLAIN);
	/* Safe-linked lists must be 16-aligned: the walk hands the address back. */
	expect_follow(words, COUNT_OF(words), chunk(0), PLAIN, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_LEFT_VIEW, unaligned, ENTRIES(chunk(0))));
	/* Without the mask the same link is a plain step. */
	expect_follow(words, COUNT_OF(words), chunk(0), PLAIN, ANY_ALIGNMENT, 0, 100,
	              EXPECT(FOLLOW_REACHED_END, 0, ENTRIES(chunk(0), unaligned, chunk(4))));
	/* The very first address is checked too. */
	expect_follow(words, COUNT_OF(words), unaligned, PLAIN, ALIGNED, 0, 100,
	              EXPECT(FOLLOW_LEFT_VIEW, unaligned, NULL, 0));

	/* A slot that is not on a word boundary is never read, mask or not. */
	const uint64_t odd = chunk(2) + 3;
	link_to(words, chunk(0), odd, PLAIN);
	expect_follow(words, COUNT_OF(words), chunk(0), PLAIN, ANY_ALIGNMENT, 0, 100,
	              EXPECT(FOLLOW_LEFT_VIEW, odd, ENTRIES(chunk(0))));
}

static void test_follow_limit(void)
{
	/* 3000 chunks in a row, then null: the entries grow past their first 1024 words. */
	enum { CHUNKS = 3000 };
	uint64_t *words = calloc(CHUNKS * 4, sizeof(*words));
	CU_ASSERT_PTR_NOT_NULL_FATAL(words);
	for (size_t number = 0; number < CHUNKS; number++)
		link_to(words, chunk(number), number + 1 < CHUNKS ? chunk(number + 1) : 0, SAFE);
	struct follow_result result = follow_words(words, CHUNKS * 4, chunk(0), SAFE, ALIGNED, 0, CHUNKS + 1);
	CU_ASSERT_EQUAL(result.stop, FOLLOW_REACHED_END);
	CU_ASSERT_EQUAL_FATAL(result.entries.count, CHUNKS);
	for (size_t number = 0; number < CHUNKS; number++)
		CU_ASSERT_EQUAL_FATAL(result.entries.data[number], chunk(number));
	heapwalk_free_words(&result.entries);

	expect_follow(words, CHUNKS * 4, chunk(0), SAFE, ALIGNED, 0, 10,
	              EXPECT(FOLLOW_LIMIT, chunk(10), NULL, 10));
	expect_follow(words, CHUNKS * 4, chunk(0), SAFE, ALIGNED, 0, 0,
	              EXPECT(FOLLOW_LIMIT, chunk(0), NULL, 0));

	/* A list exactly as long as the limit: whether the end is seen or the limit hit first, the
	 * caller gets every entry and the address after them. */
	result = follow_words(words, CHUNKS * 4, chunk(CHUNKS - 5), SAFE, ALIGNED, 0, 5);
	CU_ASSERT(result.stop == FOLLOW_LIMIT || result.stop == FOLLOW_REACHED_END);
	CU_ASSERT_EQUAL(result.next, 0);
	CU_ASSERT_EQUAL(result.entries.count, 5);
	heapwalk_free_words(&result.entries);
	free(words);
}

/* Lists shaped like a rho: a tail of `tail` chunks, then a cycle of `length` chunks.  The answer
 * is the one of a walk that remembers every address: a cycle that closes within the limit gives
 * the entries up to the first repeat and names it; one that does not gives the first `limit`
 * entries and the address after them.  Closing exactly at the limit may be told either way. */
static void test_follow_cycles_of_every_shape(void)
{
	enum { MOST = 40, WORDS = 4 * 2 * MOST };
	uint64_t *words = calloc(WORDS, sizeof(*words));
	CU_ASSERT_PTR_NOT_NULL_FATAL(words);
	uint64_t sequence[3 * 2 * MOST];
	for (size_t tail = 0; tail < MOST; tail++) {
		for (size_t length = 1; length < MOST; length++) {
			size_t total = tail + length;
			/* Chunks in a scrambled order, so list order is not address order. */
			for (size_t i = 0; i < total; i++)
				sequence[i] = chunk((i * 7 + 3) % (2 * MOST));
			for (size_t i = total; i < COUNT_OF(sequence); i++)
				sequence[i] = sequence[tail + (i - tail) % length];
			memset(words, 0, WORDS * sizeof(*words));
			for (size_t i = 0; i < total; i++)
				link_to(words, sequence[i], sequence[i + 1], SAFE);
			const size_t limits[] = {1, total - 1, total, total + 1, 2 * total + 5};
			for (size_t which = 0; which < COUNT_OF(limits); which++) {
				size_t limit = limits[which];
				if (limit == 0)
					continue;
				struct follow_result result =
				    follow_words(words, WORDS, sequence[0], SAFE, ALIGNED, 0, limit);
				if (total < limit) {
					CU_ASSERT_EQUAL_FATAL(result.stop, FOLLOW_REPEAT);
					CU_ASSERT_EQUAL_FATAL(result.entries.count, total);
				} else if (total == limit) {
					CU_ASSERT_FATAL(result.stop == FOLLOW_REPEAT ||
					                result.stop == FOLLOW_LIMIT);
					CU_ASSERT_EQUAL_FATAL(result.entries.count, total);
				} else {
					CU_ASSERT_EQUAL_FATAL(result.stop, FOLLOW_LIMIT);
					CU_ASSERT_EQUAL_FATAL(result.entries.count, limit);
				}
				CU_ASSERT_EQUAL_FATAL(result.next, sequence[result.entries.count]);
				for (size_t i = 0; i < result.entries.count; i++)
					CU_ASSERT_EQUAL_FATAL(result.entries.data[i], sequence[i]);
				heapwalk_free_words(&result.entries);
			}
		}
	}

	/* Long tails into short cycles (a double free at the end of a long list), so the entries
	 * stored when the cycle is noticed fill their first allocation exactly or nearly. */
	enum { LONG = 1030 };
	uint64_t *long_words = calloc(4 * (LONG + 2), sizeof(*long_words));
	CU_ASSERT_PTR_NOT_NULL_FATAL(long_words);
	for (size_t tail = LONG - 8; tail < LONG; tail++) {
		for (size_t length = 1; length <= 2; length++) {
			memset(long_words, 0, 4 * (LONG + 2) * sizeof(*long_words));
			for (size_t i = 0; i + 1 < tail + length; i++)
				link_to(long_words, chunk(i), chunk(i + 1), SAFE);
			link_to(long_words, chunk(tail + length - 1), chunk(tail), SAFE);
			struct follow_result result =
			    follow_words(long_words, 4 * (LONG + 2), chunk(0), SAFE, ALIGNED, 0, 1 << 20);
			CU_ASSERT_EQUAL_FATAL(result.stop, FOLLOW_REPEAT);
			CU_ASSERT_EQUAL_FATAL(result.entries.count, tail + length);
			CU_ASSERT_EQUAL_FATAL(result.next, chunk(tail));
			CU_ASSERT_EQUAL_FATAL(result.entries.data[tail + length - 1],
			                      chunk(tail + length - 1));
			heapwalk_free_words(&result.entries);
		}
	}
	free(long_words);
	free(words);
}

/* heapwalk_follow_many, taking turns over many lists of different shapes in one buffer (ending at
 * null, at `end`, leaving the buffer, cycling, cut by their limits), answers each exactly as
 * heapwalk_follow answers it alone. */
static void test_follow_many_answers_as_one_by_one(void)
{
	enum { LISTS = 24, CHUNKS = 64 * LISTS, WORDS = 4 * CHUNKS };
	uint64_t *words = calloc(WORDS, sizeof(*words));
	CU_ASSERT_PTR_NOT_NULL_FATAL(words);
	struct heapwalk_list lists[LISTS];
	memset(lists, 0, sizeof(lists));
	for (size_t list = 0; list < LISTS; list++) {
		size_t length = 1 + (list * 13) % 60;
		unsigned shift = list % 2 ? SAFE : PLAIN;
		/* The list's chunks are spread over the buffer, interleaved with the other lists'. */
		for (size_t i = 0; i + 1 < length; i++)
			link_to(words, chunk(i * LISTS + list), chunk((i + 1) * LISTS + list), shift);
		uint64_t last = chunk((length - 1) * LISTS + list);
		uint64_t after[] = {0, chunk(list), LOW + 8 * WORDS + 0x100, last + 8, chunk(LISTS + list)};
		link_to(words, last, after[list % COUNT_OF(after)], shift);
		lists[list] = (struct heapwalk_list){.words = words,
		                                     .low = LOW,
		                                     .word_count = WORDS,
		                                     .address = chunk(list),
		                                     .link_offset = FD,
		                                     .alignment_mask = list % 3 ? ALIGNED : ANY_ALIGNMENT,
		                                     .end = list % 4 == 1 ? chunk(2 * LISTS + list) : 0,
		                                     .limit = list % 5 == 2 ? length / 2 + 1 : 1000,
		                                     .shift = shift};
	}
	struct heapwalk_list alone[LISTS];
	memcpy(alone, lists, sizeof(lists));
	heapwalk_follow_many(lists, LISTS);
	int stops_seen[FOLLOW_NO_MEMORY + 1] = {0};
	for (size_t list = 0; list < LISTS; list++) {
		if (lists[list].stop >= 0 && lists[list].stop <= FOLLOW_NO_MEMORY)
			stops_seen[lists[list].stop]++;
		struct follow_result expected = {{0}, 0, -1};
		expected.stop = heapwalk_follow(words, LOW, WORDS, alone[list].address, FD, alone[list].shift,
		                                alone[list].alignment_mask, alone[list].end,
		                                alone[list].limit, &expected.entries, &expected.next);
		CU_ASSERT_EQUAL(lists[list].stop, expected.stop);
		CU_ASSERT_EQUAL(lists[list].next, expected.next);
		assert_words(&lists[list].entries, expected.entries.data, expected.entries.count);
		heapwalk_free_words(&expected.entries);
		heapwalk_free_words(&lists[list].entries);
	}
	/* Every way a walk can end was among them. */
	CU_ASSERT(stops_seen[FOLLOW_REACHED_END] > 0);
	CU_ASSERT(stops_seen[FOLLOW_REPEAT] > 0);
	CU_ASSERT(stops_seen[FOLLOW_LEFT_VIEW] > 0);
	CU_ASSERT(stops_seen[FOLLOW_LIMIT] > 0);
	free(words);
}

/* ---- heapwalk_classify -------------------------------------------------------------------- */

enum {
	KIND_TCACHE = ROW_TCACHE,
	KIND_FASTBIN = ROW_FASTBIN,
	KIND_UNSORTED = ROW_UNSORTED,
	KIND_SMALLBIN = ROW_SMALLBIN
};
/* The size field's bits as glibc 2.36 on x86-64 has them; the extension passes its geometry's. */
#define PREV_INUSE_BIT 1ull
#define SIZE_MASK (~(uint64_t)7)
#define START 0x555555559000ull
#define UNTOUCHED 0xee
#define MAX_ROWS 16

static const uint8_t kind_of_value[] = {KIND_TCACHE, KIND_FASTBIN, KIND_UNSORTED, KIND_SMALLBIN};

/* The listed addresses and, at the same index, their list numbers, as classify takes them. */
struct listed {
	const uint64_t *addresses;
	const uint32_t *values;
	size_t count;
};

#define LISTED(addresses_, values_) ((struct listed){(addresses_), (values_), COUNT_OF(addresses_)})
#define NOTHING_LISTED ((struct listed){NULL, NULL, 0})

struct classify_result {
	uint8_t codes[MAX_ROWS];
	struct heapwalk_words binned_rows, binned_values, free_rows;
	int status;
};

/* Every buffer in an exact heap copy, so a read one element past any of them fails the sanitizer
 * build; `codes` past `count` stay UNTOUCHED where a row got no verdict. */
static struct classify_result classify_at(const uint64_t *positions, const uint64_t *fields, size_t count,
                                          size_t cut, int64_t top_row, uint64_t start, struct listed listed)
{
	struct classify_result result;
	memset(&result, 0, sizeof(result));
	CU_ASSERT_FATAL(count <= MAX_ROWS);
	uint64_t *position_copy = exact_copy(positions, count);
	uint64_t *field_copy = exact_copy(fields, count);
	uint64_t *address_copy = exact_copy(listed.addresses, listed.count);
	uint32_t *value_copy = malloc(listed.count ? listed.count * sizeof(*value_copy) : 1);
	uint8_t *codes = malloc(count ? count : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(value_copy);
	CU_ASSERT_PTR_NOT_NULL_FATAL(codes);
	if (listed.count)
		memcpy(value_copy, listed.values, listed.count * sizeof(*value_copy));
	memset(codes, UNTOUCHED, count);
	result.status =
	    heapwalk_classify(position_copy, field_copy, count, cut, top_row, start, address_copy, value_copy,
	                      listed.count, NULL, 0, kind_of_value, COUNT_OF(kind_of_value), PREV_INUSE_BIT,
	                      codes, &result.binned_rows, &result.binned_values, &result.free_rows);
	memset(result.codes, UNTOUCHED, sizeof(result.codes));
	memcpy(result.codes, codes, count);
	/* The same with the listed addresses' bounds by blocks of two: the same verdicts. */
	uint64_t *bounds = malloc((listed.count / 2 + 1) * 2 * sizeof(*bounds));
	CU_ASSERT_PTR_NOT_NULL_FATAL(bounds);
	heapwalk_listed_bounds(address_copy, listed.count, 1, bounds);
	struct heapwalk_words bounded[3] = {{0}};
	memset(codes, UNTOUCHED, count);
	CU_ASSERT_EQUAL(heapwalk_classify(position_copy, field_copy, count, cut, top_row, start, address_copy,
	                                  value_copy, listed.count, bounds, 1, kind_of_value,
	                                  COUNT_OF(kind_of_value), PREV_INUSE_BIT, codes, &bounded[0],
	                                  &bounded[1], &bounded[2]),
	                result.status);
	CU_ASSERT(count == 0 || memcmp(codes, result.codes, count) == 0);
	assert_words(&bounded[0], result.binned_rows.data, result.binned_rows.count);
	assert_words(&bounded[1], result.binned_values.data, result.binned_values.count);
	assert_words(&bounded[2], result.free_rows.data, result.free_rows.count);
	for (size_t k = 0; k < 3; k++)
		heapwalk_free_words(&bounded[k]);
	free(bounds);
	free(codes);
	free(value_copy);
	free(address_copy);
	free(field_copy);
	free(position_copy);
	return result;
}

/* Rows of 0x20 bytes (4 words each) from START; fields give each row's size field. */
static struct classify_result classify(const uint64_t *fields, size_t count, size_t cut, int64_t top_row,
                                       struct listed listed)
{
	uint64_t positions[MAX_ROWS];
	for (size_t row = 0; row < MAX_ROWS; row++)
		positions[row] = 4 * row;
	return classify_at(positions, fields, count, cut, top_row, START, listed);
}

static void classify_free(struct classify_result *result)
{
	heapwalk_free_words(&result->binned_rows);
	heapwalk_free_words(&result->binned_values);
	heapwalk_free_words(&result->free_rows);
}

static void assert_codes(const struct classify_result *result, const uint8_t *expected, size_t count)
{
	for (size_t row = 0; row < count; row++)
		CU_ASSERT_EQUAL(result->codes[row], expected[row]);
}

static void test_classify_rows(void)
{
	/* Row 1 in a tcache (list 0), row 3 in the unsorted bin (list 2), row 6 (top) listed too. */
	const uint64_t addresses[] = {START + 0x20, START + 0x60, START + 0xc0};
	const uint32_t values[] = {0, 2, 2};
	/* Row 4's successor clears PREV_INUSE: free; row 3's too, but row 3 is listed. */
	const uint64_t fields[7] = {0x21, 0x21, 0x21, 0x21, 0x20, 0x20, 0x21};
	struct classify_result result = classify(fields, 7, 7, 6, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(
	    &result,
	    (uint8_t[]){ROW_IN_USE, KIND_TCACHE, ROW_IN_USE, KIND_UNSORTED, ROW_FREE, ROW_IN_USE, ROW_TOP},
	    7);
	assert_words(&result.binned_rows, (uint64_t[]){1, 3}, 2);
	assert_words(&result.binned_values, (uint64_t[]){0, 2}, 2);
	assert_words(&result.free_rows, (uint64_t[]){4}, 1);
	classify_free(&result);

	/* Without a top row the last row has no successor to say it is free. */
	const uint64_t no_top[3] = {0x21, 0x20, 0x20};
	result = classify(no_top, 3, 3, -1, LISTED(addresses, values));
	assert_codes(&result, (uint8_t[]){ROW_FREE, KIND_TCACHE, ROW_IN_USE}, 3);
	assert_words(&result.free_rows, (uint64_t[]){0}, 1);
	classify_free(&result);
}

static void test_classify_top_wins_over_free(void)
{
	const uint64_t fields[4] = {0x21, 0x21, 0x20, 0x20};
	struct classify_result result = classify(fields, 4, 4, 1, NOTHING_LISTED);
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(&result, (uint8_t[]){ROW_IN_USE, ROW_TOP, ROW_FREE, ROW_IN_USE}, 4);
	assert_words(&result.free_rows, (uint64_t[]){2}, 1);
	CU_ASSERT_EQUAL(result.binned_rows.count, 0);
	classify_free(&result);
}

static void test_classify_first_list_wins(void)
{
	/* Rows 0..3 at START, 0x20, 0x40, 0x60.  Row 1 is named by lists 0 and 1, row 2 by list 1
	 * twice (a cycle) and then by list 3, row 3 by list 3 then list 0 (a later list with a
	 * smaller number still comes later), row 0 by list 2 only. */
	const uint64_t addresses[] = {START + 0x20, START + 0x40, START + 0x20, START + 0x40,
	                              START + 0x60, START + 0x40, START,        START + 0x60};
	const uint32_t values[] = {0, 1, 1, 1, 3, 3, 2, 0};
	const uint64_t fields[4] = {0x21, 0x20, 0x20, 0x20};
	struct classify_result result = classify(fields, 4, 4, -1, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(&result, (uint8_t[]){KIND_UNSORTED, KIND_TCACHE, KIND_FASTBIN, KIND_SMALLBIN}, 4);
	/* In row order, not in the order of the listing. */
	assert_words(&result.binned_rows, (uint64_t[]){0, 1, 2, 3}, 4);
	assert_words(&result.binned_values, (uint64_t[]){2, 0, 1, 3}, 4);
	CU_ASSERT_EQUAL(result.free_rows.count, 0);
	classify_free(&result);
}

static void test_classify_addresses_outside_the_segment(void)
{
	/* Rows at START .. START + 0x60; the rows end at START + 0x80. */
	const uint64_t addresses[] = {
	    START - 0x20,        START - 8, START + 0x80, START + 0x1000, START + 0x100000000ull,
	    UINT64_MAX & ~15ull, 0,         16,           START + 0x20};
	const uint32_t values[] = {0, 0, 0, 1, 1, 1, 2, 2, 3};
	const uint64_t fields[4] = {0x21, 0x21, 0x21, 0x21};
	struct classify_result result = classify(fields, 4, 4, -1, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(&result, (uint8_t[]){ROW_IN_USE, KIND_SMALLBIN, ROW_IN_USE, ROW_IN_USE}, 4);
	assert_words(&result.binned_rows, (uint64_t[]){1}, 1);
	assert_words(&result.binned_values, (uint64_t[]){3}, 1);
	classify_free(&result);
}

static void test_classify_address_zero_is_never_listed(void)
{
	/* A segment at address 0: its first header is at 0, and a 0 in a list is its end, not a chunk. */
	const uint64_t positions[3] = {0, 4, 8};
	const uint64_t addresses[] = {0, 0x20};
	const uint32_t values[] = {1, 2};
	const uint64_t fields[3] = {0x21, 0x21, 0x21};
	struct classify_result result =
	    classify_at(positions, fields, 3, 3, -1, 0, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(&result, (uint8_t[]){ROW_IN_USE, KIND_UNSORTED, ROW_IN_USE}, 3);
	assert_words(&result.binned_rows, (uint64_t[]){1}, 1);
	classify_free(&result);
}

static void test_classify_addresses_between_headers(void)
{
	/* Headers at START + 0x00, 0x20, 0x40, 0x60: every address below names no header, whether it
	 * is misaligned, a word inside a chunk, or 16-byte aligned inside one. */
	const uint64_t addresses[] = {START + 0x21, START + 0x24, START + 0x27, START + 0x08, START + 0x28,
	                              START + 0x38, START + 0x10, START + 0x30, START + 0x50, START + 0x1f};
	const uint32_t values[] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3};
	const uint64_t fields[4] = {0x21, 0x21, 0x21, 0x21};
	struct classify_result result = classify(fields, 4, 4, -1, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(&result, (uint8_t[]){ROW_IN_USE, ROW_IN_USE, ROW_IN_USE, ROW_IN_USE}, 4);
	CU_ASSERT_EQUAL(result.binned_rows.count, 0);
	classify_free(&result);
}

/* Headers in granules of the header map far apart (a segment of gigabytes held in a few huge
 * chunks): a granule holds 4096 slots of two words, 8192 words.  Headers at both ends of the
 * first granule, the start of the second and two in a granule 2^30 words on each find their
 * row; words in the gap between, and past the last header, find none. */
static void test_classify_headers_granules_apart(void)
{
	const uint64_t far = 1ull << 30;
	const uint64_t positions[6] = {0, 8190, 8192, 8194, far, far + 2};
	const uint64_t fields[6] = {0x9, 0x9, 0x9, 0x9, 0x9, 0x9};
	const uint64_t addresses[] = {START + 8 * 8190,      START + 8 * 8192,  START + 8 * (far / 2),
	                              START + 8 * (far + 2), START + 8 * 16384, START + 8 * far,
	                              START + 8 * (far + 4), START + 8 * 8194};
	const uint32_t values[] = {0, 1, 0, 3, 0, 2, 0, 1};
	struct classify_result result =
	    classify_at(positions, fields, 6, 6, -1, START, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(
	    &result,
	    (uint8_t[]){ROW_IN_USE, KIND_TCACHE, KIND_FASTBIN, KIND_FASTBIN, KIND_UNSORTED, KIND_SMALLBIN},
	    6);
	assert_words(&result.binned_rows, (uint64_t[]){1, 2, 3, 4, 5}, 5);
	assert_words(&result.binned_values, (uint64_t[]){0, 1, 1, 2, 3}, 5);
	classify_free(&result);
}

static void test_classify_headers_at_odd_words(void)
{
	/* A damaged heap: headers at words 0, 3, 4, 9, 10 and 75 (past the first 64 words, so the
	 * row count of a later block matters).  Each header's own address finds its row; the words
	 * between them, odd or even, find none. */
	const uint64_t positions[6] = {0, 3, 4, 9, 10, 75};
	const uint64_t addresses[] = {START + 8 * 3,  START + 8 * 9,  START + 8 * 2,
	                              START + 8 * 5,  START + 8 * 11, START + 8 * 75,
	                              START + 8 * 74, START + 8 * 76, START + 8 * 10};
	const uint32_t values[] = {0, 1, 2, 2, 2, 3, 3, 3, 2};
	const uint64_t fields[6] = {0x19, 0x9, 0x29, 0x9, 0x209, 0x21};
	struct classify_result result =
	    classify_at(positions, fields, 6, 6, -1, START, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(
	    &result,
	    (uint8_t[]){ROW_IN_USE, KIND_TCACHE, ROW_IN_USE, KIND_FASTBIN, KIND_UNSORTED, KIND_SMALLBIN}, 6);
	assert_words(&result.binned_rows, (uint64_t[]){1, 3, 4, 5}, 4);
	assert_words(&result.binned_values, (uint64_t[]){0, 1, 2, 3}, 4);
	classify_free(&result);

	/* Even headers only, 16 bytes apart or more: an odd word 8 bytes past a header is no header. */
	const uint64_t even[4] = {0, 2, 6, 130};
	const uint64_t near[] = {START + 8,       START + 8 * 3,   START + 8 * 7, START + 8 * 131,
	                         START + 8 * 129, START + 8 * 128, START + 8 * 6};
	const uint32_t near_values[] = {0, 0, 0, 0, 0, 0, 1};
	result = classify_at(even, fields, 4, 4, -1, START, LISTED(near, near_values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(&result, (uint8_t[]){ROW_IN_USE, ROW_IN_USE, KIND_FASTBIN, ROW_IN_USE}, 4);
	assert_words(&result.binned_rows, (uint64_t[]){2}, 1);
	classify_free(&result);
}

static void test_classify_cut(void)
{
	const uint64_t addresses[] = {START + 0x60, START + 0x80};
	const uint32_t values[] = {1, 0};
	/* Rows past the cut get no verdict and are never listed; the last row before the cut reads
	 * the header at the cut. */
	const uint64_t fields[6] = {0x21, 0x21, 0x21, 0x20, 0x4140, 0x20};
	struct classify_result result = classify(fields, 6, 3, -1, LISTED(addresses, values));
	assert_codes(&result, (uint8_t[]){ROW_IN_USE, ROW_IN_USE, ROW_FREE, UNTOUCHED, UNTOUCHED, UNTOUCHED},
	             6);
	assert_words(&result.free_rows, (uint64_t[]){2}, 1);
	CU_ASSERT_EQUAL(result.binned_rows.count, 0);
	classify_free(&result);

	result = classify(fields, 6, 4, -1, LISTED(addresses, values));
	assert_codes(&result, (uint8_t[]){ROW_IN_USE, ROW_IN_USE, ROW_FREE, KIND_FASTBIN, UNTOUCHED}, 5);
	assert_words(&result.binned_rows, (uint64_t[]){3}, 1);
	assert_words(&result.binned_values, (uint64_t[]){1}, 1);
	classify_free(&result);

	/* A cut beyond the rows is the row count. */
	result = classify(fields, 6, 100, -1, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(&result,
	             (uint8_t[]){ROW_IN_USE, ROW_IN_USE, ROW_FREE, KIND_FASTBIN, KIND_TCACHE, ROW_IN_USE}, 6);
	assert_words(&result.binned_rows, (uint64_t[]){3, 4}, 2);
	classify_free(&result);

	result = classify(fields, 6, 0, -1, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(&result, (uint8_t[]){UNTOUCHED}, 1);
	CU_ASSERT_EQUAL(result.free_rows.count, 0);
	CU_ASSERT_EQUAL(result.binned_rows.count, 0);
	classify_free(&result);
}

static void test_classify_empty_inputs(void)
{
	/* No rows at all, with and without listed addresses. */
	const uint64_t addresses[] = {START, START + 0x20};
	const uint32_t values[] = {0, 1};
	struct classify_result result = classify(NULL, 0, 0, -1, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, 0);
	CU_ASSERT_EQUAL(result.binned_rows.count + result.free_rows.count, 0);
	classify_free(&result);
	result = classify(NULL, 0, 0, -1, NOTHING_LISTED);
	CU_ASSERT_EQUAL(result.status, 0);
	classify_free(&result);

	/* Rows, nothing listed: only free, top and in use. */
	const uint64_t fields[3] = {0x21, 0x20, 0x21};
	result = classify(fields, 3, 3, 2, NOTHING_LISTED);
	CU_ASSERT_EQUAL(result.status, 0);
	assert_codes(&result, (uint8_t[]){ROW_FREE, ROW_IN_USE, ROW_TOP}, 3);
	CU_ASSERT_EQUAL(result.binned_rows.count, 0);
	classify_free(&result);
}

static void test_classify_unknown_list_number(void)
{
	const uint64_t addresses[] = {START, START + 0x20};
	const uint32_t values[] = {40, UINT32_MAX};
	const uint64_t fields[3] = {0x21, 0x20, 0x20};
	struct classify_result result = classify(fields, 3, 3, -1, LISTED(addresses, values));
	/* Listed (so not free), but no kind code to give them. */
	assert_codes(&result, (uint8_t[]){ROW_IN_USE, ROW_IN_USE, ROW_IN_USE}, 3);
	assert_words(&result.binned_rows, (uint64_t[]){0, 1}, 2);
	assert_words(&result.binned_values, (uint64_t[]){40, UINT32_MAX}, 2);
	CU_ASSERT_EQUAL(result.free_rows.count, 0);
	classify_free(&result);
}

static void test_classify_positions_must_increase(void)
{
	const uint64_t positions[3] = {0, 8, 4};
	const uint64_t fields[3] = {0x41, 0x21, 0x21};
	const uint64_t addresses[] = {START + 0x20};
	const uint32_t values[] = {0};
	struct classify_result result =
	    classify_at(positions, fields, 3, 3, -1, START, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, CLASSIFY_BAD_POSITIONS);
	classify_free(&result);

	/* A position repeated is no increase either. */
	const uint64_t repeated[3] = {0, 4, 4};
	result = classify_at(repeated, fields, 3, 3, -1, START, LISTED(addresses, values));
	CU_ASSERT_EQUAL(result.status, CLASSIFY_BAD_POSITIONS);
	classify_free(&result);
}

/* The answer classify must give, found the slow way: each row's header address looked for in the
 * whole listing, first entry first. */
static void reference_classify(const uint64_t *positions, const uint64_t *fields, size_t count, size_t cut,
                               int64_t top_row, uint64_t start, const uint64_t *listed,
                               const uint32_t *listed_values, size_t listed_count, uint8_t *codes,
                               struct heapwalk_words *binned_rows, struct heapwalk_words *binned_values,
                               struct heapwalk_words *free_rows)
{
	if (cut > count)
		cut = count;
	for (size_t row = 0; row < cut; row++) {
		uint64_t header = start + 8 * positions[row];
		size_t first = SIZE_MAX;
		for (size_t i = 0; i < listed_count && first == SIZE_MAX; i++) {
			if (listed[i] != 0 && listed[i] == header)
				first = i;
		}
		if ((int64_t)row == top_row) {
			codes[row] = ROW_TOP;
		} else if (first != SIZE_MAX) {
			uint32_t value = listed_values[first];
			codes[row] = value < COUNT_OF(kind_of_value) ? kind_of_value[value] : ROW_IN_USE;
			CU_ASSERT_FATAL(append_word(binned_rows, row) == 0 &&
			                append_word(binned_values, value) == 0);
		} else if (row + 1 < count && !(fields[row + 1] & 1)) {
			codes[row] = ROW_FREE;
			CU_ASSERT_FATAL(append_word(free_rows, row) == 0);
		} else {
			codes[row] = ROW_IN_USE;
		}
	}
}

/* One rand() per statement: the order of calls within one expression is the compiler's choice,
 * and the rounds should be the same in every build of the suite. */
static uint64_t random_word(void)
{
	uint64_t word = (uint64_t)rand() << 42;
	word ^= (uint64_t)rand() << 21;
	return word ^ (uint64_t)rand();
}

/* Random segments, sane (every header 16 bytes apart) and damaged (headers at any word), against
 * listings that mix headers (of rows before the cut, past it, and top), words between headers,
 * misaligned and outside addresses, zeros, repeats and unknown list numbers. */
static void test_classify_matches_reference(void)
{
	enum { ROUNDS = 400, MOST_ROWS = 400, MOST_LISTED = 300 };
	srand(20260301);
	size_t seen_binned = 0, seen_free = 0, seen_damaged = 0;
	for (size_t round = 0; round < ROUNDS; round++) {
		size_t count = (size_t)(rand() % MOST_ROWS);
		size_t listed_count = (size_t)(rand() % MOST_LISTED);
		int damaged = rand() % 3 == 0;
		uint64_t start = round % 7 == 0 ? 0 : 0x7f0000000000ull + 16 * (uint64_t)(rand() % 0x10000);
		uint64_t *positions = malloc((count ? count : 1) * sizeof(*positions));
		uint64_t *fields = malloc((count ? count : 1) * sizeof(*fields));
		uint64_t *listed = malloc((listed_count ? listed_count : 1) * sizeof(*listed));
		uint32_t *values = malloc((listed_count ? listed_count : 1) * sizeof(*values));
		uint8_t *codes = malloc(count ? count : 1);
		uint8_t *expected_codes = malloc(count ? count : 1);
		CU_ASSERT_FATAL(positions && fields && listed && values && codes && expected_codes);
		uint64_t word = (uint64_t)(rand() % 3) * 2;
		for (size_t row = 0; row < count; row++) {
			positions[row] = word;
			word += damaged ? (uint64_t)(rand() % 9 + 1) : 2 * (uint64_t)(rand() % 6 + 1);
			fields[row] = (uint64_t)(rand() % 0x100) << 4;
			fields[row] |= (uint64_t)(rand() % 8);
		}
		seen_damaged += damaged;
		for (size_t i = 0; i < listed_count; i++) {
			uint64_t row_header = count ? start + 8 * positions[(size_t)rand() % count] : start;
			switch (rand() % 8) {
			case 0:
				listed[i] = row_header + 8 * (uint64_t)(rand() % 5);
				break;
			case 1:
				listed[i] = row_header + (uint64_t)(rand() % 16);
				break;
			case 2:
				listed[i] = start + 8 * (uint64_t)(rand() % (word + 8));
				break;
			case 3:
				listed[i] = rand() % 2 ? 0 : random_word();
				break;
			case 4:
				listed[i] = start - 8 * (uint64_t)(rand() % 4);
				break;
			case 5:
				listed[i] = i ? listed[(size_t)rand() % i] : row_header;
				break;
			default:
				listed[i] = row_header;
				break;
			}
			values[i] = (uint32_t)(rand() % (COUNT_OF(kind_of_value) + 2));
		}
		size_t cut = count ? (size_t)rand() % (count + 3) : 0;
		int64_t top_row = rand() % 2 && count ? rand() % (int64_t)count : -1;

		/* Every array is a heap block of exactly its length, for the sanitizer build. */
		struct heapwalk_words got[3] = {{0}}, want[3] = {{0}};
		memset(codes, UNTOUCHED, count);
		memset(expected_codes, UNTOUCHED, count);
		/* Every other case with the listed addresses' bounds, by blocks of 1 to 8. */
		unsigned block_shift = (unsigned)(rand() % 4);
		uint64_t *bounds = NULL;
		if (round % 2) {
			bounds = malloc(((listed_count >> block_shift) + 1) * 2 * sizeof(*bounds));
			CU_ASSERT_PTR_NOT_NULL_FATAL(bounds);
			heapwalk_listed_bounds(listed, listed_count, block_shift, bounds);
		}
		int status = heapwalk_classify(positions, fields, count, cut, top_row, start, listed, values,
		                               listed_count, bounds, block_shift, kind_of_value,
		                               COUNT_OF(kind_of_value), PREV_INUSE_BIT, codes, &got[0],
		                               &got[1], &got[2]);
		free(bounds);
		reference_classify(positions, fields, count, cut, top_row, start, listed, values,
		                   listed_count, expected_codes, &want[0], &want[1], &want[2]);
		CU_ASSERT_EQUAL_FATAL(status, 0);
		CU_ASSERT_FATAL(count == 0 || memcmp(codes, expected_codes, count) == 0);
		for (size_t k = 0; k < 3; k++) {
			assert_words(&got[k], want[k].data, want[k].count);
			heapwalk_free_words(&got[k]);
			heapwalk_free_words(&want[k]);
		}
		for (size_t row = 0; row < count && row < cut; row++) {
			seen_binned += expected_codes[row] >= KIND_TCACHE;
			seen_free += expected_codes[row] == ROW_FREE;
		}
		free(expected_codes);
		free(codes);
		free(values);
		free(listed);
		free(fields);
		free(positions);
	}
	/* The rounds did list rows, found free ones, and damaged heaps were among them. */
	CU_ASSERT(seen_binned > 1000);
	CU_ASSERT(seen_free > 1000);
	CU_ASSERT(seen_damaged > ROUNDS / 5);
}

/* ---- heapwalk_histogram ------------------------------------------------------------------- */

static int64_t histogram_count(const struct heapwalk_words *keys, const struct heapwalk_words *counts,
                               uint64_t key)
{
	int64_t found = -1;
	for (size_t i = 0; i < keys->count; i++) {
		if (keys->data[i] != key)
			continue;
		CU_ASSERT_EQUAL(found, -1); /* each key once */
		found = (int64_t)counts->data[i];
	}
	return found;
}

static int histogram(const uint64_t *fields, const uint8_t *codes, size_t cut, struct heapwalk_words *keys,
                     struct heapwalk_words *counts)
{
	uint64_t *field_copy = exact_copy(fields, cut);
	uint8_t *code_copy = malloc(cut ? cut : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(code_copy);
	if (cut)
		memcpy(code_copy, codes, cut);
	int status = heapwalk_histogram(field_copy, code_copy, cut, SIZE_MASK, keys, counts);
	free(code_copy);
	free(field_copy);
	return status;
}

static void test_histogram_key_zero(void)
{
	/* Size 0 in use is key 0, counted like any other key wherever it first appears. */
	const uint64_t fields[8] = {0x21, 0, 0x21, 0x1, 0x20, 0x7, 0x21, 0};
	const uint8_t codes[8] = {ROW_IN_USE, ROW_IN_USE, ROW_FREE,    ROW_IN_USE,
	                          ROW_TOP,    ROW_IN_USE, KIND_TCACHE, ROW_FREE};
	struct heapwalk_words keys = {0}, counts = {0};
	CU_ASSERT_EQUAL(histogram(fields, codes, 8, &keys, &counts), 0);
	assert_words(&keys, (uint64_t[]){0x20, 0, 0x21, 0x22, 0x23, 0x1}, 6);
	assert_words(&counts, (uint64_t[]){1, 3, 1, 1, 1, 1}, 6);
	heapwalk_free_words(&keys);
	heapwalk_free_words(&counts);

	/* Key 0 first, and only key 0. */
	const uint64_t zeros[3] = {0, 1, 0};
	const uint8_t in_use[3] = {0};
	CU_ASSERT_EQUAL(histogram(zeros, in_use, 3, &keys, &counts), 0);
	assert_words(&keys, (uint64_t[]){0}, 1);
	assert_words(&counts, (uint64_t[]){3}, 1);
	heapwalk_free_words(&keys);
	heapwalk_free_words(&counts);

	/* Only the first `cut` rows count; none at all is an empty answer. */
	CU_ASSERT_EQUAL(histogram(fields, codes, 2, &keys, &counts), 0);
	assert_words(&keys, (uint64_t[]){0x20, 0}, 2);
	assert_words(&counts, (uint64_t[]){1, 1}, 2);
	heapwalk_free_words(&keys);
	heapwalk_free_words(&counts);
	CU_ASSERT_EQUAL(histogram(fields, codes, 0, &keys, &counts), 0);
	CU_ASSERT_EQUAL(keys.count, 0);
	heapwalk_free_words(&keys);
	heapwalk_free_words(&counts);
}

static void test_histogram_many_keys(void)
{
	/* 2500 sizes, each in three rows (two in use, one free) plus a zero row now and then: the
	 * seen-table and the key arrays grow several times. */
	enum { SIZES = 2500, ROWS = SIZES * 3 + SIZES / 100 };
	uint64_t *fields = malloc(ROWS * sizeof(*fields));
	uint8_t *codes = malloc(ROWS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fields);
	CU_ASSERT_PTR_NOT_NULL_FATAL(codes);
	size_t row = 0;
	for (size_t pass = 0; pass < 3; pass++) {
		for (size_t size = 1; size <= SIZES; size++) {
			fields[row] = (size << 4) | (pass == 1 ? 4 : 1);
			codes[row++] = pass == 2 ? ROW_FREE : ROW_IN_USE;
			if (pass == 0 && size % 100 == 0) {
				fields[row] = 0;
				codes[row++] = ROW_IN_USE;
			}
		}
	}
	CU_ASSERT_EQUAL_FATAL(row, ROWS);
	struct heapwalk_words keys = {0}, counts = {0};
	CU_ASSERT_EQUAL(histogram(fields, codes, ROWS, &keys, &counts), 0);
	CU_ASSERT_EQUAL(keys.count, 2 * SIZES + 1);
	CU_ASSERT_EQUAL(counts.count, keys.count);
	CU_ASSERT_EQUAL(keys.data[0], 0x10);
	CU_ASSERT_EQUAL(keys.data[99], 0x640);
	CU_ASSERT_EQUAL(keys.data[100], 0);
	CU_ASSERT_EQUAL(histogram_count(&keys, &counts, 0), SIZES / 100);
	for (uint64_t size = 1; size <= SIZES; size += 37) {
		CU_ASSERT_EQUAL_FATAL(histogram_count(&keys, &counts, size << 4 | ROW_IN_USE), 2);
		CU_ASSERT_EQUAL_FATAL(histogram_count(&keys, &counts, size << 4 | ROW_FREE), 1);
	}
	uint64_t total = 0;
	for (size_t i = 0; i < counts.count; i++)
		total += counts.data[i];
	CU_ASSERT_EQUAL(total, ROWS);
	heapwalk_free_words(&keys);
	heapwalk_free_words(&counts);
	free(codes);
	free(fields);
}

/* Keys at random, as a damaged heap's size fields are: unlike the regular sizes above, they
 * collide in the table, and each must still be counted on its own, in order of first appearance,
 * as a plain search through the keys found so far counts them. */
static void test_histogram_random_keys(void)
{
	enum { DISTINCT = 1500, ROWS = 6000 };
	srand(20260302);
	uint64_t *choices = malloc(DISTINCT * sizeof(*choices));
	uint64_t *fields = malloc(ROWS * sizeof(*fields));
	uint8_t *codes = malloc(ROWS);
	CU_ASSERT_FATAL(choices && fields && codes);
	for (size_t i = 0; i < DISTINCT; i++)
		choices[i] = random_word();
	for (size_t row = 0; row < ROWS; row++) {
		fields[row] = choices[(size_t)rand() % DISTINCT];
		codes[row] = (uint8_t)(rand() % 8);
	}
	struct heapwalk_words keys = {0}, counts = {0}, expected_keys = {0}, expected_counts = {0};
	for (size_t row = 0; row < ROWS; row++) {
		uint64_t key = (fields[row] & ~(uint64_t)7) | codes[row];
		size_t entry = 0;
		while (entry < expected_keys.count && expected_keys.data[entry] != key)
			entry++;
		if (entry == expected_keys.count)
			CU_ASSERT_FATAL(append_word(&expected_keys, key) == 0 &&
			                append_word(&expected_counts, 0) == 0);
		expected_counts.data[entry]++;
	}
	CU_ASSERT_EQUAL(histogram(fields, codes, ROWS, &keys, &counts), 0);
	assert_words(&keys, expected_keys.data, expected_keys.count);
	assert_words(&counts, expected_counts.data, expected_counts.count);
	heapwalk_free_words(&keys);
	heapwalk_free_words(&counts);
	heapwalk_free_words(&expected_keys);
	heapwalk_free_words(&expected_counts);
	free(codes);
	free(fields);
	free(choices);
}

/* ---- heapwalk_follow_many through more buffers, heapwalk_tally, heapwalk_suspicious,
 * heapwalk_format ------------------------------------------------------------------------- */

/* A list whose chunks lie in two buffers (two heaps) is one walk when the second buffer is among
 * the list's `buffers`, and leaves its view at the first chunk of the second buffer otherwise. */
static void test_follow_many_goes_on_in_other_buffers(void)
{
	enum { WORDS = 64 };
	uint64_t *first = calloc(WORDS, sizeof(*first)), *second = calloc(WORDS, sizeof(*second));
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	CU_ASSERT_PTR_NOT_NULL_FATAL(second);
	uint64_t second_low = LOW + 0x10000;
	/* chunk(0) -> chunk(1) in the first buffer -> second_low + 0x20 -> second_low + 0x60 -> 0 */
	first[(chunk(0) + FD - LOW) / 8] = chunk(1);
	first[(chunk(1) + FD - LOW) / 8] = second_low + 0x20;
	second[(0x20 + FD) / 8] = second_low + 0x60;
	second[(0x60 + FD) / 8] = 0;
	struct heapwalk_buffer buffers[] = {{first, LOW, WORDS}, {second, second_low, WORDS}};
	for (int with_buffers = 0; with_buffers <= 1; with_buffers++) {
		struct heapwalk_list list = {.words = first,
		                             .low = LOW,
		                             .word_count = WORDS,
		                             .address = chunk(0),
		                             .link_offset = FD,
		                             .alignment_mask = ALIGNED,
		                             .end = 0,
		                             .limit = 100,
		                             .shift = PLAIN,
		                             .buffers = with_buffers ? buffers : NULL,
		                             .buffer_count = with_buffers ? 2 : 0};
		heapwalk_follow_many(&list, 1);
		if (with_buffers) {
			uint64_t expected[] = {chunk(0), chunk(1), second_low + 0x20, second_low + 0x60};
			CU_ASSERT_EQUAL(list.stop, FOLLOW_REACHED_END);
			assert_words(&list.entries, expected, COUNT_OF(expected));
		} else {
			uint64_t expected[] = {chunk(0), chunk(1)};
			CU_ASSERT_EQUAL(list.stop, FOLLOW_LEFT_VIEW);
			CU_ASSERT_EQUAL(list.next, second_low + 0x20);
			assert_words(&list.entries, expected, COUNT_OF(expected));
		}
		heapwalk_free_words(&list.entries);
	}
	free(first);
	free(second);
}

/* Lists in this process's own memory followed through its pages (a remote of our own pid), with
 * no buffer at all and a cache of two page slots, so that the pages the lists take turns on
 * evict each other: the entries are those of the lists, each list ends as it would in a buffer,
 * the back links are counted up to the first that breaks, and a link to a page that cannot be
 * read stops its list where it leads. */
static void test_follow_many_through_remote_pages(void)
{
	enum { PAGE_WORDS = 512, PAGES = 6, BK = 24 };
	uint64_t *memory = aligned_alloc(4096, PAGES * 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(memory);
	memset(memory, 0, PAGES * 4096);
	uint64_t base = (uint64_t)(uintptr_t)memory, head = base + 8;
	/* One list over pages 1, 3, 5, 1 (fd at +16, bk at +24, each bk naming the entry before),
	 * another over pages 2, 4, 2, whose pages share the two slots with the first's. */
	uint64_t first[] = {base + 4096, base + 3 * 4096 + 64, base + 5 * 4096 + 128, base + 4096 + 256};
	uint64_t second[] = {base + 2 * 4096, base + 4 * 4096 + 32, base + 2 * 4096 + 512};
	for (size_t i = 0; i < COUNT_OF(first); i++) {
		memory[(first[i] + FD - base) / 8] = i + 1 < COUNT_OF(first) ? first[i + 1] : head;
		memory[(first[i] + BK - base) / 8] = i ? first[i - 1] : head;
	}
	memory[(first[2] + BK - base) / 8] = 0x1234; /* the third entry's back link is broken */
	/* The second list's last entry links to a page unmapped below: the walk stops there. */
	void *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(gone != MAP_FAILED);
	munmap(gone, 4096);
	for (size_t i = 0; i < COUNT_OF(second); i++)
		memory[(second[i] + FD - base) / 8] =
		    i + 1 < COUNT_OF(second) ? second[i + 1] : (uint64_t)(uintptr_t)gone;
	struct heapwalk_remote *remote = heapwalk_remote_open(getpid(), 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(remote);
	struct heapwalk_list lists[] = {{.address = first[0],
	                                 .link_offset = FD,
	                                 .alignment_mask = ALIGNED,
	                                 .end = head,
	                                 .limit = 100,
	                                 .shift = PLAIN,
	                                 .remote = remote,
	                                 .back_offset = BK},
	                                {.address = second[0],
	                                 .link_offset = FD,
	                                 .alignment_mask = ALIGNED,
	                                 .end = 0,
	                                 .limit = 100,
	                                 .shift = PLAIN,
	                                 .remote = remote}};
	heapwalk_follow_many(lists, 2);
	CU_ASSERT_EQUAL(lists[0].stop, FOLLOW_REACHED_END);
	assert_words(&lists[0].entries, first, COUNT_OF(first));
	CU_ASSERT_EQUAL(lists[0].back_agreed, 2);
	CU_ASSERT_EQUAL(lists[1].stop, FOLLOW_LEFT_VIEW);
	CU_ASSERT_EQUAL(lists[1].next, (uint64_t)(uintptr_t)gone);
	assert_words(&lists[1].entries, second, COUNT_OF(second));
	CU_ASSERT(heapwalk_remote_pages_read(remote) >= 5);
	heapwalk_free_words(&lists[0].entries);
	heapwalk_free_words(&lists[1].entries);
	/* A list that comes back to its second entry through remote pages: a cycle, as in a buffer. */
	memory[(first[3] + FD - base) / 8] = first[1];
	struct heapwalk_list looping = {.address = first[0],
	                                .link_offset = FD,
	                                .alignment_mask = ALIGNED,
	                                .end = head,
	                                .limit = 100,
	                                .shift = PLAIN,
	                                .remote = remote};
	heapwalk_follow_many(&looping, 1);
	CU_ASSERT_EQUAL(looping.stop, FOLLOW_REPEAT);
	CU_ASSERT_EQUAL(looping.next, first[1]);
	assert_words(&looping.entries, first, COUNT_OF(first));
	heapwalk_free_words(&looping.entries);
	heapwalk_remote_close(remote);
	free(memory);
}

/* Lists that run through a live heap in one direction at different paces, as a program's bins
 * do (here: from the top of 64 MiB down, one entry every 512 bytes, 4 KiB and 32 KiB), followed
 * through a cache of 8 MiB of pages: the lists are kept within a few MiB of each other, so each
 * page is read about once, where lists taking plain turns drift apart and the slower ones read
 * again what the faster ones read long before; and the entries are the lists' own. */
static void test_follow_many_keeps_live_lists_together(void)
{
	enum { REGION = 64 << 20, SLOTS = 2048, LISTS = 3 };
	static const uint64_t gaps[LISTS] = {512, 4096, 32768};
	unsigned char *region =
	    mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(region != MAP_FAILED);
	uint64_t base = (uint64_t)(uintptr_t)region;
	struct heapwalk_remote *remote = heapwalk_remote_open(getpid(), SLOTS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(remote);
	struct heapwalk_list lists[LISTS];
	size_t lengths[LISTS];
	for (size_t l = 0; l < LISTS; l++) {
		/* Entry i of list l lies gaps[l] * (i + 1) below the top, 16 * l bytes into its slot so
		 * that the lists never share an entry; each links to the one below it, the last to 0. */
		lengths[l] = REGION / gaps[l] - 1;
		for (size_t i = 0; i < lengths[l]; i++) {
			uint64_t entry = base + REGION - gaps[l] * (i + 1) + 64 * l;
			uint64_t next = i + 1 < lengths[l] ? entry - gaps[l] : 0;
			memcpy(region + (entry - base) + FD, &next, sizeof(next));
		}
		lists[l] = (struct heapwalk_list){.address = base + REGION - gaps[l] + 64 * l,
		                                  .link_offset = FD,
		                                  .alignment_mask = ALIGNED,
		                                  .end = 0,
		                                  .limit = lengths[l] + 1,
		                                  .shift = PLAIN,
		                                  .remote = remote};
	}
	heapwalk_follow_many(lists, LISTS);
	for (size_t l = 0; l < LISTS; l++) {
		CU_ASSERT_EQUAL(lists[l].stop, FOLLOW_REACHED_END);
		CU_ASSERT_EQUAL_FATAL(lists[l].entries.count, lengths[l]);
		for (size_t i = 0; i < lengths[l]; i++)
			CU_ASSERT_EQUAL_FATAL(lists[l].entries.data[i],
			                      base + REGION - gaps[l] * (i + 1) + 64 * l);
		heapwalk_free_words(&lists[l].entries);
	}
	/* The densest list alone touches every page but the top one: 16,383 of them. */
	uint64_t pages = heapwalk_remote_pages_read(remote);
	CU_ASSERT(pages >= REGION / 4096 - 1);
	CU_ASSERT(pages <= REGION / 4096 + REGION / 4096 / 20);
	heapwalk_remote_close(remote);
	munmap(region, REGION);
}

/* A heap of 4 MiB in this process's memory walked a window at a time with its link words kept
 * (link_words.c), then its lists followed through its pages: a doubly linked list of free chunks
 * and a safe-linked fastbin list, each through the whole heap, give the same entries and back
 * links as without the kept words, and read a page only for the words not kept (a chunk at each
 * window's end, the fastbin's null end), where without them every page of the heap is read. */
static void test_follow_many_looks_up_kept_words(void)
{
	enum { HEAP = 4 << 20, CHUNK = 0x40, WINDOW_WORDS = 8192, BK = 24 };
	uint64_t *heap = mmap(NULL, HEAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(heap != MAP_FAILED);
	uint64_t low = (uint64_t)(uintptr_t)heap, head = 0x1000;
	size_t chunks = HEAP / CHUNK - 1; /* then a top chunk of one chunk's size */
	/* Chunks alternate: even ones free (the next header's PREV_INUSE clear), odd ones
	 * fastbin-sized and in use by their tags; both lists run from the top down. */
	for (size_t i = 0; i <= chunks; i++) {
		uint64_t *chunk = heap + i * CHUNK / 8;
		chunk[1] = CHUNK | (i % 2 == 1 ? 0 : 1);
	}
	heap[chunks * CHUNK / 8 + 1] = CHUNK | 1; /* top: the chunk before it is in use */
	uint64_t free_first = 0, fast_first = 0, previous_free = head;
	size_t free_count = 0, fast_count = 0;
	for (size_t i = chunks; i-- > 0;) {
		uint64_t address = low + i * CHUNK;
		uint64_t *chunk = heap + i * CHUNK / 8;
		if (i % 2 == 0) {
			chunk[3] = previous_free; /* bk */
			if (previous_free != head)
				heap[(previous_free - low) / 8 + 2] = address; /* fd of the one before */
			else
				free_first = address;
			previous_free = address;
			free_count++;
		} else {
			uint64_t next = i >= 2 ? address - 2 * CHUNK : 0;
			uint64_t slot = address + FD;
			chunk[2] = next ^ (slot >> 12);
			if (fast_first == 0)
				fast_first = address;
			fast_count++;
		}
	}
	heap[(previous_free - low) / 8 + 2] = head; /* the last free chunk links back to the head */
	uint64_t bounds[] = {low, low + HEAP};
	struct heapwalk_link_rule rule = {.fd_offset = FD,
	                                  .bk_offset = BK,
	                                  .size_mask = ~(uint64_t)7,
	                                  .prev_inuse = 1,
	                                  .fast_limit = 0x80,
	                                  .fast_shift = 12,
	                                  .alignment_mask = ALIGNED};
	struct heapwalk_link_words *links = heapwalk_link_words_open(bounds, 1, 1 << 20, &rule);
	CU_ASSERT_PTR_NOT_NULL_FATAL(links);
	CU_ASSERT_EQUAL_FATAL(heapwalk_link_words_begin(links, low), 0);
	uint64_t at = 0, past;
	int status = 1;
	while (status == 1) {
		uint64_t base = at;
		size_t count = HEAP / 8 - base < WINDOW_WORDS ? HEAP / 8 - base : WINDOW_WORDS;
		status = heapwalk_scan_window(heap + base, count, base, HEAP / 8, 1, 0, &at, NULL, NULL, NULL,
		                              links, &past);
		CU_ASSERT_FATAL(status == 0 || at > base);
	}
	heapwalk_link_words_seal(links);
	for (int with_links = 1; with_links >= 0; with_links--) {
		struct heapwalk_remote *remote = heapwalk_remote_open(getpid(), 64);
		CU_ASSERT_PTR_NOT_NULL_FATAL(remote);
		heapwalk_remote_use_links(remote, with_links ? links : NULL);
		struct heapwalk_list lists[] = {{.address = free_first,
		                                 .link_offset = FD,
		                                 .alignment_mask = 0,
		                                 .end = head,
		                                 .limit = HEAP,
		                                 .shift = PLAIN,
		                                 .remote = remote,
		                                 .back_offset = BK},
		                                {.address = fast_first,
		                                 .link_offset = FD,
		                                 .alignment_mask = ALIGNED,
		                                 .end = 0,
		                                 .limit = HEAP,
		                                 .shift = 12,
		                                 .remote = remote}};
		heapwalk_follow_many(lists, 2);
		CU_ASSERT_EQUAL(lists[0].stop, FOLLOW_REACHED_END);
		CU_ASSERT_EQUAL(lists[0].entries.count, free_count);
		CU_ASSERT_EQUAL(lists[0].back_agreed, free_count);
		CU_ASSERT_EQUAL(lists[1].stop, FOLLOW_REACHED_END);
		CU_ASSERT_EQUAL(lists[1].entries.count, fast_count);
		for (size_t e = 0; e < lists[0].entries.count && e < free_count; e++)
			CU_ASSERT_EQUAL_FATAL(lists[0].entries.data[e], free_first - 2 * CHUNK * e);
		for (size_t e = 0; e < lists[1].entries.count && e < fast_count; e++)
			CU_ASSERT_EQUAL_FATAL(lists[1].entries.data[e], fast_first - 2 * CHUNK * e);
		uint64_t pages = heapwalk_remote_pages_read(remote);
		/* With the kept words: a page where a window ended between a chunk's links and the
		 * header after it (its words are not kept), and the fastbin's end. */
		CU_ASSERT(with_links ? pages <= HEAP / (WINDOW_WORDS * 8) + 1 : pages >= HEAP / 4096);
		heapwalk_free_words(&lists[0].entries);
		heapwalk_free_words(&lists[1].entries);
		heapwalk_remote_close(remote);
	}
	heapwalk_link_words_close(links);
	munmap(heap, HEAP);
}

/* Words of this process read through its own pages in batches, with two page slots for five
 * pages: each word as it is, none from an unmapped page or an address inside a word. */
static void test_remote_words(void)
{
	enum { PAGES = 5 };
	uint64_t *memory = aligned_alloc(4096, PAGES * 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(memory);
	for (size_t i = 0; i < PAGES * 512; i++)
		memory[i] = 0x5000 + i;
	void *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(gone != MAP_FAILED);
	munmap(gone, 4096);
	uint64_t base = (uint64_t)(uintptr_t)memory;
	uint64_t addresses[] = {base + 8 * 513,  base + 8 * 2, base + 8 * 2047, (uint64_t)(uintptr_t)gone,
	                        base + 8 * 1030, base + 4,     base + 8 * 1,    base + 8 * 2559};
	uint64_t values[COUNT_OF(addresses)];
	uint8_t held[COUNT_OF(addresses)];
	struct heapwalk_remote *remote = heapwalk_remote_open(getpid(), 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(remote);
	heapwalk_remote_words(remote, addresses, COUNT_OF(addresses), values, held);
	uint8_t want_held[] = {1, 1, 1, 0, 1, 0, 1, 1};
	uint64_t want[] = {0x5000 + 513,  0x5000 + 2, 0x5000 + 2047, 0,
	                   0x5000 + 1030, 0,          0x5000 + 1,    0x5000 + 2559};
	for (size_t i = 0; i < COUNT_OF(addresses); i++) {
		CU_ASSERT_EQUAL(held[i], want_held[i]);
		if (held[i])
			CU_ASSERT_EQUAL(values[i], want[i]);
	}
	heapwalk_remote_close(remote);
	free(memory);
}

/* The walk of a segment a window at a time gives heapwalk_scan's rows over the whole segment,
 * with each row's prev_size, for every window size from the smallest that holds a header. */
static void test_scan_window_matches_the_whole_scan(void)
{
	enum { WORDS = 40 };
	uint64_t words[WORDS] = {0};
	/* Chunks of 0x20, 0x40, 0x10 (two words), 0x60, 0x30, then a size running past the end. */
	const uint64_t sizes[] = {0x21, 0x41, 0x11, 0x61, 0x31, 0x1001};
	size_t at = 0;
	for (size_t i = 0; i < COUNT_OF(sizes) && at + 1 < WORDS; i++) {
		words[at] = 0x100 + i; /* prev_size, to be seen beside the row */
		words[at + 1] = sizes[i];
		at += sizes[i] >> 3;
	}
	struct heapwalk_words positions = {0}, fields = {0};
	uint64_t past_whole;
	CU_ASSERT_EQUAL_FATAL(heapwalk_scan(words, WORDS, 1, &positions, &fields, &past_whole), 0);
	for (size_t window = 2; window <= WORDS; window++) {
		struct heapwalk_words got_positions = {0}, got_fields = {0}, prevs = {0};
		uint64_t next = 0, past = 0;
		int status = 1, windows = 0;
		while (status == 1 && windows++ < WORDS) {
			uint64_t base = next;
			size_t count = WORDS - base < window ? WORDS - base : window;
			status = heapwalk_scan_window(words + base, count, base, WORDS, 1, 0, &next,
			                              &got_positions, &got_fields, &prevs, NULL, &past);
			if (status == 1)
				CU_ASSERT_FATAL(next > base);
		}
		CU_ASSERT_EQUAL(status, 0);
		CU_ASSERT_EQUAL(past, past_whole);
		assert_words(&got_positions, positions.data, positions.count);
		assert_words(&got_fields, fields.data, fields.count);
		CU_ASSERT_EQUAL_FATAL(prevs.count, positions.count);
		for (size_t row = 0; row < prevs.count; row++)
			CU_ASSERT_EQUAL(prevs.data[row], words[positions.data[row]]);
		heapwalk_free_words(&got_positions);
		heapwalk_free_words(&got_fields);
		heapwalk_free_words(&prevs);
	}
	heapwalk_free_words(&positions);
	heapwalk_free_words(&fields);
}

/* A doubly linked list over two buffers: every back link agrees, then one breaks, then one lies
 * in no buffer; the answer is the first position that does not agree. */
static void test_back_links(void)
{
	enum { WORDS = 64, BK = 24 };
	uint64_t *first = calloc(WORDS, sizeof(*first)), *second = calloc(WORDS, sizeof(*second));
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	CU_ASSERT_PTR_NOT_NULL_FATAL(second);
	uint64_t second_low = LOW + 0x10000, head = 0x7000;
	struct heapwalk_buffer sorted[] = {{first, LOW, WORDS}, {second, second_low, WORDS}};
	uint64_t members[] = {chunk(0), chunk(1), second_low + 0x20, second_low + 0x60};
	first[(chunk(0) + BK - LOW) / 8] = head;
	first[(chunk(1) + BK - LOW) / 8] = chunk(0);
	second[(0x20 + BK) / 8] = chunk(1);
	second[(0x60 + BK) / 8] = second_low + 0x20;
	CU_ASSERT_EQUAL(heapwalk_back_links(sorted, 2, members, 4, head, BK), 4);
	CU_ASSERT_EQUAL(heapwalk_back_links(sorted, 2, members, 0, head, BK), 0);
	/* Without the second buffer the third entry's link is unread: the caller reads it. */
	CU_ASSERT_EQUAL(heapwalk_back_links(sorted, 1, members, 4, head, BK), 2);
	CU_ASSERT_EQUAL(heapwalk_back_links(sorted, 2, members, 4, head + 0x10, BK), 0);
	second[(0x60 + BK) / 8] = chunk(0);
	CU_ASSERT_EQUAL(heapwalk_back_links(sorted, 2, members, 4, head, BK), 3);
	/* An entry a word off its buffer's words, or past its end, lies in none. */
	uint64_t astray[] = {chunk(0), LOW + 8 * WORDS};
	CU_ASSERT_EQUAL(heapwalk_back_links(sorted, 2, astray, 2, head, BK), 1);
	uint64_t below[] = {LOW - 0x100};
	CU_ASSERT_EQUAL(heapwalk_back_links(sorted, 2, below, 1, head, BK), 0);
	free(first);
	free(second);
}

/* Rows per list with their smallest and largest sizes; rows past the fields and lists past the
 * count are passed over. */
static void test_tally_counts_rows_per_list(void)
{
	uint64_t fields[] = {0x21, 0x31, 0x20, 0x41, 0x35};
	uint64_t rows[] = {0, 2, 1, 4, 3, 9, 1};
	uint64_t numbers[] = {0, 0, 1, 1, 2, 0, 7};
	uint64_t counts[3] = {0}, low[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX}, high[3] = {0};
	heapwalk_tally(fields, COUNT_OF(fields), rows, numbers, COUNT_OF(rows), ~(uint64_t)7, 3, counts, low,
	               high);
	uint64_t want_counts[] = {2, 2, 1}, want_low[] = {0x20, 0x30, 0x40}, want_high[] = {0x20, 0x30, 0x40};
	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(counts[i], want_counts[i]);
		CU_ASSERT_EQUAL(low[i], want_low[i]);
		CU_ASSERT_EQUAL(high[i], want_high[i]);
	}
}

/* Each reason a chunk rule may fire, and a binned chunk whose successor agrees, which may not. */
static void test_suspicious_rows(void)
{
	/* Rows at words 0, 4, 8, 12, 16, 20: sizes 0x20 each (4 words). */
	uint64_t positions[] = {0, 4, 8, 12, 16, 20};
	uint64_t fields[] = {0x21, 0x20, 0x20, 0x11, 0x25, 0x21};
	uint64_t words[24] = {0};
	words[8] = 0x20;  /* row 2's prev_size matches row 1 (binned): agrees */
	words[4] = 0x999; /* row 1's prev_size does not match row 0 (not binned anyway) */
	uint8_t in_bin[] = {0, 1, 0, 0, 1, 0};
	uint8_t cached[] = {1, 0, 1, 1, 1, 1};
	struct heapwalk_words rows = {0};
	CU_ASSERT_EQUAL(heapwalk_suspicious(fields, positions, COUNT_OF(fields), words, COUNT_OF(words), 0,
	                                    NULL, in_bin, cached, 5, 0x20, 4, 1, 1, ~(uint64_t)7, &rows),
	                0);
	/* Row 1: PREV_INUSE clear after a row in no bin.  Row 2: clear after a binned row that agrees:
	 * not suspicious.  Row 3: below MINSIZE.  Row 4: NON_MAIN_ARENA in the main arena, cached.
	 * Row 5: PREV_INUSE set after a binned row (also top: only the size test spares top). */
	uint64_t expected[] = {1, 3, 4, 5};
	assert_words(&rows, expected, COUNT_OF(expected));
	heapwalk_free_words(&rows);
	/* The same rows with each one's prev_size given (a segment read a window at a time), and no
	 * words: the same verdicts. */
	uint64_t prev_sizes[] = {0, 0x999, 0x20, 0, 0, 0};
	CU_ASSERT_EQUAL(heapwalk_suspicious(fields, positions, COUNT_OF(fields), NULL, 0, 0, prev_sizes,
	                                    in_bin, cached, 5, 0x20, 4, 1, 1, ~(uint64_t)7, &rows),
	                0);
	assert_words(&rows, expected, COUNT_OF(expected));
	heapwalk_free_words(&rows);
}

/* Lines with hex or decimal addresses and each row's text; a small `capacity` makes the caller
 * come back for the rest, at a whole row. */
static void test_format_rows(void)
{
	uint64_t positions[] = {0, 2, 6};
	uint32_t text_of[] = {1, 0, 1};
	const char texts[] = "AB";
	uint64_t offsets[] = {0, 1, 2};
	char out[256];
	size_t next = 0;
	size_t written = heapwalk_format(positions, &next, 3, 0x1000, text_of, 2, texts, offsets, "  ", 2,
	                                 "\n", 1, 0, NULL, NULL, 0, NULL, out, sizeof(out));
	CU_ASSERT_EQUAL(next, 3);
	CU_ASSERT_EQUAL(written, strlen("  0x1000B\n  0x1010A\n  0x1030B"));
	CU_ASSERT(written == 29 && memcmp(out, "  0x1000B\n  0x1010A\n  0x1030B", written) == 0);
	next = 0;
	written = heapwalk_format(positions, &next, 3, 0, text_of, 2, texts, offsets, "{", 1, ",", 1, 1, NULL,
	                          NULL, 0, NULL, out, 48);
	CU_ASSERT_EQUAL(next, 1);
	CU_ASSERT(written == 3 && memcmp(out, "{0B", written) == 0);
	written = heapwalk_format(positions, &next, 3, 0, text_of, 2, texts, offsets, "{", 1, ",", 1, 1, NULL,
	                          NULL, 0, NULL, out, sizeof(out));
	CU_ASSERT_EQUAL(next, 3);
	CU_ASSERT(written == 9 && memcmp(out, "{16A,{48B", written) == 0);
	/* A number and a suffix text after a row's text, where the row has a number: the suffix is
	 * the one of the row's text. */
	uint64_t numbered_rows[] = {1, 2};
	uint64_t numbers[] = {12, 0};
	uint32_t suffix_of[] = {1, 0};
	next = 0;
	written = heapwalk_format(positions, &next, 3, 0, text_of, 2, texts, offsets, "", 0, ";", 1, 1,
	                          numbered_rows, numbers, 2, suffix_of, out, sizeof(out));
	CU_ASSERT(written == 15 && memcmp(out, "0B;16A12B;48B0A", 15) == 0);
	/* Come back mid-way: the numbered rows from there on are found again. */
	next = 2;
	written = heapwalk_format(positions, &next, 3, 0, text_of, 2, texts, offsets, "", 0, ";", 1, 1,
	                          numbered_rows, numbers, 2, suffix_of, out, sizeof(out));
	CU_ASSERT(next == 3 && written == 5 && memcmp(out, "48B0A", 5) == 0);
}

/* Rows numbered by (size field, code), and keyed rows by (size field, their key): pairs in the
 * order they first appear, each once, the numbers from `base` on. */
static void test_text_keys(void)
{
	uint64_t fields[] = {0x21, 0x31, 0x21, 0x21, 0x31, 0x21};
	uint8_t codes[] = {0, 0, 1, 0, 0, 3};
	uint64_t keyed_rows[] = {3, 5};
	uint64_t keys[] = {7, 7};
	uint32_t numbers[6];
	struct heapwalk_words pair_fields = {0}, pair_keys = {0};
	CU_ASSERT_EQUAL(
	    heapwalk_text_keys(fields, codes, 6, keyed_rows, keys, 2, 10, numbers, &pair_fields, &pair_keys),
	    0);
	uint32_t expected[] = {10, 11, 12, 13, 11, 13};
	CU_ASSERT(memcmp(numbers, expected, sizeof(expected)) == 0);
	uint64_t expected_fields[] = {0x21, 0x31, 0x21, 0x21};
	uint64_t expected_keys[] = {0, 0, 1, 7 + ROW_CODE_COUNT};
	assert_words(&pair_fields, expected_fields, COUNT_OF(expected_fields));
	assert_words(&pair_keys, expected_keys, COUNT_OF(expected_keys));
	heapwalk_free_words(&pair_fields);
	heapwalk_free_words(&pair_keys);
}

/* Each binned row's place in the list naming it first; an address listed again later counts
 * for its first listing only. */
static void test_entry_numbers(void)
{
	uint64_t positions[] = {0, 4, 8};
	uint64_t listed[] = {START + 32, START, START + 32, START + 64};
	uint32_t values[] = {0, 0, 1, 1};
	uint64_t list_first[] = {0, 2};
	uint64_t rows[] = {0, 1, 2};
	uint64_t out[3];
	CU_ASSERT_EQUAL(
	    heapwalk_entry_numbers(positions, 3, START, listed, values, 4, list_first, 2, rows, 3, out), 0);
	CU_ASSERT_EQUAL(out[0], 1);
	CU_ASSERT_EQUAL(out[1], 0);
	CU_ASSERT_EQUAL(out[2], 1);
}

/* heapwalk_refs: the words in [low, high), bounds exact (low in, high out), none past the buffer. */
static void test_refs_bounds(void)
{
	const uint64_t words[] = {0x0fff, 0x1000, 0x1008, 0x10ff, 0x1100, 0, UINT64_MAX, 0x1050};
	uint64_t *copy = exact_copy(words, COUNT_OF(words));
	struct heapwalk_words hits = {0};
	CU_ASSERT_EQUAL(heapwalk_refs(copy, COUNT_OF(words), 0x1000, 0x1100, &hits), 0);
	const uint64_t expected[] = {1, 2, 3, 7};
	assert_words(&hits, expected, COUNT_OF(expected));
	heapwalk_free_words(&hits);
	/* An empty range finds nothing; a range at the top of the address space wraps nowhere. */
	CU_ASSERT_EQUAL(heapwalk_refs(copy, COUNT_OF(words), 0x1100, 0x1100, &hits), 0);
	CU_ASSERT_EQUAL(hits.count, 0);
	CU_ASSERT_EQUAL(heapwalk_refs(copy, COUNT_OF(words), UINT64_MAX - 1, UINT64_MAX, &hits), 0);
	CU_ASSERT_EQUAL(hits.count, 0);
	CU_ASSERT_EQUAL(heapwalk_refs(copy, 0, 0, UINT64_MAX, &hits), 0);
	CU_ASSERT_EQUAL(hits.count, 0);
	heapwalk_free_words(&hits);
	free(copy);
}

/* heapwalk_refs_file: the words of a file range read a piece at a time into a buffer smaller
 * than the range, hits numbered from the range's first word with their values; zero words are
 * hits when the range holds 0; a file that ends first, or no file, stops with -2 and says how
 * far it got. */
static void test_refs_file(void)
{
	uint64_t words[40] = {0};
	words[1] = 0x1000;
	words[9] = 0x10ff;  /* in the second piece of 8 words */
	words[17] = 0x1100; /* one past the range: no hit */
	words[39] = 0x1050;
	FILE *file = tmpfile();
	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	int fd = dup(fileno(file));
	fclose(file); /* the file lives on, unnamed, while fd is open */
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, "skip", 4) == 4); /* the range starts at offset 8 */
	CU_ASSERT_FATAL(write(fd, "skip", 4) == 4);
	CU_ASSERT_FATAL(write(fd, words, sizeof(words)) == (ssize_t)sizeof(words));
	uint64_t buffer[8];
	struct heapwalk_words hits = {0}, values = {0};
	size_t words_read = 0;
	int error = -1;
	CU_ASSERT_EQUAL(
	    heapwalk_refs_file(fd, 8, 40, 0x1000, 0x1100, buffer, 8, &hits, &values, &words_read, &error), 0);
	CU_ASSERT_EQUAL(words_read, 40);
	CU_ASSERT_EQUAL(error, 0);
	assert_words(&hits, (uint64_t[]){1, 9, 39}, 3);
	assert_words(&values, (uint64_t[]){0x1000, 0x10ff, 0x1050}, 3);
	heapwalk_free_words(&hits);
	heapwalk_free_words(&values);
	/* A range holding 0 finds the zero words too, blocks of eight zeros included. */
	CU_ASSERT_EQUAL(
	    heapwalk_refs_file(fd, 8, 16, 0, 0x10, buffer, 8, &hits, &values, &words_read, &error), 0);
	CU_ASSERT_EQUAL(hits.count, 14);
	heapwalk_free_words(&hits);
	heapwalk_free_words(&values);
	/* The file ends 2 words into the asked range: the first piece's words are scanned. */
	CU_ASSERT_EQUAL(heapwalk_refs_file(fd, 8 + 30 * 8, 12, 0x1000, 0x1100, buffer, 8, &hits, &values,
	                                   &words_read, &error),
	                -2);
	CU_ASSERT_EQUAL(words_read, 8);
	CU_ASSERT_EQUAL(error, 0);
	heapwalk_free_words(&hits);
	heapwalk_free_words(&values);
	close(fd);
	CU_ASSERT_EQUAL(
	    heapwalk_refs_file(fd, 0, 4, 0x1000, 0x1100, buffer, 8, &hits, &values, &words_read, &error), -2);
	CU_ASSERT_EQUAL(words_read, 0);
	CU_ASSERT_EQUAL(error, EBADF);
	heapwalk_free_words(&hits);
	heapwalk_free_words(&values);
}

/* A column past 2 MiB is pages of its own, grown by mremap: 600,000 hits (two growths past the
 * first mapping) keep every index in order. */
static void test_words_grow_past_the_mapped_size(void)
{
	size_t count = 600000;
	uint64_t *words = malloc(count * sizeof(*words));
	CU_ASSERT_PTR_NOT_NULL_FATAL(words);
	for (size_t i = 0; i < count; i++)
		words[i] = 0x1000 + (i & 0xff);
	struct heapwalk_words hits = {0};
	CU_ASSERT_EQUAL(heapwalk_refs(words, count, 0x1000, 0x1100, &hits), 0);
	CU_ASSERT_EQUAL_FATAL(hits.count, count);
	CU_ASSERT(hits.capacity >= MAPPED_WORDS);
	size_t wrong = 0;
	for (size_t i = 0; i < count; i++)
		wrong += hits.data[i] != i;
	CU_ASSERT_EQUAL(wrong, 0);
	heapwalk_free_words(&hits);
	CU_ASSERT_PTR_NULL(hits.data);
	free(words);
}

/* heapwalk_diff: rows held only before are freed, only after allocated, in both with another
 * size resized, and rows not held are passed over wherever they are. */
static void test_diff_merge(void)
{
	const uint64_t a_addresses[] = {0x100, 0x200, 0x300, 0x400, 0x500};
	const uint64_t a_sizes[] = {0x20, 0x30, 0x40, 0x50, 0x60};
	const uint8_t a_held[] = {1, 1, 0, 1, 1};
	const uint64_t b_addresses[] = {0x100, 0x200, 0x300, 0x480, 0x500, 0x600};
	const uint64_t b_sizes[] = {0x20, 0x90, 0x40, 0x10, 0x60, 0x70};
	const uint8_t b_held[] = {1, 1, 1, 1, 0, 1};
	struct heapwalk_words allocated = {0}, freed = {0}, resized = {0};
	CU_ASSERT_EQUAL(heapwalk_diff(a_addresses, a_sizes, a_held, NULL, 5, b_addresses, b_sizes, b_held,
	                              NULL, 6, UINT32_MAX, &allocated, &freed, &resized),
	                0);
	const uint64_t expected_allocated[] = {2, 3, 5}, expected_freed[] = {3, 4};
	const uint64_t expected_resized[] = {1, 1};
	assert_words(&allocated, expected_allocated, COUNT_OF(expected_allocated));
	assert_words(&freed, expected_freed, COUNT_OF(expected_freed));
	assert_words(&resized, expected_resized, COUNT_OF(expected_resized));
	heapwalk_free_words(&allocated);
	heapwalk_free_words(&freed);
	heapwalk_free_words(&resized);
}

/* With sites, a chunk held at both stops under two known sites is freed and allocated again; an
 * unknown site on either side keeps it one chunk. */
static void test_diff_sites(void)
{
	const uint64_t addresses[] = {0x100, 0x200, 0x300};
	const uint64_t sizes[] = {0x20, 0x20, 0x20};
	const uint8_t held[] = {1, 1, 1};
	const uint32_t a_sites[] = {1, 1, UINT32_MAX}, b_sites[] = {1, 2, 3};
	struct heapwalk_words allocated = {0}, freed = {0}, resized = {0};
	CU_ASSERT_EQUAL(heapwalk_diff(addresses, sizes, held, a_sites, 3, addresses, sizes, held, b_sites, 3,
	                              UINT32_MAX, &allocated, &freed, &resized),
	                0);
	const uint64_t expected[] = {1};
	assert_words(&allocated, expected, 1);
	assert_words(&freed, expected, 1);
	CU_ASSERT_EQUAL(resized.count, 0);
	heapwalk_free_words(&allocated);
	heapwalk_free_words(&freed);
	heapwalk_free_words(&resized);
}

/* heapwalk_table_rows: each row's header is start + 8 * its word position, its size the field
 * without the flag bits, its arena the one given; the rows land where the caller points, and
 * nothing is written past them. */
static void test_table_rows(void)
{
	const uint64_t positions[] = {0, 4, 10}, fields[] = {0x21, 0x35, 0x20f07};
	uint64_t addresses[5] = {0}, sizes[5] = {0}, arenas[5] = {0};
	heapwalk_table_rows(positions, fields, 3, 0x1000, ~(uint64_t)7, 0xa000, addresses + 1, sizes + 1,
	                    arenas + 1);
	const uint64_t expected_addresses[] = {0, 0x1000, 0x1020, 0x1050, 0};
	const uint64_t expected_sizes[] = {0, 0x20, 0x30, 0x20f00, 0};
	const uint64_t expected_arenas[] = {0, 0xa000, 0xa000, 0xa000, 0};
	for (size_t i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(addresses[i], expected_addresses[i]);
		CU_ASSERT_EQUAL(sizes[i], expected_sizes[i]);
		CU_ASSERT_EQUAL(arenas[i], expected_arenas[i]);
	}
}

/* heapwalk_first_unordered: the first value not below the next one (an equal pair too), or the
 * count when they increase; none or one value always increases. */
static void test_first_unordered(void)
{
	const uint64_t increasing[] = {1, 2, 9, UINT64_MAX}, equal[] = {1, 5, 5, 7}, falling[] = {3, 2};
	CU_ASSERT_EQUAL(heapwalk_first_unordered(increasing, 4), 4);
	CU_ASSERT_EQUAL(heapwalk_first_unordered(equal, 4), 1);
	CU_ASSERT_EQUAL(heapwalk_first_unordered(falling, 2), 0);
	CU_ASSERT_EQUAL(heapwalk_first_unordered(falling, 1), 1);
	CU_ASSERT_EQUAL(heapwalk_first_unordered(NULL, 0), 0);
}

/* heapwalk_base64_decode: RFC 4648's test vectors, and what strict base64 refuses: a length
 * not a multiple of four, a character outside the alphabet, padding anywhere but at the end, and
 * more bytes than the room given. */
static void test_base64_decode(void)
{
	static const struct {
		const char *text, *bytes;
	} vectors[] = {{"", ""},
	               {"Zg==", "f"},
	               {"Zm8=", "fo"},
	               {"Zm9v", "foo"},
	               {"Zm9vYg==", "foob"},
	               {"Zm9vYmE=", "fooba"},
	               {"Zm9vYmFy", "foobar"}};
	uint8_t out[8];
	for (size_t i = 0; i < COUNT_OF(vectors); i++) {
		size_t length = strlen(vectors[i].bytes);
		CU_ASSERT_EQUAL(heapwalk_base64_decode((const uint8_t *)vectors[i].text,
		                                       strlen(vectors[i].text), out, sizeof(out)),
		                (long long)length);
		CU_ASSERT_EQUAL(memcmp(out, vectors[i].bytes, length), 0);
	}
	static const char *refused[] = {"Zg=",  "Zg",   "Zm9v!", "Zm9?", "Zg==Zm9v",
	                                "Z===", "=Zm9", "Zm=v",  "Zm 9v"};
	for (size_t i = 0; i < COUNT_OF(refused); i++)
		CU_ASSERT_EQUAL(
		    heapwalk_base64_decode((const uint8_t *)refused[i], strlen(refused[i]), out, sizeof(out)),
		    -1);
	CU_ASSERT_EQUAL(heapwalk_base64_decode((const uint8_t *)"Zm9vYmFy", 8, out, 5), -2);
	CU_ASSERT_EQUAL(heapwalk_base64_decode((const uint8_t *)"Zm9vYg==", 8, out, 3), -2);
	/* Every byte value comes back. */
	uint8_t all[256], text[344], back[256];
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (unsigned i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	size_t t = 0;
	for (size_t i = 0; i < 256; i += 3) {
		uint32_t group = (uint32_t)all[i] << 16 | (i + 1 < 256 ? (uint32_t)all[i + 1] << 8 : 0) |
		                 (i + 2 < 256 ? all[i + 2] : 0);
		text[t++] = (uint8_t)alphabet[group >> 18 & 63];
		text[t++] = (uint8_t)alphabet[group >> 12 & 63];
		text[t++] = i + 1 < 256 ? (uint8_t)alphabet[group >> 6 & 63] : '=';
		text[t++] = i + 2 < 256 ? (uint8_t)alphabet[group & 63] : '=';
	}
	CU_ASSERT_EQUAL(heapwalk_base64_decode(text, t, back, sizeof(back)), 256);
	CU_ASSERT_EQUAL(memcmp(back, all, sizeof(all)), 0);
}

int main(void)
{
	/* A loop that never ends is a failure too. */
	alarm(60);
	static CU_TestInfo scan_tests[] = {
	    {"normal walk", test_scan_normal_walk},
	    {"flag bits do not move the walk", test_scan_flag_bits_do_not_move_the_walk},
	    {"sizes 0..7 stop", test_scan_size_below_eight_stops},
	    {"sizes 8..15 step one word", test_scan_one_word_steps},
	    {"size to the end and past it", test_scan_size_to_the_end_and_past_it},
	    {"header past the end", test_scan_header_past_end},
	    {"empty, one- and two-word buffers", test_scan_tiny_buffers},
	    {"random buffers keep the invariants", test_scan_random_buffers_keep_their_invariants},
	    CU_TEST_INFO_NULL,
	};
	static CU_TestInfo follow_tests[] = {
	    {"plain list to null", test_follow_plain_list_to_null},
	    {"safe-linking", test_follow_safe_linking},
	    {"reaches end", test_follow_reaches_end},
	    {"cycle", test_follow_cycle},
	    {"link leaves the buffer", test_follow_link_leaves_the_buffer},
	    {"unaligned address", test_follow_unaligned_address},
	    {"limit", test_follow_limit},
	    {"cycles of every shape", test_follow_cycles_of_every_shape},
	    {"many lists at once answer as one by one", test_follow_many_answers_as_one_by_one},
	    CU_TEST_INFO_NULL,
	};
	static CU_TestInfo classify_tests[] = {
	    {"listed, free, top and in-use rows", test_classify_rows},
	    {"top wins over free", test_classify_top_wins_over_free},
	    {"cut below the row count", test_classify_cut},
	    {"first list wins", test_classify_first_list_wins},
	    {"addresses outside the segment", test_classify_addresses_outside_the_segment},
	    {"address 0 is never listed", test_classify_address_zero_is_never_listed},
	    {"addresses between headers", test_classify_addresses_between_headers},
	    {"headers at odd words", test_classify_headers_at_odd_words},
	    {"headers granules apart", test_classify_headers_granules_apart},
	    {"empty inputs", test_classify_empty_inputs},
	    {"list number without a kind", test_classify_unknown_list_number},
	    {"positions must increase", test_classify_positions_must_increase},
	    {"random segments match the reference", test_classify_matches_reference},
	    CU_TEST_INFO_NULL,
	};
	static CU_TestInfo histogram_tests[] = {
	    {"key 0", test_histogram_key_zero},
	    {"many distinct keys", test_histogram_many_keys},
	    {"random keys match a plain count", test_histogram_random_keys},
	    CU_TEST_INFO_NULL,
	};
	static CU_TestInfo newer_tests[] = {
	    {"follow_many goes on in other buffers", test_follow_many_goes_on_in_other_buffers},
	    {"tally counts rows per list", test_tally_counts_rows_per_list},
	    {"suspicious rows", test_suspicious_rows},
	    {"format rows", test_format_rows},
	    {"text keys", test_text_keys},
	    {"follow_many through remote pages", test_follow_many_through_remote_pages},
	    {"follow_many keeps live lists together", test_follow_many_keeps_live_lists_together},
	    {"scan_window matches the whole scan", test_scan_window_matches_the_whole_scan},
	    {"remote words", test_remote_words},
	    {"follow_many looks up kept words", test_follow_many_looks_up_kept_words},
	    {"entry numbers", test_entry_numbers},
	    {"back links", test_back_links},
	    {"refs bounds", test_refs_bounds},
	    {"refs over a file", test_refs_file},
	    {"words grow past the mapped size", test_words_grow_past_the_mapped_size},
	    {"diff merge", test_diff_merge},
	    {"diff with sites", test_diff_sites},
	    {"table rows", test_table_rows},
	    {"first unordered", test_first_unordered},
	    {"base64 decode", test_base64_decode},
	    CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
	    {"heapwalk_scan", NULL, NULL, NULL, NULL, scan_tests},
	    {"heapwalk_follow", NULL, NULL, NULL, NULL, follow_tests},
	    {"heapwalk_classify", NULL, NULL, NULL, NULL, classify_tests},
	    {"heapwalk_histogram", NULL, NULL, NULL, NULL, histogram_tests},
	    {"heapwalk tally, suspicious, format, buffers, refs, diff, table", NULL, NULL, NULL, NULL,
	     newer_tests},
	    {"link words", NULL, NULL, NULL, NULL, link_words_tests},
	    CU_SUITE_INFO_NULL,
	};
	if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(suites) != CUE_SUCCESS)
		return unit_registry_error();
	return unit_run_registry();
}
