/*
 * The memalign family's core: over-allocate by the alignment plus MINSIZE, find the aligned point
 * inside the block, and give back the leading and trailing pieces as free chunks.  From 2.38 an
 * entry of the tcache that already has the alignment is taken first, and from 2.39 the pieces go
 * back to the bins directly (version.h: MEMALIGN_SCANS_TCACHE, MEMALIGN_MERGES_PIECES).
 */
#include <errno.h>
#include <stdint.h>

#include "hooks.h"
#include "internal.h"

PTM_RARE void *_int_memalign(mstate av, size_t alignment, size_t bytes)
{
	size_t nb = checked_request_to_size(bytes);
	/* Debian's fix for CVE-2026-0861 also refuses alignments above PTRDIFF_MAX here. */
	if (nb == 0 ||
	    (MEMALIGN_OVERFLOW_FIXED && (alignment > PTRDIFF_MAX || nb > SIZE_MAX - alignment - MINSIZE))) {
		errno = ENOMEM;
		return NULL;
	}

	char *mem = _int_malloc(av, nb + alignment + MINSIZE);
	if (mem == NULL)
		return NULL;
	mchunkptr p = mem_to_chunk(mem);
	const size_t arena_bit = av != &main_arena ? NON_MAIN_ARENA : 0;

	if ((uintptr_t)mem % alignment != 0) {
		/* The leading piece must be a chunk of its own, so skip to the next aligned spot if the
		   first one leaves less than MINSIZE in front. */
		char *aligned =
		    (char *)mem_to_chunk((void *)(((uintptr_t)mem + alignment - 1) & -(uintptr_t)alignment));
		if ((size_t)(aligned - (char *)p) < MINSIZE)
			aligned += alignment;
		mchunkptr newp = (mchunkptr)aligned;
		size_t lead_size = (size_t)(aligned - (char *)p);
		size_t new_size = chunk_size(p) - lead_size;

		if (chunk_is_mmapped(p)) {
			set_prev_size(newp, prev_size(p) + lead_size);
			set_head(newp, new_size | IS_MMAPPED);
			return chunk_to_mem(newp);
		}
		set_head(newp, new_size | PREV_INUSE | arena_bit);
		set_inuse_bit_at_offset(newp, new_size);
		set_head_size(p, lead_size | arena_bit);
		if (MEMALIGN_MERGES_PIECES)
			free_merge_chunk(av, p, lead_size);
		else
			_int_free(av, p, 1);
		p = newp;
		malloc_assert(new_size >= nb && ((uintptr_t)chunk_to_mem(p)) % alignment == 0,
		              "_int_memalign",
		              "newsize >= nb && (((unsigned long) (chunk2mem (p))) % alignment) == 0");
	}

	if (MEMALIGN_MERGES_PIECES && !chunk_is_mmapped(p)) {
		size_t size = chunk_size(p);
		mchunkptr next = chunk_at_offset(p, size);
		/* A tail too small to be a chunk can still go when it merges with what follows. */
		if (size > nb && (size - nb >= MINSIZE || next == av->top ||
		                  !inuse_bit_at_offset(next, chunk_size(next)))) {
			set_head_size(p, nb);
			free_file_tail(av, chunk_at_offset(p, nb), size - nb);
		}
	} else if (!chunk_is_mmapped(p)) {
		size_t size = chunk_size(p);
		if (size > nb + MINSIZE) {
			mchunkptr remainder = chunk_at_offset(p, nb);
			set_head(remainder, (size - nb) | PREV_INUSE | arena_bit);
			set_head_size(p, nb);
			_int_free(av, remainder, 1);
		}
	}
	return chunk_to_mem(p);
}

/* An entry of the tcache bin of exactly `nb` that is already aligned, taken out of the list
   wherever it sits; NULL when there is none.  (Aligned to at least 32 bytes, it passes the
   alignment check that taking an entry makes.) */
static void *aligned_tcache_entry(size_t alignment, size_t nb)
{
	size_t tc_idx = csize2tidx(nb);
	if (tc_idx >= mp_.tcache_bins || tcache == NULL || tcache->counts[tc_idx] == 0)
		return NULL;
	tcache_entry **link = &tcache->entries[tc_idx];
	tcache_entry *entry = *link;
	while (entry != NULL && (uintptr_t)entry % alignment != 0) {
		link = &entry->next;
		entry = reveal_pointer(entry->next);
	}
	if (entry == NULL)
		return NULL;
	if (link == &tcache->entries[tc_idx])
		return tcache_get(tc_idx);
	*link = protect_pointer(link, reveal_pointer(entry->next));
	tcache->counts[tc_idx]--;
	entry->key = 0;
	NOTE_SOURCE("tcache");
	return entry;
}

PTM_RARE void *_mid_memalign(size_t alignment, size_t bytes, const void *caller)
{
	void *answer;
	if (memalign_hook_answers(alignment, bytes, caller, &answer))
		return answer;
	if (alignment <= MALLOC_ALIGNMENT)
		return malloc(bytes);
	if (alignment < MINSIZE)
		alignment = MINSIZE;
	/* Beyond 2^63 no power of two exists, and the arithmetic below would overflow. */
	if (alignment > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	alignment = alignment_as_power_of_two(alignment);

	if (MEMALIGN_SCANS_TCACHE) {
		size_t nb = checked_request_to_size(bytes);
		if (nb == 0) {
			errno = ENOMEM;
			return NULL;
		}
		void *cached = aligned_tcache_entry(alignment, nb);
		if (cached != NULL)
			return cached;
	}

	if (SINGLE_THREAD_P) {
		void *mem = _int_memalign(&main_arena, alignment, bytes);
		malloc_assert(!mem || chunk_is_mmapped(mem_to_chunk(mem)) ||
		                  &main_arena == arena_for_chunk(mem_to_chunk(mem)),
		              "_mid_memalign",
		              "!p || chunk_is_mmapped (mem2chunk (p)) || &main_arena == arena_for_chunk "
		              "(mem2chunk (p))");
		return mem;
	}

	mstate av = arena_get(bytes + alignment + MINSIZE);
	void *mem = _int_memalign(av, alignment, bytes);
	if (mem == NULL && av != NULL) {
		av = arena_get_retry(av, bytes);
		mem = _int_memalign(av, alignment, bytes);
	}
	if (av != NULL)
		arena_lock_release(&av->mutex);
	malloc_assert(!mem || chunk_is_mmapped(mem_to_chunk(mem)) || av == arena_for_chunk(mem_to_chunk(mem)),
	              "_mid_memalign",
	              "!p || chunk_is_mmapped (mem2chunk (p)) || ar_ptr == arena_for_chunk (mem2chunk (p))");
	return mem;
}
