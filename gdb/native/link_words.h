/* The link words of a live heap, taken while pass one reads it a window at a time (see
 * link_words.c): what the list walks of heapwalk.c look up before they read a page. */
#ifndef HEAPWALK_LINK_WORDS_H
#define HEAPWALK_LINK_WORDS_H

#include <stddef.h>
#include <stdint.h>

/* Which words of a chunk a list may read, in the allocator's own numbers (the caller's Geometry). */
struct heapwalk_link_rule {
	uint64_t fd_offset;      /* the forward link: a bin's fd, a fastbin's next */
	uint64_t bk_offset;      /* the back link of a doubly linked bin */
	uint64_t size_mask;      /* a size field's size, without its flags */
	uint64_t prev_inuse;     /* the size field's PREV_INUSE bit */
	uint64_t fast_limit;     /* the largest fastbin chunk size (global_max_fast) */
	unsigned fast_shift;     /* a fastbin link is stored ^ (slot >> shift); 64: stored as it is */
	uint64_t alignment_mask; /* a fastbin entry's address has none of these bits */
};

struct heapwalk_link_words;

struct heapwalk_link_words *heapwalk_link_words_open(const uint64_t *bounds, size_t region_count,
                                                     size_t budget, const struct heapwalk_link_rule *rule);
void heapwalk_link_words_close(struct heapwalk_link_words *links);
int heapwalk_link_words_begin(struct heapwalk_link_words *links, uint64_t low);
void heapwalk_link_words_seal(struct heapwalk_link_words *links);
size_t heapwalk_link_words_count(const struct heapwalk_link_words *links);
void heapwalk_link_words_note(struct heapwalk_link_words *links, const uint64_t *window, size_t word_count,
                              uint64_t base, uint64_t word, uint64_t field);
int heapwalk_link_words_find(const struct heapwalk_link_words *links, uint64_t address, uint64_t *value);

#endif
