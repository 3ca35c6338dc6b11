/* The link words of a live heap, taken while pass one reads it a window at a time.
 *
 * A live heap too big to copy into gdb is walked through one reused window (heapwalk_scan_window),
 * and its bin lists were then followed through the process's pages, a page per step that left the
 * cache: on the 10M-chunk bench heap, 3.6 million listed chunks cost 0.8 million page reads, three
 * seconds, where the window pass reads the same 1.3 GB in a third of a second.  So, while the
 * windows go by, the words a list can read are kept: the forward and back links of each chunk the
 * boundary tags call free (unsorted, small and large bins), and the forward link of each chunk of
 * a fastbin size whose link, revealed, could be a chunk of these heaps (a fastbin entry looks in
 * use, and most in-use chunks' first word is no such address).  The list walks look a word up
 * here before they read its page (heapwalk.c's remote_word).
 *
 * Every word kept is the process's own word at that address in this stop, so a lookup that finds
 * nothing only costs the page read it would have cost anyway: no rule here decides what a walk
 * sees, only how fast.  At most `budget` words are kept, in an array of that length reserved
 * without being touched, so the memory taken is what was kept (16 bytes a word, with its address).  Words are
 * kept in address order per region (a heap segment), each region with a directory of where each granule of
 * its addresses starts, so that a lookup is a short search among a granule's words. */
#define _GNU_SOURCE /* MAP_NORESERVE */
#include "link_words.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NO_CHUNK UINT64_MAX

/* A directory entry for every 4 KiB of the regions, coarser when the regions are so large that
 * the directories would hold more entries than the budget has words. */
enum { FINEST_GRANULE_SHIFT = 12 };

enum region_state { REGION_UNTAKEN, REGION_TAKING, REGION_SEALED };

struct region {
	uint64_t low, high;
	enum region_state state;
	uint32_t *first; /* granule g's words are [first[g], first[g + 1]) of the kept words */
	size_t granules;
	size_t filled; /* entries of `first` set so far, while taking */
};

struct kept_word {
	uint64_t address, value;
};

struct heapwalk_link_words {
	struct heapwalk_link_rule rule;
	struct region *regions; /* sorted by low */
	size_t region_count;
	uint64_t lowest, highest; /* of every region: a fastbin link outside them is no entry */
	unsigned granule_shift;
	struct kept_word *kept; /* by address in each region; a lookup reads address and value together */
	size_t count, budget;
	struct region *taking; /* the region heapwalk_link_words_begin named, or NULL */
	uint64_t taking_next;  /* the region's lowest address a word may still be kept at */
	uint64_t pending;      /* the segment word of the chunk before the last header, or NO_CHUNK */
	uint64_t pending_field;
};

static void *reserve(size_t bytes)
{
	void *mapped =
	    mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return mapped == MAP_FAILED ? NULL : mapped;
}

static int by_low(const void *left, const void *right)
{
	const struct region *a = left, *b = right;
	return a->low < b->low ? -1 : a->low > b->low;
}

/* A table for the regions [bounds[2i], bounds[2i + 1]) (the heap segments that will be walked a
 * window at a time), keeping at most `budget` words (below 2**32) by `rule`; NULL when memory
 * cannot be had or the question is impossible (an empty region, a budget out of range). */
struct heapwalk_link_words *heapwalk_link_words_open(const uint64_t *bounds, size_t region_count,
                                                     size_t budget, const struct heapwalk_link_rule *rule)
{
	if (region_count == 0 || budget == 0 || budget > UINT32_MAX - 1)
		return NULL;
	struct heapwalk_link_words *links = calloc(1, sizeof(*links));
	if (links == NULL)
		return NULL;
	links->rule = *rule;
	links->budget = budget;
	links->pending = NO_CHUNK;
	links->regions = calloc(region_count, sizeof(*links->regions));
	links->kept = reserve(budget * sizeof(*links->kept));
	if (links->regions == NULL || links->kept == NULL) {
		heapwalk_link_words_close(links);
		return NULL;
	}
	links->region_count = region_count;
	links->lowest = UINT64_MAX;
	uint64_t total = 0;
	for (size_t i = 0; i < region_count; i++) {
		struct region *region = &links->regions[i];
		region->low = bounds[2 * i];
		region->high = bounds[2 * i + 1];
		if (region->high <= region->low) {
			heapwalk_link_words_close(links);
			return NULL;
		}
		links->lowest = region->low < links->lowest ? region->low : links->lowest;
		links->highest = region->high > links->highest ? region->high : links->highest;
		uint64_t span = region->high - region->low;
		total = span > UINT64_MAX - total ? UINT64_MAX : total + span;
	}
	qsort(links->regions, region_count, sizeof(*links->regions), by_low);
	links->granule_shift = FINEST_GRANULE_SHIFT;
	while (links->granule_shift < 63 && (total >> links->granule_shift) > budget)
		links->granule_shift++;
	return links;
}

void heapwalk_link_words_close(struct heapwalk_link_words *links)
{
	if (links == NULL)
		return;
	for (size_t i = 0; links->regions != NULL && i < links->region_count; i++)
		free(links->regions[i].first);
	free(links->regions);
	if (links->kept != NULL)
		munmap(links->kept, links->budget * sizeof(*links->kept));
	free(links);
}

size_t heapwalk_link_words_count(const struct heapwalk_link_words *links) { return links->count; }

