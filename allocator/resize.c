/*
 * realloc of a heap chunk (_int_realloc): keep it when it is already big enough, else grow in
 * place into the top or a free successor, else allocate, copy and free; whatever is left over
 * beyond the request is split off and freed.  It never takes the new block from the tcache.
 */
#include <string.h>

#include "internal.h"

void *_int_realloc(mstate av, mchunkptr oldp, size_t oldsize, size_t nb)
{
	if (__builtin_expect(chunk_size_raw(oldp) <= CHUNK_HDR_SZ, 0) ||
	    __builtin_expect(oldsize >= av->system_mem, 0))
		malloc_printerr("realloc(): invalid old size");
	malloc_assert(!chunk_is_mmapped(oldp), "_int_realloc", "!chunk_is_mmapped (oldp)");

	const size_t arena_bit = av != &main_arena ? NON_MAIN_ARENA : 0;
	mchunkptr next = chunk_at_offset(oldp, oldsize);
	size_t next_size = chunk_size(next);
	if (__builtin_expect(chunk_size_raw(next) <= CHUNK_HDR_SZ, 0) ||
	    __builtin_expect(next_size >= av->system_mem, 0))
		malloc_printerr("realloc(): invalid next size");

	mchunkptr newp = oldp;
	size_t newsize = oldsize;
	if (oldsize < nb) {
		if (next == av->top && oldsize + next_size >= nb + MINSIZE) {
			newsize = oldsize + next_size;
			set_head_size(oldp, nb | arena_bit);
			av->top = chunk_at_offset(oldp, nb);
			set_head(av->top, (newsize - nb) | PREV_INUSE);
			return chunk_to_mem(oldp);
		}
		if (next != av->top && !chunk_inuse(next) && oldsize + next_size >= nb) {
			newsize = oldsize + next_size;
			unlink_chunk(av, next);
		} else {
			void *newmem = _int_malloc(av, nb - MALLOC_ALIGN_MASK);
			if (newmem == NULL)
				return NULL;
			newp = mem_to_chunk(newmem);
			newsize = chunk_size(newp);
			if (newp == next) {
				/* sysmalloc extended the heap right behind us: no copy needed. */
				newsize += oldsize;
				newp = oldp;
			} else {
				memcpy(newmem, chunk_to_mem(oldp), oldsize - SIZE_SZ);
				_int_free(av, oldp, 1);
				return newmem;
			}
		}
	}

	malloc_assert(newsize >= nb, "_int_realloc", "(unsigned long) (newsize) >= (unsigned long) (nb)");
	size_t remainder_size = newsize - nb;
	if (remainder_size < MINSIZE) {
		set_head_size(newp, newsize | arena_bit);
		set_inuse_bit_at_offset(newp, newsize);
	} else {
		mchunkptr remainder = chunk_at_offset(newp, nb);
		set_head_size(newp, nb | arena_bit);
		set_head(remainder, remainder_size | PREV_INUSE | arena_bit);
		/* Marked in use so _int_free accepts it; it then merges with whatever follows. */
		set_inuse_bit_at_offset(remainder, remainder_size);
		_int_free(av, remainder, 1);
	}
	return chunk_to_mem(newp);
}
