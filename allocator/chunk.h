/*
 * Chunk arithmetic: the three flag bits of the size word, conversions between chunk and user
 * pointers, request normalisation, and safe-linking of singly linked free lists.
 *
 * A chunk's size word holds its size (a multiple of 16) and, in its low bits, whether the
 * physically previous chunk is in use (P), whether the chunk is a private mmap (M) and whether
 * it belongs to a thread arena (A).  An in-use chunk lends its last 8 bytes to the next chunk's
 * prev_size field, which is why usable size is size - 8.
 */
#ifndef PTMALLOC_CHUNK_H
#define PTMALLOC_CHUNK_H

#include <stdbool.h>
#include <stdint.h>

#include "malloc_types.h"

#define PREV_INUSE 0x1UL
#define IS_MMAPPED 0x2UL
#define NON_MAIN_ARENA 0x4UL
#define SIZE_BITS (PREV_INUSE | IS_MMAPPED | NON_MAIN_ARENA)

#define MIN_CHUNK_SIZE (offsetof(struct malloc_chunk, fd_nextsize))
#define MINSIZE ((MIN_CHUNK_SIZE + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK)

static inline void *chunk_to_mem(mchunkptr p) { return (char *)p + CHUNK_HDR_SZ; }
static inline mchunkptr mem_to_chunk(void *mem) { return (mchunkptr)((char *)mem - CHUNK_HDR_SZ); }

static inline size_t chunk_size_raw(mchunkptr p) { return p->mchunk_size; }
static inline size_t chunk_size(mchunkptr p) { return p->mchunk_size & ~SIZE_BITS; }
static inline bool prev_inuse(mchunkptr p) { return p->mchunk_size & PREV_INUSE; }
static inline bool chunk_is_mmapped(mchunkptr p) { return p->mchunk_size & IS_MMAPPED; }
static inline bool chunk_main_arena(mchunkptr p) { return !(p->mchunk_size & NON_MAIN_ARENA); }
static inline size_t prev_size(mchunkptr p) { return p->mchunk_prev_size; }
static inline void set_prev_size(mchunkptr p, size_t size) { p->mchunk_prev_size = size; }

static inline mchunkptr chunk_at_offset(mchunkptr p, size_t offset)
{
	return (mchunkptr)((char *)p + offset);
}
static inline mchunkptr next_chunk(mchunkptr p) { return chunk_at_offset(p, chunk_size(p)); }
static inline mchunkptr prev_chunk(mchunkptr p) { return (mchunkptr)((char *)p - prev_size(p)); }

/* Whether the chunk at p + offset is in use is recorded in the P bit of the chunk after it. */
static inline bool inuse_bit_at_offset(mchunkptr p, size_t offset)
{
	return chunk_at_offset(p, offset)->mchunk_size & PREV_INUSE;
}
static inline void set_inuse_bit_at_offset(mchunkptr p, size_t offset)
{
	chunk_at_offset(p, offset)->mchunk_size |= PREV_INUSE;
}
static inline void clear_inuse_bit_at_offset(mchunkptr p, size_t offset)
{
	chunk_at_offset(p, offset)->mchunk_size &= ~PREV_INUSE;
}
static inline bool chunk_inuse(mchunkptr p) { return inuse_bit_at_offset(p, chunk_size(p)); }

static inline void set_head(mchunkptr p, size_t head) { p->mchunk_size = head; }
static inline void set_head_size(mchunkptr p, size_t size)
{
	p->mchunk_size = (p->mchunk_size & SIZE_BITS) | size;
}
/* Only free chunks have a footer: the next chunk's prev_size. */
static inline void set_foot(mchunkptr p, size_t size) { chunk_at_offset(p, size)->mchunk_prev_size = size; }
static inline void set_non_main_arena(mchunkptr p) { p->mchunk_size |= NON_MAIN_ARENA; }

static inline bool aligned_ok(uintptr_t address) { return (address & MALLOC_ALIGN_MASK) == 0; }
/* On x86-64 chunk and user pointer alignments coincide, so the chunk address itself is tested. */
static inline bool misaligned_chunk(mchunkptr p) { return !aligned_ok((uintptr_t)p); }

/* Request normalisation: add room for the size word and round to the alignment, at least MINSIZE. */
static inline size_t request_to_size(size_t request)
{
	return request + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE
	           ? MINSIZE
	           : (request + SIZE_SZ + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK;
}

/* Requests above PTRDIFF_MAX can never be served; the caller sets ENOMEM when this returns 0. */
static inline size_t checked_request_to_size(size_t request)
{
	if (request > PTRDIFF_MAX)
		return 0;
	return request_to_size(request);
}

/* Safe-linking (2.32+): a singly linked pointer is stored XORed with the page number of the slot
   that holds it, so a leaked or overwritten pointer is useless without knowing where it lives.
   Before 2.32 the links are plain pointers. */
static inline void *protect_pointer(void *slot, void *pointer)
{
	if (!SAFE_LINKING)
		return pointer;
	return (void *)(((uintptr_t)slot >> 12) ^ (uintptr_t)pointer);
}
#define reveal_pointer(slot_lvalue) protect_pointer(&(slot_lvalue), (slot_lvalue))

/* Safe-linking came with a check of every pointer taken from a singly linked list: a forged link
   that decodes to a misaligned address aborts with `message`.  2.31 follows such a link. */
static inline bool misaligned_link(const void *pointer)
{
	return SAFE_LINKING && !aligned_ok((uintptr_t)pointer);
}

static inline size_t align_up(size_t value, size_t alignment)
{
	return (value + alignment - 1) & ~(alignment - 1);
}
static inline size_t align_down(size_t value, size_t alignment) { return value & ~(alignment - 1); }

#endif
