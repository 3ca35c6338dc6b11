/* The inner loops of the gdb extension's heap walk, in C, for gdb's Python to call through ctypes
 * (gdb/ptmalloc/model/native.py): following the size fields through a heap segment, following bin
 * lists, finding each row's state and bin list, and counting rows by size and state.  Everything
 * else stays in Python; the extension runs the same loops in pure Python when this library is
 * absent, and the tests compare both.
 *
 * The loops work on heap segments the extension has already read into its own memory, so they
 * never touch the inferior.  The words come from a possibly corrupted heap: every index is
 * checked against the buffer before it is used, and every loop is bounded, so no input can make
 * gdb read outside the buffer or spin. */

#define _GNU_SOURCE /* process_vm_readv, mremap */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The row codes, generated from the extension's own table (gdb/ptmalloc/model/states.py). */
#include "heapwalk_row_codes.h"
#include "link_words.h"

/* The version of the functions' signatures.  gdb/ptmalloc/model/native.py declares them by hand and
 * refuses a library of another version, so a build from older sources is never called with
 * arguments it does not take.  Version 2: heapwalk_classify takes the listed addresses as two
 * arrays instead of a hash index.  Version 3: the allocator's numbers come from the caller
 * (heapwalk_classify's PREV_INUSE bit, heapwalk_histogram's size mask), and the row codes from
 * the generated header.  Version 4: heapwalk_tally,
 * heapwalk_suspicious, heapwalk_format, heapwalk_entry_numbers, and heapwalk_follow_many's lists go on
 * through more buffers.  Version 5: heapwalk_back_links.  Version 6: heapwalk_refs and
 * heapwalk_diff.  Version 7: heapwalk_format's numbers and suffixes come
 * from the numbered rows and the text table, heapwalk_text_keys, heapwalk_scan_window, the
 * remote pages of a live process (heapwalk_remote_*) that heapwalk_follow_many's lists read
 * and the back links they check, and heapwalk_suspicious's prev_sizes, and heapwalk_remote_words.
 * Version 8: heapwalk_table_rows, heapwalk_first_unordered, heapwalk_base64_decode,
 * heapwalk_refs_file, heapwalk_listed_bounds and heapwalk_classify's bounds.  Version 9: the link
 * words of link_words.c, which heapwalk_scan_window notes and the remote pages look up. */
int heapwalk_interface_version(void) { return 9; }

/* A growable array of 64-bit words, owned by this library until heapwalk_free_words(). */
struct heapwalk_words {
	uint64_t *data;
	size_t count;
	size_t capacity;
};

enum heapwalk_follow_stop {
	FOLLOW_REACHED_END = 0, /* the next address is the list's end marker */
	FOLLOW_REPEAT = 1,      /* the next address was already visited in this call: a cycle */
	FOLLOW_LEFT_VIEW = 2,   /* the next step is not a plain in-buffer step: Python takes it */
	FOLLOW_LIMIT = 3,       /* `limit` entries were taken */
	FOLLOW_NO_MEMORY = 4,   /* malloc failed; what was taken so far is valid */
	FOLLOW_WAIT = 5,        /* inside heapwalk_follow_many only: the step waits for a page */
};

/* A buffer of at least this many words (2 MiB) is pages of its own: mapped directly, with huge
 * pages asked for, and grown with mremap, which moves its pages without copying a byte.  Through
 * malloc, a column of ten million rows would be copied at each doubling below malloc's mmap
 * threshold, and each copy written into fresh pages, a fault for every 4 KiB. */
enum { MAPPED_WORDS = 1 << 18 };

static void *map_words(size_t bytes)
{
	void *mapped = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mapped == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(mapped, bytes, MADV_HUGEPAGE); /* only advice: small pages do too */
#endif
	return mapped;
}

static int grow_words(struct heapwalk_words *words)
{
	size_t capacity = words->capacity ? words->capacity * 2 : 1024;
	if (capacity > SIZE_MAX / sizeof(*words->data))
		return -1;
	size_t bytes = capacity * sizeof(*words->data);
	uint64_t *grown;
	if (capacity < MAPPED_WORDS) {
		grown = realloc(words->data, bytes);
	} else if (words->capacity >= MAPPED_WORDS) {
		void *moved =
		    mremap(words->data, words->capacity * sizeof(*words->data), bytes, MREMAP_MAYMOVE);
		grown = moved == MAP_FAILED ? NULL : moved;
#ifdef MADV_HUGEPAGE
		if (grown != NULL)
			madvise(grown, bytes, MADV_HUGEPAGE);
#endif
	} else {
		grown = map_words(bytes);
		if (grown != NULL) {
			if (words->count)
				memcpy(grown, words->data, words->count * sizeof(*words->data));
			free(words->data);
		}
	}
	if (grown == NULL)
		return -1;
	words->data = grown;
	words->capacity = capacity;
	return 0;
}

/* Inline, growing out of line: the loops append once per row. */
static inline int append_word(struct heapwalk_words *words, uint64_t value)
{
	if (words->count == words->capacity && grow_words(words))
		return -1;
	words->data[words->count++] = value;
	return 0;
}

void heapwalk_free_words(struct heapwalk_words *words)
{
	if (words->capacity >= MAPPED_WORDS)
		munmap(words->data, words->capacity * sizeof(*words->data));
	else
		free(words->data);
	words->data = NULL;
	words->count = words->capacity = 0;
}

/* How far ahead of the chunk being read heapwalk_scan asks for memory: 4 KB, a few dozen chunks of
 * a typical heap, far enough to cover the wait for memory (measured: 512 words did better than 64
 * or 128 on the 100,000-chunk benchmark heap, and 1024 no better). */
enum { SCAN_PREFETCH_WORDS = 512 };

/* Pass one of a segment read a window at a time (a live heap too big to copy whole): the window
 * `words` holds the segment's words [base, base + word_count) of its `total_words`, and the walk
 * goes on from the segment's word *at, stepping exactly as heapwalk_scan does over the whole
 * segment; each header's segment word goes to `positions`, its size field to `fields` and its
 * word at prev_index (prev_size) to `prevs` (each when not NULL), and each header is noted to
 * `links` (when not NULL; see link_words.c).  Returns 1 when the walk goes on in another
 * window, from the header *at (whose words this window does not hold), 0 when it ended
 * (*header_past_end as heapwalk_scan sets it), -1 when memory ran out. */
int heapwalk_scan_window(const uint64_t *words, size_t word_count, uint64_t base, uint64_t total_words,
                         size_t size_index, size_t prev_index, uint64_t *at, struct heapwalk_words *positions,
                         struct heapwalk_words *fields, struct heapwalk_words *prevs,
                         struct heapwalk_link_words *links, uint64_t *header_past_end)
{
	uint64_t word = *at;
	size_t needed = (size_index > prev_index ? size_index : prev_index) + 1;
	*header_past_end = UINT64_MAX;
	while (word < total_words) {
		if (size_index >= total_words - word) {
			*header_past_end = word;
			return 0;
		}
		if (word < base || word - base >= word_count || needed > word_count - (word - base)) {
			*at = word;
			return 1;
		}
		/* Each step's address comes from the size just read, so the processor cannot run
		 * ahead on its own; the walk only moves forward, so the lines ahead are asked for. */
		const uint64_t *header = words + (word - base);
		if (SCAN_PREFETCH_WORDS < word_count - (word - base))
			__builtin_prefetch(header + SCAN_PREFETCH_WORDS);
		uint64_t field = header[size_index];
		if ((positions != NULL && append_word(positions, word)) ||
		    (fields != NULL && append_word(fields, field)) ||
		    (prevs != NULL && append_word(prevs, header[prev_index])))
			return -1;
		if (links != NULL)
			heapwalk_link_words_note(links, words, word_count, base, word, field);
		uint64_t step = field >> 3;
		if (step == 0 || step >= total_words - word)
			break;
		word += step;
	}
	return 0;
}

/* Pass one of a segment scan (see gdb/ptmalloc/model/scan.py): from word 0, keep each chunk header's
 * word index in `positions` and its size field in `fields`, stepping by size >> 3 words (the
 * flag bits fall off the shift).  A size below 8 would not move: it ends the walk, as a step past
 * every segment would.  When a header's size word lies past the buffer, its position is not
 * kept and *header_past_end gets it (else UINT64_MAX).  Returns 0, or -1 when memory ran out. */