/* The region that starts last at or below `address` (the one that can hold it), or NULL. */
static struct region *region_at(const struct heapwalk_link_words *links, uint64_t address)
{
	size_t first = 0, past = links->region_count;
	while (first < past) {
		size_t middle = first + (past - first) / 2;
		if (links->regions[middle].low <= address)
			first = middle + 1;
		else
			past = middle;
	}
	return first > 0 ? &links->regions[first - 1] : NULL;
}

/* Fill the region being taken's directory up to granule `granule` (inclusive) with the count so
 * far: the granules before the word about to be kept end there. */
static void fill_directory(struct heapwalk_link_words *links, size_t granule)
{
	struct region *region = links->taking;
	while (region->filled <= granule)
		region->first[region->filled++] = (uint32_t)links->count;
}

/* Start taking the words of the region that starts at `low`, as heapwalk_scan_window walks it from
 * its first header: 0, or -1 (nothing is taken) when no region starts there, it was taken
 * before, or its directory cannot be had. */
int heapwalk_link_words_begin(struct heapwalk_link_words *links, uint64_t low)
{
	heapwalk_link_words_seal(links);
	struct region *region = region_at(links, low);
	if (region == NULL || region->low != low || region->state != REGION_UNTAKEN)
		return -1;
	uint64_t span = region->high - region->low;
	region->granules = (size_t)(span >> links->granule_shift) + 1;
	region->first = malloc((region->granules + 1) * sizeof(*region->first));
	if (region->first == NULL)
		return -1;
	region->state = REGION_TAKING;
	region->filled = 0;
	links->taking = region;
	links->taking_next = region->low;
	links->pending = NO_CHUNK;
	return 0;
}

/* End the region being taken (if any): from now on its words are looked up. */
void heapwalk_link_words_seal(struct heapwalk_link_words *links)
{
	if (links->taking == NULL)
		return;
	fill_directory(links, links->taking->granules);
	links->taking->state = REGION_SEALED;
	links->taking = NULL;
}

/* Whether the window [base, base + word_count) holds the segment word `word`. */
static int window_holds(size_t word_count, uint64_t base, uint64_t word)
{
	return word >= base && word - base < word_count;
}

/* Keep the region's word at segment word `word` if the window [base, base + word_count) holds it,
 * it comes after every word kept (a damaged size can step back by less than a chunk), and the
 * budget has room. */
static void keep(struct heapwalk_link_words *links, const uint64_t *window, size_t word_count, uint64_t base,
                 uint64_t word)
{
	if (!window_holds(word_count, base, word) || links->count == links->budget)
		return;
	uint64_t address = links->taking->low + word * 8;
	if (address < links->taking_next)
		return;
	links->taking_next = address + 8;
	fill_directory(links, (size_t)((address - links->taking->low) >> links->granule_shift));
	links->kept[links->count].address = address;
	links->kept[links->count].value = window[word - base];
	links->count++;
}

/* Whether a fastbin chunk's stored link at segment word `word` could be a list's next entry: its
 * revealed address is aligned and lies among the regions (the last entry's null link is not
 * kept; its one page read ends the list). */
static int fast_link_plausible(const struct heapwalk_link_words *links, uint64_t word, uint64_t stored)
{
	const struct heapwalk_link_rule *rule = &links->rule;
	uint64_t slot = links->taking->low + word * 8;
	uint64_t next = rule->fast_shift < 64 ? stored ^ (slot >> rule->fast_shift) : stored;
	return next != 0 && !(next & rule->alignment_mask) && next >= links->lowest && next < links->highest;
}

/* heapwalk_scan_window met the header at segment word `word` with size field `field`, in the
 * window [base, base + word_count): the chunk before it is now known free or not by this field's
 * PREV_INUSE, and its words are kept by the rule while the window still holds them. */
void heapwalk_link_words_note(struct heapwalk_link_words *links, const uint64_t *window, size_t word_count,
                              uint64_t base, uint64_t word, uint64_t field)
{
	if (links == NULL || links->taking == NULL)
		return;
	const struct heapwalk_link_rule *rule = &links->rule;
	uint64_t chunk = links->pending, chunk_field = links->pending_field;
	links->pending = word;
	links->pending_field = field;
	if (chunk == NO_CHUNK)
		return;
	uint64_t fd = chunk + rule->fd_offset / 8, bk = chunk + rule->bk_offset / 8;
	if (!(field & rule->prev_inuse)) {
		keep(links, window, word_count, base, fd < bk ? fd : bk);
		keep(links, window, word_count, base, fd < bk ? bk : fd);
	} else if ((chunk_field & rule->size_mask) <= rule->fast_limit &&
	           window_holds(word_count, base, fd) && fast_link_plausible(links, fd, window[fd - base])) {
		keep(links, window, word_count, base, fd);
	}
}

/* The kept word at `address`: 1 (and *value), or 0 when none was kept there. */
int heapwalk_link_words_find(const struct heapwalk_link_words *links, uint64_t address, uint64_t *value)
{
	if (links == NULL || address < links->lowest || address >= links->highest)
		return 0;
	const struct region *region = region_at(links, address);
	if (region == NULL || address >= region->high || region->state != REGION_SEALED)
		return 0;
	size_t granule = (size_t)((address - region->low) >> links->granule_shift);
	size_t first = region->first[granule], end = region->first[granule + 1], past = end;
	while (first < past) {
		size_t middle = first + (past - first) / 2;
		if (links->kept[middle].address < address)
			first = middle + 1;
		else
			past = middle;
	}
	if (first == end || links->kept[first].address != address)
		return 0;
	*value = links->kept[first].value;
	return 1;
}
