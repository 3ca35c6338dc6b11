/*
 * The data structures of the heap, with glibc's names, field order and sizes (x86-64) for the
 * release this build is (version.h): 2.31 lacks the hugepage fields and keys the tcache by pointer.
 *
 * These definitions are the interface to the debugger: the GDB extension reads every field by
 * name through DWARF, and it reads a real glibc heap with the same code, so nothing here may be
 * renamed, reordered or resized.  The companion unit dwarf/types.c pins every type into DWARF.
 */
#ifndef PTMALLOC_MALLOC_TYPES_H
#define PTMALLOC_MALLOC_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "version.h"

typedef size_t INTERNAL_SIZE_T;

#define SIZE_SZ (sizeof(INTERNAL_SIZE_T))
#define MALLOC_ALIGNMENT 16UL
#define MALLOC_ALIGN_MASK (MALLOC_ALIGNMENT - 1)
#define CHUNK_HDR_SZ (2 * SIZE_SZ)

/* glibc's lock type: a bare int futex word, 0 = unlocked.  Kept as an int so malloc_state keeps
   its 2200-byte layout. */
typedef int __libc_lock_t;

struct malloc_chunk {
	INTERNAL_SIZE_T mchunk_prev_size; /* size of the previous chunk, valid only when it is free */
	INTERNAL_SIZE_T mchunk_size;      /* size in bytes, with the three flag bits */
	struct malloc_chunk *fd;          /* free chunks only: bin links */
	struct malloc_chunk *bk;
	struct malloc_chunk *fd_nextsize; /* large free chunks only: next larger/smaller size */
	struct malloc_chunk *bk_nextsize;
};

typedef struct malloc_chunk *mchunkptr;
typedef struct malloc_chunk *mbinptr;
typedef struct malloc_chunk *mfastbinptr;

#define NBINS 128
#define NSMALLBINS 64
#define NFASTBINS 10
#define BINMAPSHIFT 5
#define BITSPERMAP (1U << BINMAPSHIFT)
#define BINMAPSIZE (NBINS / BITSPERMAP)

struct malloc_state {
	__libc_lock_t mutex;
	int flags; /* NONCONTIGUOUS_BIT */
	int have_fastchunks;
	mfastbinptr fastbinsY[NFASTBINS];
	mchunkptr top;
	mchunkptr last_remainder;
	mchunkptr bins[NBINS * 2 - 2];
	unsigned int binmap[BINMAPSIZE];
	struct malloc_state *next;      /* ring of all arenas, main first */
	struct malloc_state *next_free; /* list of arenas no thread is attached to */
	INTERNAL_SIZE_T attached_threads;
	INTERNAL_SIZE_T system_mem;
	INTERNAL_SIZE_T max_system_mem;
};

typedef struct malloc_state *mstate;

/* The header of every mmapped heap of a thread arena; heaps are HEAP_MAX_SIZE aligned, so the
   header of any chunk's heap is found by masking the chunk address. */
typedef struct _heap_info {
	mstate ar_ptr;
	struct _heap_info *prev;
	size_t size;          /* bytes of the heap in use (page multiple) */
	size_t mprotect_size; /* bytes made read/write so far */
#if HAVE_HUGEPAGES
	size_t pagesize; /* page size the heap was created with */
	char pad[-3 * SIZE_SZ & MALLOC_ALIGN_MASK];
#else
	char pad[-6 * SIZE_SZ & MALLOC_ALIGN_MASK]; /* empty on x86-64, as in glibc */
#endif
} heap_info;

struct malloc_par {
	unsigned long trim_threshold;
	INTERNAL_SIZE_T top_pad;
	INTERNAL_SIZE_T mmap_threshold;
	INTERNAL_SIZE_T arena_test;
	INTERNAL_SIZE_T arena_max;
#if HAVE_HUGEPAGES
	size_t thp_pagesize;
	size_t hp_pagesize;
	int hp_flags;
#endif
	int n_mmaps;
	int n_mmaps_max;
	int max_n_mmaps;
	int no_dyn_threshold;
	INTERNAL_SIZE_T mmapped_mem;
	INTERNAL_SIZE_T max_mmapped_mem;
	char *sbrk_base;
	size_t tcache_bins;
	size_t tcache_max_bytes;
	size_t tcache_count;
	size_t tcache_unsorted_limit;
};

#define TCACHE_MAX_BINS 64

/* Overlaid on the user data of a chunk parked in a tcache bin. */
typedef struct tcache_entry {
	struct tcache_entry *next; /* safe-linked (2.32+): stored as (&next >> 12) ^ target */
	/* While cached, the double-free hint: tcache_key (2.34+), or the owning tcache's address. */
#if TCACHE_KEY_IS_POINTER
	struct tcache_perthread_struct *key;
#else
	uintptr_t key;
#endif
} tcache_entry;

typedef struct tcache_perthread_struct {
	uint16_t counts[TCACHE_MAX_BINS];
	tcache_entry *entries[TCACHE_MAX_BINS];
} tcache_perthread_struct;

_Static_assert(sizeof(struct malloc_chunk) == 48, "malloc_chunk layout");
_Static_assert(sizeof(struct malloc_state) == 2200, "malloc_state layout");
_Static_assert(sizeof(heap_info) == (HAVE_HUGEPAGES ? 48 : 32), "heap_info layout");
_Static_assert(sizeof(struct malloc_par) == (HAVE_HUGEPAGES ? 136 : 112), "malloc_par layout");
_Static_assert(sizeof(tcache_perthread_struct) == 640, "tcache_perthread_struct layout");
_Static_assert(sizeof(tcache_entry) == 16, "tcache_entry layout");

#endif