int heapwalk_scan(const uint64_t *words, size_t word_count, size_t size_index,
                  struct heapwalk_words *positions, struct heapwalk_words *fields, uint64_t *header_past_end)
{
	uint64_t at = 0; /* one window that holds the whole segment: the walk never leaves it */
	return heapwalk_scan_window(words, word_count, 0, word_count, size_index, size_index, &at, positions,
	                            fields, NULL, NULL, header_past_end) < 0
	           ? -1
	           : 0;
}

/* A live process's memory read a page at a time (process_vm_readv) into a cache of a bounded
 * number of pages, direct-mapped by page number: the lists of a heap too big to copy whole are
 * followed through the pages they touch.  A page that cannot be read is remembered as such. */
enum { REMOTE_PAGE = 4096, REMOTE_BATCH = 512 };

struct heapwalk_remote {
	int pid;
	size_t slot_count; /* a power of two */
	uint64_t *tags;    /* for each slot, the page it holds + 1, or 0 */
	unsigned char *pages;
	uint64_t *claims; /* while a batch is made up: the page + 1 each slot is to receive, or 0 */
	uint64_t pages_read;
	/* Words taken while pass one read the heap (NULL: none), looked up before any page. */
	const struct heapwalk_link_words *links;
};

void heapwalk_remote_close(struct heapwalk_remote *remote);

struct heapwalk_remote *heapwalk_remote_open(int pid, size_t slot_count)
{
	if (slot_count == 0 || (slot_count & (slot_count - 1)) || slot_count > SIZE_MAX / REMOTE_PAGE)
		return NULL;
	struct heapwalk_remote *remote = calloc(1, sizeof(*remote));
	if (remote == NULL)
		return NULL;
	remote->pid = pid;
	remote->slot_count = slot_count;
	remote->tags = calloc(slot_count, sizeof(*remote->tags));
	remote->claims = calloc(slot_count, sizeof(*remote->claims));
	remote->pages = malloc(slot_count * REMOTE_PAGE);
	if (remote->tags == NULL || remote->claims == NULL || remote->pages == NULL) {
		heapwalk_remote_close(remote);
		return NULL;
	}
	return remote;
}

void heapwalk_remote_close(struct heapwalk_remote *remote)
{
	if (remote == NULL)
		return;
	free(remote->tags);
	free(remote->claims);
	free(remote->pages);
	free(remote);
}

uint64_t heapwalk_remote_pages_read(const struct heapwalk_remote *remote) { return remote->pages_read; }

/* Look words up in `links` (NULL: no more) before reading their pages; the caller keeps `links`
 * open while the remote may use it. */
void heapwalk_remote_use_links(struct heapwalk_remote *remote, const struct heapwalk_link_words *links)
{
	remote->links = links;
}

static size_t remote_slot(const struct heapwalk_remote *remote, uint64_t page)
{
	uint64_t number = page / REMOTE_PAGE;
	return (size_t)(number ^ (number / remote->slot_count)) & (remote->slot_count - 1);
}

/* The aligned word at `address` when it was taken by pass one or its page is cached: 1, else 0. */
static int remote_word(const struct heapwalk_remote *remote, uint64_t address, uint64_t *value)
{
	if (heapwalk_link_words_find(remote->links, address, value))
		return 1;
	uint64_t page = address & ~(uint64_t)(REMOTE_PAGE - 1);
	size_t slot = remote_slot(remote, page);
	if (remote->tags[slot] != page + 1)
		return 0;
	memcpy(value, remote->pages + slot * REMOTE_PAGE + (address - page), sizeof(*value));
	return 1;
}

/* Read `count` distinct pages into their slots (no two of them sharing a slot), in as few calls
 * as the kernel allows; a page that cannot be read leaves its slot empty. */
static void remote_fetch(struct heapwalk_remote *remote, const uint64_t *pages, size_t count)
{
	struct iovec local[REMOTE_BATCH], far[REMOTE_BATCH];
	size_t first = 0;
	while (first < count) {
		size_t batch = count - first < REMOTE_BATCH ? count - first : REMOTE_BATCH;
		for (size_t i = 0; i < batch; i++) {
			size_t slot = remote_slot(remote, pages[first + i]);
			remote->tags[slot] = 0;
			local[i].iov_base = remote->pages + slot * REMOTE_PAGE;
			local[i].iov_len = REMOTE_PAGE;
			far[i].iov_base = (void *)(uintptr_t)pages[first + i];
			far[i].iov_len = REMOTE_PAGE;
		}
		ssize_t done = process_vm_readv(remote->pid, local, batch, far, batch, 0);
		size_t whole = done > 0 ? (size_t)done / REMOTE_PAGE : 0;
		for (size_t i = 0; i < whole; i++)
			remote->tags[remote_slot(remote, pages[first + i])] = pages[first + i] + 1;
		remote->pages_read += whole;
		first += whole < batch ? whole + 1 : batch; /* past the page the read stopped at */
	}
}

/* The words at addresses[0..count) of the live process through the remote's pages, read in
 * batches of pages as heapwalk_follow_many reads them: values[i] and held[i] = 1, or held[i] = 0
 * when the address is not a whole word's or its page cannot be read.  A batch ends before a page
 * whose slot another page of the batch (or a cached page it answers from) has, so that nothing
 * it reads is evicted before it is answered. */
void heapwalk_remote_words(struct heapwalk_remote *remote, const uint64_t *addresses, size_t count,
                           uint64_t *values, uint8_t *held)
{
	uint64_t pages[REMOTE_BATCH], claimed[2 * REMOTE_BATCH];
	size_t first = 0;
	while (first < count) {
		size_t fetched = 0, claims = 0, past = first;
		for (; past < count && fetched < REMOTE_BATCH && claims < 2 * REMOTE_BATCH; past++) {
			uint64_t kept;
			if ((addresses[past] & 7) ||
			    heapwalk_link_words_find(remote->links, addresses[past], &kept))
				continue;
			uint64_t page = addresses[past] & ~(uint64_t)(REMOTE_PAGE - 1);
			uint64_t *claim = &remote->claims[remote_slot(remote, page)];
			if (*claim == page + 1)
				continue;
			if (*claim != 0)
				break; /* the slot is another page's in this batch */
			*claim = page + 1;
			claimed[claims++] = page;
			if (remote->tags[remote_slot(remote, page)] != page + 1)
				pages[fetched++] = page;
		}
		for (size_t c = 0; c < claims; c++)
			remote->claims[remote_slot(remote, claimed[c])] = 0;
		remote_fetch(remote, pages, fetched);
		for (; first < past; first++)
			held[first] =
			    !(addresses[first] & 7) && remote_word(remote, addresses[first], &values[first]);
	}
}

/* Where a list that came back to an entry starts its cycle, given the cycle's `length`: the first
 * position of entries[0..count) whose value comes again `length` entries later.  When every entry
 * seen was stored (`complete`), the entry after the last one is the repeat and closes the search;
 * otherwise a cycle that does not close within the stored entries gives SIZE_MAX. */
static size_t cycle_start(const uint64_t *entries, size_t count, size_t length, int complete)
{
	for (size_t first = 0; first + length < count; first++) {
		if (entries[first] == entries[first + length])
			return first;
	}
	if (complete && count >= length)
		return count - length;
	return SIZE_MAX;
}

/* A buffer holding the bytes [low, low + 8 * word_count) of the inferior. */
struct heapwalk_buffer {
	const uint64_t *words;
	uint64_t low;
	size_t word_count;
};

/* The one of `buffers` (sorted by `low`, not overlapping) that holds the word at `slot`, a whole
 * number of words into it, or NULL. */
static const struct heapwalk_buffer *buffer_holding(const struct heapwalk_buffer *buffers,
                                                    size_t buffer_count, uint64_t slot)
{
	size_t first = 0, past = buffer_count;
	while (first < past) { /* the first buffer starting above slot */
		size_t middle = first + (past - first) / 2;
		if (buffers[middle].low <= slot)
			first = middle + 1;
		else
			past = middle;
	}
	if (first == 0)
		return NULL;
	const struct heapwalk_buffer *buffer = &buffers[first - 1];
	if ((slot - buffer->low) & 7 || (slot - buffer->low) / 8 >= buffer->word_count)
		return NULL;
	return buffer;
}

/* One list being followed through one buffer that holds the bytes [low, low + 8 * word_count) of
 * the inferior (see heapwalk_follow).  The fields up to `entries` are the caller's question;
 * `next` and `stop` the answer; the rest is the walk's own state. */
