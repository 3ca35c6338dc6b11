/*
 * Bins: which bin a size belongs to, the bin headers inside malloc_state, the binmap, and the
 * fastbin size limit.
 *
 * Each regular bin is a fake chunk whose fd/bk are the two words bins[2i-2], bins[2i-1]; the fake
 * chunk starts 16 bytes before them so that ->fd and ->bk land on those words.  Bin 1 is the
 * unsorted bin, 2..63 hold one small size each, 64..126 hold ranges of large sizes.
 */
#ifndef PTMALLOC_BINS_H
#define PTMALLOC_BINS_H

#include "chunk.h"

#define MIN_LARGE_SIZE ((size_t)NSMALLBINS * MALLOC_ALIGNMENT)
#define MAX_FAST_SIZE (80 * SIZE_SZ / 4)
#define DEFAULT_MXFAST (64 * SIZE_SZ / 4)
#define NONCONTIGUOUS_BIT 2U
#define FASTBIN_CONSOLIDATION_THRESHOLD 65536UL

static inline mbinptr bin_at(mstate av, unsigned int index)
{
	return (mbinptr)((char *)&av->bins[(index - 1) * 2] - offsetof(struct malloc_chunk, fd));
}
static inline mbinptr unsorted_chunks(mstate av) { return bin_at(av, 1); }
/* Before the first sysmalloc the top is the unsorted bin header, whose size word reads as 0. */
static inline mchunkptr initial_top(mstate av) { return unsorted_chunks(av); }

static inline bool in_smallbin_range(size_t size) { return size < MIN_LARGE_SIZE; }
static inline unsigned int smallbin_index(size_t size) { return (unsigned int)(size >> 4); }

static inline unsigned int largebin_index(size_t size)
{
	if ((size >> 6) <= 48)
		return 48 + (unsigned int)(size >> 6);
	if ((size >> 9) <= 20)
		return 91 + (unsigned int)(size >> 9);
	if ((size >> 12) <= 10)
		return 110 + (unsigned int)(size >> 12);
	if ((size >> 15) <= 4)
		return 119 + (unsigned int)(size >> 15);
	if ((size >> 18) <= 2)
		return 124 + (unsigned int)(size >> 18);
	return 126;
}

static inline unsigned int bin_index(size_t size)
{
	return in_smallbin_range(size) ? smallbin_index(size) : largebin_index(size);
}

static inline unsigned int fastbin_index(size_t size) { return (unsigned int)(size >> 4) - 2; }
static inline mfastbinptr *fastbin(mstate av, unsigned int index) { return &av->fastbinsY[index]; }

static inline unsigned int binmap_block(unsigned int index) { return index >> BINMAPSHIFT; }
static inline unsigned int binmap_bit(unsigned int index) { return 1U << (index & (BITSPERMAP - 1)); }
static inline void mark_bin(mstate av, unsigned int index)
{
	av->binmap[binmap_block(index)] |= binmap_bit(index);
}
static inline void unmark_bin(mstate av, unsigned int index)
{
	av->binmap[binmap_block(index)] &= ~binmap_bit(index);
}

static inline bool arena_is_contiguous(mstate av) { return (av->flags & NONCONTIGUOUS_BIT) == 0; }
static inline void set_noncontiguous(mstate av) { av->flags |= NONCONTIGUOUS_BIT; }

/* The variable's type is the release's (version.h: GLOBAL_MAX_FAST_IS_BYTE), named as glibc names
   it so the DWARF says the same: a macro, not a typedef of our own. */
#if GLOBAL_MAX_FAST_IS_BYTE
#define MAX_FAST_TYPE uint8_t
#else
#define MAX_FAST_TYPE size_t
#endif
extern MAX_FAST_TYPE global_max_fast;
static inline size_t get_max_fast(void) { return global_max_fast; }
/* 0 stores 16, so that no chunk size qualifies; so do 1..7 since 2.32 (they stored 0 before). */
static inline void set_max_fast(size_t size)
{
	size_t limit = SMALL_MXFAST_IS_16 ? 7 : 0;
	global_max_fast =
	    (MAX_FAST_TYPE)(size <= limit ? MIN_CHUNK_SIZE / 2 : (size + SIZE_SZ) & ~MALLOC_ALIGN_MASK);
}

/* Take a free chunk out of its doubly linked bin, checking the links first (bins.c). */
void unlink_chunk(mstate av, mchunkptr p);

#endif
