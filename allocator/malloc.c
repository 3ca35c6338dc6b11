/*
 * _int_malloc: serving one request from an arena, in glibc 2.36's order of preference:
 * fastbin, small bin, the unsorted scan (which also files every chunk it passes into its bin),
 * the request's own large bin, the next non-empty larger bin found through the binmap, and
 * finally the top chunk or the system.  Fast and small hits refill the thread's tcache with the
 * rest of their bin; exact fits met during the unsorted scan are parked in the tcache first and
 * one of them is returned at the end.  Every pointer taken from a bin is checked first, with the
 * message glibc aborts with.
 */
#include <errno.h>

#include "internal.h"

static inline mbinptr next_bin(mbinptr bin) { return (mbinptr)((char *)bin + sizeof(mchunkptr) * 2); }

static inline size_t arena_flag(mstate av) { return av != &main_arena ? NON_MAIN_ARENA : 0; }

static void *hand_out(mchunkptr victim, size_t bytes)
{
	void *mem = chunk_to_mem(victim);
	alloc_perturb(mem, bytes);
	return mem;
}

/* Pop the head of a fastbin.  Without other threads a plain store does; with them, free() may push
   concurrently without the arena lock, so the pop is a compare-and-swap. */
static inline __attribute__((always_inline)) mchunkptr fastbin_pop(mfastbinptr *bin,
                                                                   const char *misaligned_next_message)
{
	mchunkptr head = *bin;
	if (SINGLE_THREAD_P) {
		*bin = reveal_pointer(head->fd);
		return head;
	}
	for (;;) {
		if (head == NULL)
			return NULL;
		mchunkptr next = reveal_pointer(head->fd);
		if (__builtin_expect(next != NULL && misaligned_link(next), 0))
			malloc_printerr(misaligned_next_message);
		if (__atomic_compare_exchange_n(bin, &head, next, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return head;
	}
}

/* Remove a chunk known to be the tail of a bin (bin->bk) whose links were already checked. */
static inline void take_bin_tail(mbinptr bin, mchunkptr victim)
{
	mchunkptr before = victim->bk;
	bin->bk = before;
	before->fd = bin;
}

static void *fastbin_allocate(mstate av, size_t nb, size_t bytes, bool *served)
{
	unsigned int index = fastbin_index(nb);
	mfastbinptr *bin = fastbin(av, index);
	mchunkptr victim = *bin;
	*served = false;
	if (victim == NULL)
		return NULL;
	if (__builtin_expect(misaligned_link(victim), 0))
		malloc_printerr("malloc(): unaligned fastbin chunk detected 2");
	victim = fastbin_pop(bin, "malloc(): unaligned fastbin chunk detected");
	if (victim == NULL)
		return NULL;
	if (__builtin_expect(fastbin_index(chunk_size(victim)) != index, 0))
		malloc_printerr("malloc(): memory corruption (fast)");

	size_t tc_idx = csize2tidx(nb);
	if (tcache != NULL && tc_idx < mp_.tcache_bins) {
		mchunkptr spare;
		while (tcache->counts[tc_idx] < mp_.tcache_count && (spare = *bin) != NULL) {
			if (__builtin_expect(misaligned_link(spare), 0))
				malloc_printerr("malloc(): unaligned fastbin chunk detected 3");
			spare = fastbin_pop(bin, "malloc(): unaligned fastbin chunk detected");
			if (spare == NULL)
				break;
			tcache_put(spare, tc_idx);
		}
	}
	*served = true;
	NOTE_SOURCE("fastbin");
	return hand_out(victim, bytes);
}

static void *smallbin_allocate(mstate av, size_t nb, size_t bytes)
{
	mbinptr bin = bin_at(av, smallbin_index(nb));
	mchunkptr victim = bin->bk;
	if (victim == bin)
		return NULL;
	if (__builtin_expect(victim->bk->fd != victim, 0))
		malloc_printerr("malloc(): smallbin double linked list corrupted");
	set_inuse_bit_at_offset(victim, nb);
	take_bin_tail(bin, victim);
	if (av != &main_arena)
		set_non_main_arena(victim);

	size_t tc_idx = csize2tidx(nb);
	if (tcache != NULL && tc_idx < mp_.tcache_bins) {
		mchunkptr spare;
		while (tcache->counts[tc_idx] < mp_.tcache_count && (spare = bin->bk) != bin) {
			set_inuse_bit_at_offset(spare, nb);
			if (av != &main_arena)
				set_non_main_arena(spare);
			take_bin_tail(bin, spare);
			tcache_put(spare, tc_idx);
		}
	}
	NOTE_SOURCE("smallbin");
	return hand_out(victim, bytes);
}

static void check_unsorted_victim(mstate av, mchunkptr victim, size_t size)
{
	mchunkptr next = chunk_at_offset(victim, size);
	if (__builtin_expect(size <= CHUNK_HDR_SZ || size > av->system_mem, 0))
		malloc_printerr("malloc(): invalid size (unsorted)");
	if (__builtin_expect(chunk_size_raw(next) < CHUNK_HDR_SZ || chunk_size_raw(next) > av->system_mem, 0))
		malloc_printerr("malloc(): invalid next size (unsorted)");
	if (__builtin_expect((prev_size(next) & ~SIZE_BITS) != size, 0))
		malloc_printerr("malloc(): mismatching next->prev_size (unsorted)");
	if (__builtin_expect(victim->bk->fd != victim || victim->fd != unsorted_chunks(av), 0))
		malloc_printerr("malloc(): unsorted double linked list corrupted");
	if (__builtin_expect(prev_inuse(next), 0))
		malloc_printerr("malloc(): invalid next->prev_inuse (unsorted)");
}

/* File a large chunk into bin `index`, which is kept sorted largest first; the first chunk of each
   size also sits on the fd_nextsize/bk_nextsize skip list.  An equal size goes second in its group
   so the skip list need not change.  Sizes are compared raw with P set, as glibc does. */
static void file_large_chunk(mstate av, mchunkptr victim, size_t size, unsigned int index, mchunkptr *before,
                             mchunkptr *after)
{
	mchunkptr back = bin_at(av, index);
	mchunkptr forward = back->fd;
	if (forward == back) {
		victim->fd_nextsize = victim->bk_nextsize = victim;
		*before = back;
		*after = forward;
		return;
	}
	size |= PREV_INUSE;
	malloc_assert(chunk_main_arena(back->bk), "_int_malloc", "chunk_main_arena (bck->bk)");
	if (size < chunk_size_raw(back->bk)) {
		/* Smaller than everything: append at the tail as the new smallest group. */
		forward = back;
		back = back->bk;
		victim->fd_nextsize = forward->fd;
		victim->bk_nextsize = forward->fd->bk_nextsize;
		forward->fd->bk_nextsize = victim->bk_nextsize->fd_nextsize = victim;
	} else {
		malloc_assert(chunk_main_arena(forward), "_int_malloc", "chunk_main_arena (fwd)");
		while (size < chunk_size_raw(forward)) {
			forward = forward->fd_nextsize;
			malloc_assert_site(chunk_main_arena(forward), "_int_malloc", "chunk_main_arena (fwd)",
			                   2);
		}
		if (size == chunk_size_raw(forward)) {
			forward = forward->fd;
		} else {
			victim->fd_nextsize = forward;
			victim->bk_nextsize = forward->bk_nextsize;
			if (__builtin_expect(forward->bk_nextsize->fd_nextsize != forward, 0))
				malloc_printerr("malloc(): largebin double linked list corrupted (nextsize)");
			forward->bk_nextsize = victim;
			victim->bk_nextsize->fd_nextsize = victim;
		}
		back = forward->bk;
		if (back->fd != forward)
			malloc_printerr("malloc(): largebin double linked list corrupted (bk)");
	}
	*before = back;
	*after = forward;
}

/* The common end of every split that leaves a free remainder: headers of both pieces, the
   remainder's footer, and no stale skip-list links on a large remainder. */
static inline void finish_split(mstate av, mchunkptr victim, size_t nb, mchunkptr remainder,
                                size_t remainder_size)
{
	if (!in_smallbin_range(remainder_size)) {
		remainder->fd_nextsize = NULL;
		remainder->bk_nextsize = NULL;
	}
	set_head(victim, nb | PREV_INUSE | arena_flag(av));
	set_head(remainder, remainder_size | PREV_INUSE);
	set_foot(remainder, remainder_size);
}

/* Give out the first nb bytes of a free chunk already unlinked from its bin; a remainder too small to
   be a chunk is given out too, a larger one goes to the head of the unsorted bin. */
static inline __attribute__((always_inline)) void *split_free_chunk(mstate av, mchunkptr victim, size_t size,
                                                                    size_t nb, size_t bytes,
                                                                    const char *corrupted_unsorted_message,
                                                                    bool remember_remainder)
{
	size_t remainder_size = size - nb;
	if (remainder_size < MINSIZE) {
		set_inuse_bit_at_offset(victim, size);
		if (av != &main_arena)
			set_non_main_arena(victim);
		return hand_out(victim, bytes);
	}
	mchunkptr remainder = chunk_at_offset(victim, nb);
	mchunkptr back = unsorted_chunks(av);
	mchunkptr forward = back->fd;
	if (__builtin_expect(forward->bk != back, 0))
		malloc_printerr(corrupted_unsorted_message);
	remainder->bk = back;
	remainder->fd = forward;
	back->fd = remainder;
	forward->bk = remainder;
	if (remember_remainder)
		av->last_remainder = remainder;
	finish_split(av, victim, nb, remainder, remainder_size);
	return hand_out(victim, bytes);
}

/* Best fit within the request's own large bin: the smallest chunk that is big enough, preferring the
   second of an equal-size group so the skip list is left alone. */
static void *own_large_bin_allocate(mstate av, size_t nb, unsigned int index, size_t bytes)
{
	mbinptr bin = bin_at(av, index);
	mchunkptr victim = bin->fd;
	if (victim == bin || chunk_size_raw(victim) < nb)
		return NULL;
	victim = victim->bk_nextsize;
	size_t size;
	while ((size = chunk_size(victim)) < nb)
		victim = victim->bk_nextsize;
	if (victim != bin->bk && chunk_size_raw(victim) == chunk_size_raw(victim->fd))
		victim = victim->fd;
	unlink_chunk(av, victim);
	NOTE_SOURCE("largebin");
	return split_free_chunk(av, victim, size, nb, bytes, "malloc(): corrupted unsorted chunks", false);
}

/* The smallest non-empty bin above `index`, found through the binmap; bits of bins found empty are
   cleared on the way (the binmap is only a hint). */
static void *binmap_allocate(mstate av, size_t nb, unsigned int index, size_t bytes)
{
	index++;
	mbinptr bin = bin_at(av, index);
	unsigned int block = binmap_block(index);
	unsigned int map = av->binmap[block];
	unsigned int bit = binmap_bit(index);
	for (;;) {
		if (bit > map || bit == 0) {
			do {
				if (++block >= BINMAPSIZE)
					return NULL;
			} while ((map = av->binmap[block]) == 0);
			bin = bin_at(av, block << BINMAPSHIFT);
			bit = 1;
		}
		while ((bit & map) == 0) {
			bin = next_bin(bin);
			bit <<= 1;
			malloc_assert(bit != 0, "_int_malloc", "bit != 0");
		}
		mchunkptr victim = bin->bk;
		if (victim == bin) {
			av->binmap[block] = map &= ~bit;
			bin = next_bin(bin);
			bit <<= 1;
			continue;
		}
		size_t size = chunk_size(victim);
		malloc_assert(size >= nb, "_int_malloc", "(unsigned long) (size) >= (unsigned long) (nb)");
		unlink_chunk(av, victim);
		NOTE_SOURCE(in_smallbin_range(size) ? "smallbin" : "largebin");
		return split_free_chunk(av, victim, size, nb, bytes, "malloc(): corrupted unsorted chunks 2",
		                        in_smallbin_range(nb));
	}
}

void *_int_malloc(mstate av, size_t bytes)
{
	size_t nb = checked_request_to_size(bytes);
	if (nb == 0) {
		errno = ENOMEM;
		return NULL;
	}
	/* No usable arena: the mmap path of sysmalloc is the last resort. */
	if (__builtin_expect(av == NULL, 0)) {
		void *mem = sysmalloc(nb, av);
		if (mem != NULL)
			alloc_perturb(mem, bytes);
		return mem;
	}

	if (nb <= get_max_fast()) {
		bool served;
		void *mem = fastbin_allocate(av, nb, bytes, &served);
		if (served)
			return mem;
	}

	unsigned int index;
	if (in_smallbin_range(nb)) {
		void *mem = smallbin_allocate(av, nb, bytes);
		if (mem != NULL)
			return mem;
		index = smallbin_index(nb);
	} else {
		index = largebin_index(nb);
		if (__atomic_load_n(&av->have_fastchunks, __ATOMIC_RELAXED))
			malloc_consolidate(av);
	}

	size_t tc_idx = csize2tidx(nb);
	size_t tcache_nb = (tcache != NULL && tc_idx < mp_.tcache_bins) ? nb : 0;
	bool return_cached = false;
	size_t tcache_unsorted_count = 0;

	for (;;) {
		int iterations = 0;
		mchunkptr victim;
		while ((victim = unsorted_chunks(av)->bk) != unsorted_chunks(av)) {
			mchunkptr back = victim->bk;
			size_t size = chunk_size(victim);
			check_unsorted_victim(av, victim, size);

			/* Locality for runs of small requests: keep carving the last remainder. */
			if (in_smallbin_range(nb) && back == unsorted_chunks(av) &&
			    victim == av->last_remainder && size > nb + MINSIZE) {
				size_t remainder_size = size - nb;
				mchunkptr remainder = chunk_at_offset(victim, nb);
				unsorted_chunks(av)->bk = unsorted_chunks(av)->fd = remainder;
				av->last_remainder = remainder;
				remainder->bk = remainder->fd = unsorted_chunks(av);
				finish_split(av, victim, nb, remainder, remainder_size);
				NOTE_SOURCE("last-remainder");
				return hand_out(victim, bytes);
			}

			if (__builtin_expect(back->fd != victim, 0))
				malloc_printerr("malloc(): corrupted unsorted chunks 3");
			unsorted_chunks(av)->bk = back;
			back->fd = unsorted_chunks(av);

			if (size == nb) {
				set_inuse_bit_at_offset(victim, size);
				if (av != &main_arena)
					set_non_main_arena(victim);
				if (tcache_nb > 0 && tcache->counts[tc_idx] < mp_.tcache_count) {
					tcache_put(victim, tc_idx);
					return_cached = true;
					continue;
				}
				NOTE_SOURCE("unsorted");
				return hand_out(victim, bytes);
			}

			unsigned int victim_index;
			mchunkptr before, after;
			if (in_smallbin_range(size)) {
				victim_index = smallbin_index(size);
				before = bin_at(av, victim_index);
				after = before->fd;
			} else {
				victim_index = largebin_index(size);
				file_large_chunk(av, victim, size, victim_index, &before, &after);
			}
			mark_bin(av, victim_index);
			victim->bk = before;
			victim->fd = after;
			after->bk = victim;
			before->fd = victim;

			tcache_unsorted_count++;
			if (return_cached && mp_.tcache_unsorted_limit > 0 &&
			    tcache_unsorted_count > mp_.tcache_unsorted_limit)
				return tcache_get(tc_idx);

			if (++iterations >= MAX_ITERS)
				break;
		}

		if (return_cached)
			return tcache_get(tc_idx);

		if (!in_smallbin_range(nb)) {
			void *mem = own_large_bin_allocate(av, nb, index, bytes);
			if (mem != NULL)
				return mem;
		}

		void *mem = binmap_allocate(av, nb, index, bytes);
		if (mem != NULL)
			return mem;

		mchunkptr top = av->top;
		size_t top_size = chunk_size(top);
		if (__builtin_expect(top_size > av->system_mem, 0))
			malloc_printerr("malloc(): corrupted top size");
		if (top_size >= nb + MINSIZE) {
			mchunkptr remainder = chunk_at_offset(top, nb);
			av->top = remainder;
			set_head(top, nb | PREV_INUSE | arena_flag(av));
			set_head(remainder, (top_size - nb) | PREV_INUSE);
			NOTE_SOURCE("top");
			return hand_out(top, bytes);
		}
		if (__atomic_load_n(&av->have_fastchunks, __ATOMIC_RELAXED)) {
			/* Fast chunks may merge into something big enough; scan again. */
			malloc_consolidate(av);
			index = in_smallbin_range(nb) ? smallbin_index(nb) : largebin_index(nb);
			continue;
		}
		NOTE_SOURCE("sysmalloc");
		void *fresh = sysmalloc(nb, av);
		if (fresh != NULL)
			alloc_perturb(fresh, bytes);
		return fresh;
	}
}