struct heapwalk_list {
	const uint64_t *words;
	uint64_t low;
	size_t word_count;
	uint64_t address; /* where the walk is: the next entry to look at */
	uint64_t link_offset;
	uint64_t alignment_mask;
	uint64_t end;
	size_t limit;
	unsigned shift;
	int stop; /* -1 while the walk goes on, then an enum heapwalk_follow_stop */
	struct heapwalk_words entries;
	uint64_t next;
	size_t steps;        /* entries looked at, also past the limit */
	uint64_t remembered; /* Brent's tortoise */
	size_t power, distance;
	uint64_t at_limit; /* the address after `limit` entries, for the caller */
	/* More buffers the walk may go on in, sorted by `low`, not overlapping (NULL, 0: none). */
	const struct heapwalk_buffer *buffers;
	size_t buffer_count;
	/* heapwalk_follow_many only: the live process's pages where no buffer holds a word (NULL:
	 * none), and the back links to check: each entry's word back_offset bytes in must name the
	 * entry before it (`end`, the list's head, for the first), 0 for none (a back link is never
	 * a chunk's first word).
	 * back_agreed counts the entries from the first on whose back links agree. */
	struct heapwalk_remote *remote;
	uint64_t back_offset;
	size_t back_agreed;
	uint64_t previous;
	uint64_t wait_pages[2]; /* while the step waits (FOLLOW_WAIT): the pages it needs */
};

static void list_start(struct heapwalk_list *list)
{
	list->stop = -1;
	list->back_agreed = 0;
	list->previous = list->end;
	list->steps = 0;
	list->remembered = 0;
	list->power = 1;
	list->distance = 0;
	list->at_limit = list->address;
}

static int in_buffer(const struct heapwalk_list *list, uint64_t slot)
{
	return slot >= list->low && !((slot - list->low) & 7) && (slot - list->low) / 8 < list->word_count;
}

/* Go on in the one of `buffers` that holds the word at `slot`: 1, or 0 when none does. */
static int enter_buffer(struct heapwalk_list *list, uint64_t slot)
{
	const struct heapwalk_buffer *buffer = buffer_holding(list->buffers, list->buffer_count, slot);
	if (buffer == NULL)
		return 0;
	list->words = buffer->words;
	list->low = buffer->low;
	list->word_count = buffer->word_count;
	return 1;
}

/* The word at `slot` for a list: 1 (and *value) from a buffer or a cached remote page, 0 when it
 * waits for the remote page *page, -1 when nothing holds it. */
static int list_word(struct heapwalk_list *list, uint64_t slot, uint64_t *value, uint64_t *page)
{
	if (in_buffer(list, slot) || enter_buffer(list, slot)) {
		*value = list->words[(slot - list->low) / 8];
		return 1;
	}
	if (list->remote == NULL || (slot & 7))
		return -1;
	if (remote_word(list->remote, slot, value))
		return 1;
	*page = slot & ~(uint64_t)(REMOTE_PAGE - 1);
	return 0;
}

/* One step of the walk; sets `stop` when the walk ends, or to FOLLOW_WAIT, with nothing taken,
 * when a word it needs is on a remote page not read yet (list->wait_pages names them). */
static void list_step(struct heapwalk_list *list)
{
	/* Brent's method closes a cycle of tail t and length l within 2 * max(t, l) + l steps: three
	 * times the limit covers every cycle that closes within the limit. */
	if (list->steps >= 3 * list->limit + 3) {
		list->stop = FOLLOW_LIMIT;
		return;
	}
	uint64_t address = list->address;
	if (list->steps == list->limit)
		list->at_limit = address;
	if (address == list->end) {
		list->stop = FOLLOW_REACHED_END;
		return;
	}
	uint64_t slot = address + list->link_offset, stored = 0, back = 0;
	uint64_t link_page = UINT64_MAX, back_page = UINT64_MAX;
	int found = (address & list->alignment_mask) ? -1 : list_word(list, slot, &stored, &link_page);
	if (found < 0) {
		list->stop = FOLLOW_LEFT_VIEW;
		return;
	}
	/* A back link is checked while every one before it agreed, and only on entries taken. */
	int checking =
	    list->back_offset != 0 && list->back_agreed == list->steps && list->steps < list->limit;
	int back_found = checking ? list_word(list, address + list->back_offset, &back, &back_page) : 1;
	if (found == 0 || back_found == 0) {
		list->wait_pages[0] = link_page;
		list->wait_pages[1] = back_page;
		list->stop = FOLLOW_WAIT;
		return;
	}
	if (list->steps > 0 && address == list->remembered) {
		list->stop = FOLLOW_REPEAT;
		return;
	}
	if (list->steps < list->limit && append_word(&list->entries, address)) {
		list->stop = FOLLOW_NO_MEMORY;
		return;
	}
	if (checking && back_found > 0 && back == list->previous)
		list->back_agreed++;
	list->previous = address;
	if (list->steps == 0 || list->distance == list->power) {
		list->remembered = address;
		list->power = list->steps == 0 ? 1 : list->power * 2;
		list->distance = 0;
	}
	list->distance++;
	list->steps++;
	list->address = list->shift < 64 ? stored ^ (slot >> list->shift) : stored;
}

/* Turn the walk's end into the caller's answer: `entries` as a walk that remembers every address
 * would leave them, `next`, and `stop`. */
static void list_finish(struct heapwalk_list *list)
{
	size_t taken = list->entries.count;
	list->next = list->address;
	if (list->stop == FOLLOW_NO_MEMORY)
		return;
	if (list->stop == FOLLOW_REPEAT) {
		size_t start = cycle_start(list->entries.data, taken, list->distance, taken == list->steps);
		if (start != SIZE_MAX && start + list->distance < list->limit) {
			list->entries.count = start + list->distance;
			list->next = list->entries.data[start];
			return;
		}
	}
	if (list->steps >= list->limit) {
		/* The caller sees the first `limit` entries and the address after them. */
		list->next = list->at_limit;
		list->stop = FOLLOW_LIMIT;
	}
}

/* Follow a linked list through one buffer that holds the bytes [low, low + 8 * word_count) of the
 * inferior.  From `address`, each entry's link is the word at entry + link_offset, revealed as
 * stored ^ (slot >> shift) when shift < 64 (safe-linking).  Entries go to `entries` while the step
 * is plain: the address is not `end`, is aligned by `alignment_mask`, its link word lies in the
 * buffer, and it is not a repeat; the first address that is not plain is left in *next for the
 * caller, and the return value says why the walk stopped (enum heapwalk_follow_stop): for a
 * repeat, `entries` ends just before the first address seen twice, which *next names, exactly as
 * a walk that remembers every address would stop.  At most `limit` entries are taken; `entries`
 * must be empty.
 *
 * Repeats are found with Brent's cycle detection, which keeps one remembered entry instead of a
 * set of them: a list without a cycle costs nothing extra, and a cycle is noticed within twice
 * its length, after which the entries already taken say where it starts.  The walk goes on past
 * `limit` (taking nothing) only to tell whether a cycle closes within the first `limit` entries. */
int heapwalk_follow(const uint64_t *words, uint64_t low, size_t word_count, uint64_t address,
                    uint64_t link_offset, unsigned shift, uint64_t alignment_mask, uint64_t end, size_t limit,
                    struct heapwalk_words *entries, uint64_t *next)
{
	struct heapwalk_list list = {.words = words,
	                             .low = low,
	                             .word_count = word_count,
	                             .address = address,
	                             .link_offset = link_offset,
	                             .alignment_mask = alignment_mask,
	                             .end = end,
	                             .limit = limit,
	                             .shift = shift,
	                             .entries = *entries};
	list_start(&list);
	while (list.stop < 0)
		list_step(&list);
	list_finish(&list);
	*entries = list.entries;
	*next = list.next;
	return list.stop;
}

/* Claim the slots of the pages a waiting list needs for the batch being made up, adding the
 * pages not in it yet to pages[*fetched]: 1, or 0 (nothing claimed) when another page of the
 * batch has one of those slots, and the list waits a turn more. */
static int claim_pages(struct heapwalk_remote *remote, const uint64_t *wanted, uint64_t *pages,
                       size_t *fetched)
{
	for (int i = 0; i < 2; i++) {
		uint64_t claim = remote->claims[remote_slot(remote, wanted[i])];
		if (wanted[i] != UINT64_MAX && claim != 0 && claim != wanted[i] + 1)
			return 0;
	}
	for (int i = 0; i < 2; i++) {
		if (wanted[i] == UINT64_MAX)
			continue;
		uint64_t *claim = &remote->claims[remote_slot(remote, wanted[i])];
		if (*claim == 0) {
			*claim = wanted[i] + 1;
			pages[(*fetched)++] = wanted[i];
		}
	}
	return 1;
}

/* Whether the page a list waits for (`which` of its two; none: UINT64_MAX) is cached now: after
 * a batch, a page of it that could not be read is not. */
static int waited_page_held(const struct heapwalk_remote *remote, const uint64_t *wanted, int which)
{
	return wanted[which] == UINT64_MAX ||
	       remote->tags[remote_slot(remote, wanted[which])] == wanted[which] + 1;
}

/* How far, in bytes it has moved, a list that reads a live process's pages may run ahead of the
 * one that has moved least.  The lists of a heap's bins mostly run through it in one direction
 * (a program frees its blocks in some order, and each bin keeps that order), at different
 * paces: taking turns a step at a time, the denser lists fall behind and the lists spread over
 * the whole heap, so that most steps meet a page no other list has read lately (the 10M bench
 * heap, 3.6 million entries on 316,000 pages: a million pages read).  Kept within a band, the
 * lists pass each page about together, while the cache still holds it; 4 MiB leaves room in a
 * cache of 16,384 pages for the bands of several arenas at once. */
enum { PACE_BYTES = 4 << 20 };

/* list_step, adding to *moved how far the walk went (the distance from one entry to the next,
 * saturating): what heapwalk_follow_many paces the lists of live pages by. */
static void paced_step(struct heapwalk_list *list, uint64_t *moved)
{
	uint64_t from = list->address;
	list_step(list);
	uint64_t distance = list->address > from ? list->address - from : from - list->address;
	*moved = distance > UINT64_MAX - *moved ? UINT64_MAX : *moved + distance;
}

/* Whether the walk goes on: not ended, or waiting for a page. */
static int still_walking(const struct heapwalk_list *list)
{
	return list->stop < 0 || list->stop == FOLLOW_WAIT;
}

/* The least distance moved by the lists of live pages among lists[walking[0..count)], or
 * UINT64_MAX when none reads live pages. */
static uint64_t least_moved(const struct heapwalk_list *lists, const size_t *walking, size_t count,
                            const uint64_t *moved)
{
	uint64_t least = UINT64_MAX;
	for (size_t k = 0; k < count; k++) {
		size_t i = walking[k];
		if (lists[i].remote != NULL && moved[i] < least)
			least = moved[i];
	}
	return least;
}

/* The pages the lists[waiting[0..waits)] wait for, read in one batch as far as they fit the
 * cache together (`pages` has room for two a list), and the step of each list whose pages came
 * in; the others wait a turn more. */
static void fetch_and_step(struct heapwalk_remote *remote, struct heapwalk_list *lists, size_t *waiting,
                           size_t waits, uint64_t *pages, uint64_t *moved)
{
	size_t fetched = 0, claimed = 0;
	for (size_t w = 0; w < waits; w++) {
		if (claim_pages(remote, lists[waiting[w]].wait_pages, pages, &fetched))
			waiting[claimed++] = waiting[w];
	}
	for (size_t f = 0; f < fetched; f++)
		remote->claims[remote_slot(remote, pages[f])] = 0;
	remote_fetch(remote, pages, fetched);
	for (size_t w = 0; w < claimed; w++) {
		struct heapwalk_list *list = &lists[waiting[w]];
		if (!waited_page_held(remote, list->wait_pages, 0)) {
			list->stop = FOLLOW_LEFT_VIEW; /* Python says why the page is unreadable */
			continue;
		}
		if (!waited_page_held(remote, list->wait_pages, 1))
			list->back_offset = 0; /* an unreadable back link agrees with nothing */
		list->stop = -1;
		paced_step(list, &moved[waiting[w]]);
	}
}

/* Follow `count` lists at once, one step of each in turn.  Each step of a long list waits for
 * memory (its next link is somewhere else in a heap of many megabytes); taking turns lets the
 * processor fetch the next links of several lists at the same time.  Lists with a `remote` (all
 * the same one) read the words no buffer holds from the live process: the pages the lists wait
 * for in a turn are read together, a call per REMOTE_BATCH pages, and each list whose pages came
 * in takes its step at once, so that every turn moves a list on (no page of a batch evicts
 * another); such a list sits out a turn while it has moved PACE_BYTES further than the one that
 * has moved least (which always steps).  A turn visits only the lists still walked: a heap has
 * hundreds of short lists (tcache bins) beside a few of a hundred thousand entries.  Each list
 * ends exactly as heapwalk_follow would end it over memory that held every page; a page that
 * cannot be read stops a list as a step out of its view does. */
void heapwalk_follow_many(struct heapwalk_list *lists, size_t count)
{
	/* Paced when a list reads live pages, unless pass one kept their words: the lists then read
	 * a page only where it kept none, and a list that waited for the others would only make
	 * each turn longer. */
	int paced = 0;
	for (size_t i = 0; i < count; i++) {
		list_start(&lists[i]);
		paced |= lists[i].remote != NULL && lists[i].remote->links == NULL;
	}
	size_t room = count ? 2 * count : 1;
	size_t *walking = malloc(room * sizeof(*walking));
	size_t *waiting = malloc(room * sizeof(*waiting));
	uint64_t *pages = malloc(room * sizeof(*pages));
	uint64_t *moved = calloc(room, sizeof(*moved));
	int have_room = walking != NULL && waiting != NULL && pages != NULL && moved != NULL;
	for (size_t i = 0; i < count && !have_room; i++) {
		/* One list after another, and no live page read: what each takes is still valid. */
		while (lists[i].stop < 0)
			list_step(&lists[i]);
		if (lists[i].stop == FOLLOW_WAIT)
			lists[i].stop = FOLLOW_NO_MEMORY;
	}
	size_t active = have_room ? count : 0;
	for (size_t i = 0; i < active; i++)
		walking[i] = i;
	while (active > 0) {
		size_t waits = 0;
		struct heapwalk_remote *remote = NULL;
		uint64_t pace = paced ? least_moved(lists, walking, active, moved) : UINT64_MAX;
		uint64_t ahead = pace > UINT64_MAX - PACE_BYTES ? UINT64_MAX : pace + PACE_BYTES;
		for (size_t k = 0; k < active; k++) {
			size_t i = walking[k];
			if (lists[i].remote != NULL && moved[i] > ahead)
				continue; /* waits for the others to come this far */
			lists[i].stop = -1;
			if (paced)
				paced_step(&lists[i], &moved[i]);
			else
				list_step(&lists[i]);
			if (lists[i].stop == FOLLOW_WAIT) {
				waiting[waits++] = i;
				remote = lists[i].remote;
			}
		}
		if (waits > 0)
			fetch_and_step(remote, lists, waiting, waits, pages, moved);
		size_t kept = 0;
		for (size_t k = 0; k < active; k++) {
			if (still_walking(&lists[walking[k]]))
				walking[kept++] = walking[k];
		}
		active = kept;
	}
	free(walking);
	free(waiting);
	free(pages);
	free(moved);
	for (size_t i = 0; i < count; i++)
		list_finish(&lists[i]);
}

/* The back links of a doubly linked list, checked in one call: the list's entries are
 * members[0..count) in fd order after `head`, and each entry's back link (the word
 * `back_offset` bytes into it) must name the one before it (head, for the first).  Returns the
 * first position whose back link differs or lies in none of `buffers`, or `count` when every
 * one agrees: the caller looks at that entry itself, and says what is wrong there. */
size_t heapwalk_back_links(const struct heapwalk_buffer *buffers, size_t buffer_count,
                           const uint64_t *members, size_t count, uint64_t head, uint64_t back_offset)
{
	uint64_t previous = head;
	for (size_t position = 0; position < count; position++) {
		uint64_t slot = members[position] + back_offset;
		const struct heapwalk_buffer *buffer = buffer_holding(buffers, buffer_count, slot);
		if (buffer == NULL || buffer->words[(slot - buffer->low) / 8] != previous)
			return position;
		previous = members[position];
	}
	return count;
}

enum { CLASSIFY_NO_MEMORY = -1, CLASSIFY_BAD_POSITIONS = -2 };

/* The number of set bits, spelled out: __builtin_popcountll is a library call unless the build
 * targets a processor with the instruction, and this runs once per listed address. */
static unsigned count_bits(uint64_t bits)
{
	bits = bits - ((bits >> 1) & 0x5555555555555555ull);
	bits = (bits & 0x3333333333333333ull) + ((bits >> 2) & 0x3333333333333333ull);
	bits = (bits + (bits >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((bits * 0x0101010101010101ull) >> 56);
}

/* Where the chunk headers of one segment's rows are, so that a listed address finds its row in a
 * few steps, with no table of addresses: a hash of every listed address is large, filled at
 * random and mostly of entries of other segments, and both its filling and its lookups wait for
 * memory.  This map is small and built in one sequential pass over the rows.
 *
 * One bit per slot of 1 << shift words, set where a row's header is, and beside each 64 bits
 * the number of headers before them: as positions increase, a header's row is that number plus
 * the set bits below its own.  In a sane heap every header lies a multiple of 16 bytes past the
 * segment start, and a slot is two words (shift 1); a damaged heap can put a header at any word,
 * and then each word is its own slot (shift 0), so that no header is ever mistaken for another.
 * A block's bits and count share a cache line.  The blocks are kept only for the granules (64
 * blocks: 64 KiB of a sane segment) that hold a header, found through one index per granule:
 * a segment whose chunks are huge (a main heap of gigabytes held in a few chunks) costs a map
 * of its headers, not 1/64 of its bytes. */
struct header_block {
	uint64_t bits;
	uint64_t rows_before;
};

enum { MAP_GRANULE_BLOCKS = 64, MAP_GRANULE_SHIFT = 12 /* slots per granule: 64 blocks of 64 */ };
#define NO_GRANULE SIZE_MAX

struct header_map {
	struct header_block *blocks; /* MAP_GRANULE_BLOCKS per granule holding a header, in order */
	size_t *granules;            /* per granule, the index of its first block, or NO_GRANULE */
	size_t granule_count;
	unsigned shift;
};

static void header_map_free(struct header_map *map)
{
	free(map->blocks);
	free(map->granules);
	map->blocks = NULL;
	map->granules = NULL;
}

/* The map of rows 0..cut-1 (cut > 0): 0, or CLASSIFY_NO_MEMORY, or CLASSIFY_BAD_POSITIONS when
 * the positions do not increase (then rows would get the numbers of others). */
static int header_map_build(struct header_map *map, const uint64_t *positions, size_t cut)
{
	uint64_t any_odd = positions[0];
	size_t used = 1; /* granules holding a header: the positions increase, so count changes */
	for (size_t row = 1; row < cut; row++) {
		if (positions[row] <= positions[row - 1])
			return CLASSIFY_BAD_POSITIONS;
		any_odd |= positions[row];
	}
	map->shift = (any_odd & 1) ? 0 : 1;
	unsigned granule_shift = map->shift + MAP_GRANULE_SHIFT;
	for (size_t row = 1; row < cut; row++)
		used += (positions[row] >> granule_shift) != (positions[row - 1] >> granule_shift);
	uint64_t granules = (positions[cut - 1] >> granule_shift) + 1;
	if (granules > SIZE_MAX / sizeof(*map->granules) ||
	    used > SIZE_MAX / MAP_GRANULE_BLOCKS / sizeof(*map->blocks))
		return CLASSIFY_NO_MEMORY;
	map->granules = malloc((size_t)granules * sizeof(*map->granules));
	map->blocks = calloc(used * MAP_GRANULE_BLOCKS, sizeof(*map->blocks));
	if (map->granules == NULL || map->blocks == NULL) {
		header_map_free(map);
		return CLASSIFY_NO_MEMORY;
	}
	map->granule_count = (size_t)granules;
	for (size_t granule = 0; granule < map->granule_count; granule++)
		map->granules[granule] = NO_GRANULE;
	size_t next_block = 0;
	for (size_t row = 0; row < cut; row++) {
		uint64_t slot = positions[row] >> map->shift;
		size_t *first = &map->granules[slot >> MAP_GRANULE_SHIFT];
		if (*first == NO_GRANULE) {
			*first = next_block;
			next_block += MAP_GRANULE_BLOCKS;
		}
		map->blocks[*first + ((slot >> 6) & (MAP_GRANULE_BLOCKS - 1))].bits |= 1ull << (slot & 63);
	}
	/* The granules' blocks lie in address order, so one running count numbers them all. */
	uint64_t before = 0;
	for (size_t block = 0; block < next_block; block++) {
		map->blocks[block].rows_before = before;
		before += count_bits(map->blocks[block].bits);
	}
	return 0;
}

/* The row whose header is the segment's word `word`, or SIZE_MAX when no header is there. */
static size_t header_map_row(const struct header_map *map, uint64_t word)
{
	if (word & ((1u << map->shift) - 1))
		return SIZE_MAX; /* an odd word, and every header is at an even one */
	uint64_t slot = word >> map->shift;
	if ((slot >> MAP_GRANULE_SHIFT) >= map->granule_count)
		return SIZE_MAX;
	size_t first = map->granules[slot >> MAP_GRANULE_SHIFT];
	if (first == NO_GRANULE)
		return SIZE_MAX;
	const struct header_block *block = &map->blocks[first + ((slot >> 6) & (MAP_GRANULE_BLOCKS - 1))];
	uint64_t bit = 1ull << (slot & 63);
	if (!(block->bits & bit))
		return SIZE_MAX;
	return (size_t)(block->rows_before + count_bits(block->bits & (bit - 1)));
}

/* The list that names each row first: values[row] holds it where `marked` has the row's bit. */
struct row_marks {
	uint64_t *marked;
	uint32_t *values;
};

static int row_is_marked(const struct row_marks *marks, size_t row)
{
	return marks->marked != NULL && (marks->marked[row >> 6] >> (row & 63)) & 1;
}

/* The smallest and the largest of each block of 1 << block_shift listed addresses (the last
 * block may be shorter), two words a block in `bounds`: ceil(count / (1 << block_shift)) pairs.
 * A bin's entries lie in its own arena's heaps, so most blocks lie wholly outside a given heap
 * segment, and heapwalk_classify passes over them with two comparisons instead of one a word. */
void heapwalk_listed_bounds(const uint64_t *listed, size_t count, unsigned block_shift, uint64_t *bounds)
{
	size_t block_size = (size_t)1 << block_shift;
	for (size_t first = 0, block = 0; first < count; first += block_size, block++) {
		size_t last = count - first < block_size ? count : first + block_size;
		uint64_t low = UINT64_MAX, high = 0;
		for (size_t i = first; i < last; i++) {
			low = listed[i] < low ? listed[i] : low;
			high = listed[i] > high ? listed[i] : high;
		}
		bounds[2 * block] = low;
		bounds[2 * block + 1] = high;
	}
}

/* Mark each row 0..cut-1 whose header address is listed with the first list that names it.
 * Addresses that are 0, outside the rows' span, not a whole number of words from `start`, or
 * between headers name no row.  Nothing is allocated while no address falls inside the span, as
 * for every segment but the one that holds a list's chunks.  With `bounds` (heapwalk_listed_bounds
 * of the listed addresses by blocks of 1 << block_shift), a block none of whose addresses can
 * lie in the span is passed over whole. */
static int mark_listed_rows(struct row_marks *marks, const uint64_t *positions, size_t cut, uint64_t start,
                            const uint64_t *listed, const uint32_t *listed_values, size_t listed_count,
                            const uint64_t *bounds, unsigned block_shift)
{
	if (cut == 0)
		return 0;
	struct header_map map = {0};
	/* Offset of the last header; an address below `start` wraps to an offset above any. */
	uint64_t last_offset = positions[cut - 1] > UINT64_MAX >> 3 ? UINT64_MAX : positions[cut - 1] << 3;
	uint64_t span_end = start + last_offset < start ? UINT64_MAX : start + last_offset;
	size_t block_mask = ((size_t)1 << block_shift) - 1;
	int status = 0;
	for (size_t i = 0; i < listed_count; i++) {
		if (bounds != NULL && (i & block_mask) == 0) {
			size_t block = i >> block_shift;
			if (bounds[2 * block + 1] < start || bounds[2 * block] > span_end) {
				i |= block_mask; /* the loop steps to the next block */
				continue;
			}
		}
		uint64_t offset = listed[i] - start;
		/* Most addresses are other segments' chunks: one comparison turns them away. */
		if (offset > last_offset || offset & 7 || listed[i] == 0)
			continue;
		if (map.blocks == NULL) {
			status = header_map_build(&map, positions, cut);
			if (status == 0 && cut <= SIZE_MAX / sizeof(*marks->values)) {
				marks->marked = calloc((cut >> 6) + 1, sizeof(*marks->marked));
				/* Only marked rows' values are ever read, so they need no clearing. */
				marks->values = malloc(cut * sizeof(*marks->values));
			}
			if (status == 0 && (marks->marked == NULL || marks->values == NULL))
				status = CLASSIFY_NO_MEMORY;
			if (status != 0)
				break;
		}
		size_t row = header_map_row(&map, offset >> 3);
		if (row >= cut || row_is_marked(marks, row))
			continue; /* no row, or a list before this one named it */
		marks->marked[row >> 6] |= 1ull << (row & 63);
		marks->values[row] = listed_values[i];
	}
	header_map_free(&map);
	return status;
}

/* Pass two's per-row verdicts for rows 0..cut-1 of a scanned segment starting at `start`.
 * `listed` holds every chunk address a bin list names and `listed_values`, at the same index, the
 * number of that list; the lists come one after the other in priority order, so for an address
 * named twice the first entry decides.  A row whose header is listed gets its list (its row and
 * list number go to binned_rows and binned_values, its code is kind_of_value[list]); any other
 * row but top whose successor's PREV_INUSE (the size field's bit `prev_inuse`) is clear is free
 * (free_rows); top_row (or -1) is top;
 * the rest are in use.  `bounds` (NULL for none) are heapwalk_listed_bounds of `listed` by
 * blocks of 1 << block_shift addresses.  `codes` receives one code per row.  The positions must increase, as
 * heapwalk_scan leaves them.  Returns 0, CLASSIFY_NO_MEMORY (-1), or CLASSIFY_BAD_POSITIONS (-2)
 * when an address is listed within the rows' span and the positions do not increase. */
int heapwalk_classify(const uint64_t *positions, const uint64_t *fields, size_t count, size_t cut,
                      int64_t top_row, uint64_t start, const uint64_t *listed, const uint32_t *listed_values,
                      size_t listed_count, const uint64_t *bounds, unsigned block_shift,
                      const uint8_t *kind_of_value, size_t value_count, uint64_t prev_inuse, uint8_t *codes,
                      struct heapwalk_words *binned_rows, struct heapwalk_words *binned_values,
                      struct heapwalk_words *free_rows)
{
	if (cut > count)
		cut = count;
	struct row_marks marks = {NULL, NULL};
	int status = mark_listed_rows(&marks, positions, cut, start, listed, listed_values, listed_count,
	                              bounds, block_shift);
	for (size_t row = 0; row < cut && status == 0; row++) {
		uint8_t code = ROW_IN_USE;
		if ((int64_t)row == top_row) {
			code = ROW_TOP;
		} else if (row_is_marked(&marks, row)) {
			uint32_t value = marks.values[row];
			code = value < value_count ? kind_of_value[value] : ROW_IN_USE;
			if (append_word(binned_rows, row) || append_word(binned_values, value))
				status = CLASSIFY_NO_MEMORY;
		} else if (row + 1 < count && !(fields[row + 1] & prev_inuse)) {
			code = ROW_FREE;
			if (append_word(free_rows, row))
				status = CLASSIFY_NO_MEMORY;
		}
		codes[row] = code;
	}
	free(marks.marked);
	free(marks.values);
	return status;
}

/* Distinct keys seen so far, a key being a pair (first, second) of words, as entry numbers into
 * the arrays `firsts` and `seconds` (entry + 1; 0 is an empty slot), so that any key, 0 too, can
 * be stored; `seconds` NULL: every second word is 0 (a key of one word).  Open addressing with
 * linear probing, at most half full; the tables here have few distinct keys, so they stay
 * small. */
struct key_table {
	size_t *slots;
	unsigned bits; /* 1 << bits slots */
};

static size_t *key_slot(const struct key_table *table, const uint64_t *firsts, const uint64_t *seconds,
                        uint64_t first, uint64_t second)
{
	size_t mask = ((size_t)1 << table->bits) - 1;
	/* The product's high bits depend on every bit of the key; sizes differ in their middle bits. */
	uint64_t mixed = (first ^ (second * 0xC2B2AE3D27D4EB4Full)) * 0x9E3779B97F4A7C15ull;
	size_t slot = (size_t)(mixed >> (64 - table->bits));
	while (table->slots[slot] != 0 && (firsts[table->slots[slot] - 1] != first ||
	                                   (seconds != NULL ? seconds[table->slots[slot] - 1] : 0) != second))
		slot = (slot + 1) & mask;
	return &table->slots[slot];
}

static int key_table_grow(struct key_table *table, const uint64_t *firsts, const uint64_t *seconds,
                          size_t count)
{
	unsigned bits = table->slots != NULL ? table->bits + 1 : 8;
	if (bits >= 8 * sizeof(size_t) - 4)
		return -1;
	size_t *slots = calloc((size_t)1 << bits, sizeof(*slots));
	if (slots == NULL)
		return -1;
	free(table->slots);
	table->slots = slots;
	table->bits = bits;
	for (size_t entry = 0; entry < count; entry++)
		*key_slot(table, firsts, seconds, firsts[entry], seconds != NULL ? seconds[entry] : 0) =
		    entry + 1;
	return 0;
}

/* Count rows 0..cut-1 by (size, code): each distinct key (size field & size_mask) | code goes
 * once to `keys`, in the order of first appearance, its number of rows to `counts`.  The caller's
 * codes fit in the flag bits that size_mask clears.  Returns 0, or -1 when memory ran out. */
int heapwalk_histogram(const uint64_t *fields, const uint8_t *codes, size_t cut, uint64_t size_mask,
                       struct heapwalk_words *keys, struct heapwalk_words *counts)
{
	struct key_table seen = {NULL, 0};
	int status = 0;
	for (size_t row = 0; row < cut; row++) {
		uint64_t key = (fields[row] & size_mask) | codes[row];
		/* Room for one more key first, so the slot found stays valid. */
		if (seen.slots == NULL || 2 * (keys->count + 1) > ((size_t)1 << seen.bits)) {
			if (key_table_grow(&seen, keys->data, NULL, keys->count)) {
				status = -1;
				break;
			}
		}
		size_t *slot = key_slot(&seen, keys->data, NULL, key, 0);
		if (*slot == 0) {
			if (append_word(keys, key) || append_word(counts, 0)) {
				status = -1;
				break;
			}
			*slot = keys->count;
		}
		counts->data[*slot - 1]++;
	}
	free(seen.slots);
	return status;
}

/* Tally the binned rows of a scanned segment by the list that names them: for each of `count`
 * binned rows (rows[i], named by list numbers[i]), counts[list] gains one and low[list] and
 * high[list] take in the row's size (fields[row] & size_mask).  The caller sets the arrays up
 * (counts 0, low UINT64_MAX, high 0) and may tally several segments into them; rows past
 * `field_count` and lists from `list_count` on are passed over. */
void heapwalk_tally(const uint64_t *fields, size_t field_count, const uint64_t *rows, const uint64_t *numbers,
                    size_t count, uint64_t size_mask, size_t list_count, uint64_t *counts, uint64_t *low,
                    uint64_t *high)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t row = rows[i], list = numbers[i];
		if (row >= field_count || list >= list_count)
			continue;
		uint64_t size = fields[row] & size_mask;
		counts[list]++;
		if (size < low[list])
			low[list] = size;
		if (size > high[list])
			high[list] = size;
	}
}

/* The rows of a scanned segment on which some chunk rule of the heap check may fire (see
 * gdb/ptmalloc/check/rows.py, Rows.suspicious, the same test in Python), in row order, to
 * `rows`: a size field below min_size (top_row aside); the NON_MAIN_ARENA bit `arena_bit` wrong
 * for the arena (is_main) on a row that is cached or in use (cached[row]); PREV_INUSE set after
 * a row filed in a bin (in_bin[row - 1]); PREV_INUSE clear without a binned predecessor whose
 * size the row's prev_size (prev_sizes[row], or without them word positions[row] + prev_index of
 * `words`) repeats.  Returns 0, or
 * -1 when memory ran out. */
int heapwalk_suspicious(const uint64_t *fields, const uint64_t *positions, size_t count,
                        const uint64_t *words, size_t word_count, size_t prev_index,
                        const uint64_t *prev_sizes, const uint8_t *in_bin, const uint8_t *cached,
                        int64_t top_row, uint64_t min_size, uint64_t arena_bit, int is_main,
                        uint64_t prev_inuse, uint64_t size_mask, struct heapwalk_words *rows)
{
	for (size_t row = 0; row < count; row++) {
		uint64_t field = fields[row];
		int wrong_arena = is_main ? (field & arena_bit) != 0 : (field & arena_bit) == 0;
		int after_bin = row > 0 && in_bin[row - 1];
		int hit = (field < min_size && (int64_t)row != top_row) || (wrong_arena && cached[row]) ||
		          (after_bin && (field & prev_inuse));
		if (!hit && !(field & prev_inuse)) {
			uint64_t slot = positions[row] + prev_index;
			int held = prev_sizes != NULL || (slot >= positions[row] && slot < word_count);
			uint64_t prev_size = prev_sizes != NULL ? prev_sizes[row] : held ? words[slot] : 0;
			hit = !(after_bin && held && prev_size == (fields[row - 1] & size_mask));
		}
		if (hit && append_word(rows, row))
			return -1;
	}
	return 0;
}

/* Lines of a chunk listing, written into `out` (`capacity` bytes): from row *next on, each row is
 * `prefix`, its header address (start + 8 * positions[row]) in hex as "0x..." (or in decimal),
 * then text number text_of[row] of the table (text t is texts[offsets[t] .. offsets[t + 1])),
 * rows joined by `separator`.  The rows numbered_rows[0..numbered_count) (increasing) go on
 * with numbers[k] in decimal (none when it is UINT64_MAX) and text number suffix_of[text_of[row]]
 * (none when that is past the table): a row's number is its own, its suffix its text's, so
 * nothing per row is asked of the caller beyond the text numbers.  Stops before a row that might
 * not fit, or at row `last`; *next becomes the first row not written.  Returns the bytes
 * written. */
size_t heapwalk_format(const uint64_t *positions, size_t *next, size_t last, uint64_t start,
                       const uint32_t *text_of, size_t text_count, const char *texts, const uint64_t *offsets,
                       const char *prefix, size_t prefix_length, const char *separator,
                       size_t separator_length, int decimal, const uint64_t *numbered_rows,
                       const uint64_t *numbers, size_t numbered_count, const uint32_t *suffix_of, char *out,
                       size_t capacity)
{
	size_t written = 0, row = *next;
	/* The first numbered row at or after `row`: each piece of a listing starts mid-way. */
	size_t numbered = 0, past = numbered_count;
	while (numbered < past) {
		size_t middle = numbered + (past - numbered) / 2;
		if (numbered_rows[middle] < row)
			numbered = middle + 1;
		else
			past = middle;
	}
	for (; row < last; row++) {
		uint32_t text = text_of[row];
		size_t text_length = text < text_count ? (size_t)(offsets[text + 1] - offsets[text]) : 0;
		uint64_t number = UINT64_MAX;
		if (numbered < numbered_count && numbered_rows[numbered] == row)
			number = numbers[numbered++];
		uint32_t suffix = number != UINT64_MAX && text < text_count ? suffix_of[text] : UINT32_MAX;
		size_t suffix_length =
		    suffix < text_count ? (size_t)(offsets[suffix + 1] - offsets[suffix]) : 0;
		size_t most =
		    (row > *next ? separator_length : 0) + prefix_length + 44 + text_length + suffix_length;
		if (most > capacity - written)
			break;
		if (row > *next) {
			for (size_t i = 0; i < separator_length; i++)
				out[written++] = separator[i];
		}
		for (size_t i = 0; i < prefix_length; i++)
			out[written++] = prefix[i];
		uint64_t address = start + (positions[row] << 3);
		char digits[24];
		size_t count = 0;
		unsigned base = decimal ? 10 : 16;
		do {
			digits[count++] = "0123456789abcdef"[address % base];
			address /= base;
		} while (address != 0);
		if (!decimal) {
			out[written++] = '0';
			out[written++] = 'x';
		}
		while (count > 0)
			out[written++] = digits[--count];
		if (text_length) {
			const char *source = texts + offsets[text];
			for (size_t i = 0; i < text_length; i++)
				out[written++] = source[i];
		}
		if (number != UINT64_MAX) {
			count = 0;
			do {
				digits[count++] = (char)('0' + number % 10);
				number /= 10;
			} while (number != 0);
			while (count > 0)
				out[written++] = digits[--count];
			const char *source = texts + (suffix_length ? offsets[suffix] : 0);
			for (size_t i = 0; i < suffix_length; i++)
				out[written++] = source[i];
		}
	}
	*next = row;
	return written;
}

/* The text number of each of rows 0..count-1 of a listing, where a row's text depends on its
 * size field and its code only, or, for the rows keyed_rows[0..keyed_count) (increasing), on
 * its size field and keys[k] + ROW_CODE_COUNT (a binned row's list): numbers[row] = base + the
 * number of the row's (field, key) pair, pairs numbered as they first appear, each pair once
 * to pair_fields and pair_keys.  One pass, no work per row left to the caller.  Returns 0, or
 * -1 when memory ran out or a number would not fit 32 bits. */
int heapwalk_text_keys(const uint64_t *fields, const uint8_t *codes, size_t count, const uint64_t *keyed_rows,
                       const uint64_t *keys, size_t keyed_count, uint32_t base, uint32_t *numbers,
                       struct heapwalk_words *pair_fields, struct heapwalk_words *pair_keys)
{
	struct key_table seen = {NULL, 0};
	size_t keyed = 0;
	int status = 0;
	for (size_t row = 0; row < count; row++) {
		uint64_t field = fields[row], key = codes[row];
		if (keyed < keyed_count && keyed_rows[keyed] == row)
			key = keys[keyed++] + ROW_CODE_COUNT;
		if (seen.slots == NULL || 2 * (pair_fields->count + 1) > ((size_t)1 << seen.bits)) {
			if (key_table_grow(&seen, pair_fields->data, pair_keys->data, pair_fields->count)) {
				status = -1;
				break;
			}
		}
		size_t *slot = key_slot(&seen, pair_fields->data, pair_keys->data, field, key);
		if (*slot == 0) {
			if (pair_fields->count >= UINT32_MAX - base || append_word(pair_fields, field) ||
			    append_word(pair_keys, key)) {
				status = -1;
				break;
			}
			*slot = pair_fields->count;
		}
		numbers[row] = base + (uint32_t)(*slot - 1);
	}
	free(seen.slots);
	return status;
}

/* Where each binned row stands in the list that names it first: for each of the `binned_count`
 * rows binned_rows[k] (rows 0..cut-1 of a segment starting at `start`, positions as
 * heapwalk_classify takes them), out[k] is the number of entries before the row's first listing
 * in its list (listed[i] with i - list_first[listed_values[i]]), or UINT64_MAX when no listed
 * address names the row.  Returns 0, CLASSIFY_NO_MEMORY or CLASSIFY_BAD_POSITIONS. */
int heapwalk_entry_numbers(const uint64_t *positions, size_t cut, uint64_t start, const uint64_t *listed,
                           const uint32_t *listed_values, size_t listed_count, const uint64_t *list_first,
                           size_t list_count, const uint64_t *binned_rows, size_t binned_count, uint64_t *out)
{
	for (size_t k = 0; k < binned_count; k++)
		out[k] = UINT64_MAX;
	if (cut == 0 || binned_count == 0)
		return 0;
	struct header_map map = {0};
	int status = header_map_build(&map, positions, cut);
	uint64_t *first = status == 0 ? malloc(cut * sizeof(*first)) : NULL;
	if (status == 0 && first == NULL)
		status = CLASSIFY_NO_MEMORY;
	if (status == 0) {
		for (size_t row = 0; row < cut; row++)
			first[row] = UINT64_MAX;
		uint64_t last_offset =
		    positions[cut - 1] > UINT64_MAX >> 3 ? UINT64_MAX : positions[cut - 1] << 3;
		for (size_t i = 0; i < listed_count; i++) {
			uint64_t offset = listed[i] - start;
			if (offset > last_offset || offset & 7 || listed[i] == 0)
				continue;
			size_t row = header_map_row(&map, offset >> 3);
			uint32_t list = listed_values[i];
			if (row >= cut || first[row] != UINT64_MAX || list >= list_count ||
			    i < list_first[list])
				continue;
			first[row] = i - list_first[list];
		}
		for (size_t k = 0; k < binned_count; k++)
			out[k] = binned_rows[k] < cut ? first[binned_rows[k]] : UINT64_MAX;
	}
	free(first);
	header_map_free(&map);
	return status;
}

/* The compare of `heap refs` over words [0, count), each hit appended to `hits` as `base` + its
 * index and, when `values` is not NULL, its value to `values`.  Eight words at a time: most of
 * a big process's writable memory is zeros (pages reserved and never written), and a block of
 * eight zeros costs one OR, unless zero itself lies in the range.  One unsigned compare,
 * v - low < span, is low <= v < high. */
static int refs_in(const uint64_t *words, size_t count, uint64_t base, uint64_t low, uint64_t span,
                   struct heapwalk_words *hits, struct heapwalk_words *values)
{
	int zero_misses = low != 0;
	size_t i = 0;
	for (; i + 8 <= count; i += 8) {
		const uint64_t *w = words + i;
		if (zero_misses && !(w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]))
			continue;
		for (size_t k = 0; k < 8; k++) {
			if (w[k] - low < span &&
			    (append_word(hits, base + i + k) || (values && append_word(values, w[k]))))
				return -1;
		}
	}
	for (; i < count; i++) {
		if (words[i] - low < span &&
		    (append_word(hits, base + i) || (values && append_word(values, words[i]))))
			return -1;
	}
	return 0;
}

/* `heap refs` (gdb/ptmalloc/model/references.py): the index of every word of `words` whose value v
 * lies in [low, high), appended to `hits` in order.  A whole mapping is one call: the loop is a
 * compare per word, so a heap of a hundred megabytes is scanned at memory speed.  Returns 0, or
 * -1 when memory ran out (the hits so far are valid). */
int heapwalk_refs(const uint64_t *words, size_t word_count, uint64_t low, uint64_t high,
                  struct heapwalk_words *hits)
{
	if (high <= low)
		return 0;
	return refs_in(words, word_count, 0, low, high - low, hits, NULL);
}

/* heapwalk_refs over `word_count` words of a file (a core's segment) from byte `offset`, read
 * with pread into the caller's `buffer` of `buffer_words` words, reused for each piece: a core
 * of gigabytes is copied from the kernel's page cache piece by piece into memory the cache
 * holds, instead of mapped, where each page of the mapping costs a fault.  Each hit's index
 * (from the range's first word) goes to `hits`, its value to `values`.  *words_read says how
 * far the scan got.  Returns 0; -1 when memory ran out; -2 when the file could not be read
 * there (*error: errno, or 0 when the file ends first). */
int heapwalk_refs_file(int fd, uint64_t offset, size_t word_count, uint64_t low, uint64_t high,
                       uint64_t *buffer, size_t buffer_words, struct heapwalk_words *hits,
                       struct heapwalk_words *values, size_t *words_read, int *error)
{
	*words_read = 0;
	*error = 0;
	if (buffer_words == 0)
		return -2;
	while (*words_read < word_count) {
		size_t count = word_count - *words_read;
		if (count > buffer_words)
			count = buffer_words;
		size_t bytes = count * 8, got = 0;
		while (got < bytes) {
			ssize_t part = pread(fd, (char *)buffer + got, bytes - got,
			                     (off_t)(offset + *words_read * 8 + got));
			if (part < 0 && errno == EINTR)
				continue;
			if (part <= 0) {
				*error = part < 0 ? errno : 0;
				return -2;
			}
			got += (size_t)part;
		}
		if (high > low && refs_in(buffer, count, *words_read, low, high - low, hits, values))
			return -1;
		*words_read += count;
	}
	return 0;
}

/* `heap diff` (gdb/ptmalloc/model/heap_diff.py): the sorted merge of two chunk tables, each sorted
 * by address, over the rows marked held (the program holds the chunk).  A row held only in B is
 * appended to `allocated`, one held only in A to `freed`; a row held in both with another size
 * appends its A row and its B row to `resized`.  With site numbers (both non-NULL), a row held
 * in both under two different known sites (neither `no_site`) was freed and allocated again
 * by other code: it goes to `freed` and `allocated`.  Returns 0, or -1 when memory ran out. */
int heapwalk_diff(const uint64_t *a_addresses, const uint64_t *a_sizes, const uint8_t *a_held,
                  const uint32_t *a_sites, size_t a_count, const uint64_t *b_addresses,
                  const uint64_t *b_sizes, const uint8_t *b_held, const uint32_t *b_sites, size_t b_count,
                  uint32_t no_site, struct heapwalk_words *allocated, struct heapwalk_words *freed,
                  struct heapwalk_words *resized)
{
	size_t i = 0, j = 0;
	int sited = a_sites != NULL && b_sites != NULL;
	for (;;) {
		while (i < a_count && !a_held[i])
			i++;
		while (j < b_count && !b_held[j])
			j++;
		if (i == a_count && j == b_count)
			return 0;
		if (j == b_count || (i < a_count && a_addresses[i] < b_addresses[j])) {
			if (append_word(freed, i++))
				return -1;
			continue;
		}
		if (i == a_count || b_addresses[j] < a_addresses[i]) {
			if (append_word(allocated, j++))
				return -1;
			continue;
		}
		if (sited && a_sites[i] != b_sites[j] && a_sites[i] != no_site && b_sites[j] != no_site) {
			if (append_word(freed, i) || append_word(allocated, j))
				return -1;
		} else if (a_sizes[i] != b_sizes[j]) {
			if (append_word(resized, i) || append_word(resized, j))
				return -1;
		}
		i++;
		j++;
	}
}

/* `heap snapshot`'s chunk table (gdb/ptmalloc/model/chunk_table.py): a segment's walk as table
 * columns, written where the caller's arrays hold its rows.  Row i's header address is
 * start + 8 * positions[i] (a position is a word index into the segment), its size
 * fields[i] & size_mask, and its arena `arena`. */
void heapwalk_table_rows(const uint64_t *positions, const uint64_t *fields, size_t count, uint64_t start,
                         uint64_t size_mask, uint64_t arena, uint64_t *addresses, uint64_t *sizes,
                         uint64_t *arenas)
{
	for (size_t i = 0; i < count; i++) {
		addresses[i] = start + (positions[i] << 3);
		sizes[i] = fields[i] & size_mask;
		arenas[i] = arena;
	}
}

/* A snapshot file read back (gdb/ptmalloc/model/snapshot_files.py): the first i whose value is
 * not below the next one's, or count when the values increase strictly. */
size_t heapwalk_first_unordered(const uint64_t *values, size_t count)
{
	for (size_t i = 0; i + 1 < count; i++) {
		if (values[i] >= values[i + 1])
			return i;
	}
	return count;
}

/* The value of each base64 character (RFC 4648's alphabet), 0xff for any other byte; made on the
 * first decode. */
static uint8_t base64_values[256];
static int base64_values_made;

static void base64_values_make(void)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	memset(base64_values, 0xff, sizeof(base64_values));
	for (unsigned i = 0; i < 64; i++)
		base64_values[(uint8_t)alphabet[i]] = (uint8_t)i;
	base64_values_made = 1;
}

/* A snapshot file's column read back (gdb/ptmalloc/model/json_columns.py): the base64 `text`
 * decoded into `out`, which has room for `room` bytes.  Strict: the length a multiple of four,
 * nothing but the alphabet, and padding only as the last one or two characters ("xyz=",
 * "xy=="), as Python's binascii.a2b_base64 with strict_mode takes it.  Returns the bytes
 * written, -1 when the text is not such base64, -2 when `out` is too small. */
long long heapwalk_base64_decode(const uint8_t *text, size_t length, uint8_t *out, size_t room)
{
	if (!base64_values_made)
		base64_values_make();
	if (length % 4)
		return -1;
	size_t written = 0;
	for (size_t i = 0; i < length; i += 4) {
		unsigned a = base64_values[text[i]], b = base64_values[text[i + 1]];
		unsigned c = base64_values[text[i + 2]], d = base64_values[text[i + 3]];
		if ((a | b | c | d) < 64) {
			if (written + 3 > room)
				return -2;
			uint32_t group = a << 18 | b << 12 | c << 6 | d;
			out[written] = (uint8_t)(group >> 16);
			out[written + 1] = (uint8_t)(group >> 8);
			out[written + 2] = (uint8_t)group;
			written += 3;
			continue;
		}
		/* Padding: in the last group only, after two characters of the alphabet at least. */
		if (i + 4 != length || a >= 64 || b >= 64 || text[i + 3] != '=' ||
		    (c >= 64 && text[i + 2] != '='))
			return -1;
		size_t count = c < 64 ? 2 : 1;
		if (written + count > room)
			return -2;
		out[written++] = (uint8_t)(a << 2 | b >> 4);
		if (count == 2)
			out[written++] = (uint8_t)(b << 4 | c >> 2);
	}
	return (long long)written;
}
