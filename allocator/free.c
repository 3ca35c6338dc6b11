/*
 * Giving chunks back to an arena: _int_free (tcache, then fastbin, then merge with free neighbours
 * into the unsorted bin, a small bin (2.41) or the top, then trim), and malloc_consolidate, which empties the
 * fastbins by merging their chunks.  The checks before each step are glibc's, with its messages: they are
 * what turns a double free or an overflow into a clean abort instead of a corrupted heap.
 */
#include "internal.h"

/* File the free chunk p of `size`, whose preceding chunk is in use, merging it with the chunk
   after it if that one is free: into the top, or at the head of the unsorted bin (from 2.41 a
   small chunk freed by free goes to its own small bin instead: `small_to_bin`).  Returns the
   final size. */
static inline __attribute__((always_inline)) size_t file_chunk(mstate av, mchunkptr p, size_t size,
                                                               mchunkptr next, size_t next_size,
                                                               const char *corrupted_unsorted_message,
                                                               bool small_to_bin)
{
	if (next == av->top) {
		size += next_size;
		set_head(p, size | PREV_INUSE);
		av->top = p;
		NOTE_DESTINATION("top");
		return size;
	}

	if (!inuse_bit_at_offset(next, next_size)) {
		unlink_chunk(av, next);
		size += next_size;
	} else {
		clear_inuse_bit_at_offset(next, 0);
	}

	mchunkptr back, forward;
	if (small_to_bin && in_smallbin_range(size)) {
		unsigned int index = smallbin_index(size);
		back = bin_at(av, index);
		forward = back->fd;
		if (__builtin_expect(forward->bk != back, 0))
			malloc_printerr("free(): chunks in smallbin corrupted");
		mark_bin(av, index);
		NOTE_DESTINATION("smallbin");
	} else {
		back = unsorted_chunks(av);
		forward = back->fd;
		if (corrupted_unsorted_message != NULL && __builtin_expect(forward->bk != back, 0))
			malloc_printerr(corrupted_unsorted_message);
		if (!in_smallbin_range(size)) {
			p->fd_nextsize = NULL;
			p->bk_nextsize = NULL;
		}
		NOTE_DESTINATION("unsorted");
	}
	p->fd = forward;
	p->bk = back;
	back->fd = p;
	forward->bk = p;
	set_head(p, size | PREV_INUSE);
	set_foot(p, size);
	return size;
}

/* Merge a free chunk p of `size` with its free physical neighbours, then file it (file_chunk). */
static inline __attribute__((always_inline)) size_t
merge_and_file(mstate av, mchunkptr p, size_t size, mchunkptr next, size_t next_size,
               const char *prev_mismatch_message, const char *corrupted_unsorted_message, bool small_to_bin)
{
	if (!prev_inuse(p)) {
		size_t previous = prev_size(p);
		size += previous;
		p = (mchunkptr)((char *)p - previous);
		if (__builtin_expect(chunk_size(p) != previous, 0))
			malloc_printerr(prev_mismatch_message);
		unlink_chunk(av, p);
	}
	return file_chunk(av, p, size, next, next_size, corrupted_unsorted_message, small_to_bin);
}

static void free_to_fastbin(mstate av, mchunkptr p, size_t size, int have_lock)
{
	mchunkptr next = chunk_at_offset(p, size);
	if (__builtin_expect(chunk_size_raw(next) <= CHUNK_HDR_SZ, 0) ||
	    __builtin_expect(chunk_size(next) >= av->system_mem, 0)) {
		/* Without the lock the next chunk may be mid-update by another thread; look again under it.
		 */
		bool fail = true;
		if (!have_lock) {
			arena_lock_acquire(&av->mutex);
			fail = chunk_size_raw(next) <= CHUNK_HDR_SZ || chunk_size(next) >= av->system_mem;
			arena_lock_release(&av->mutex);
		}
		if (fail)
			malloc_printerr("free(): invalid next size (fast)");
	}

	free_perturb(chunk_to_mem(p), size - CHUNK_HDR_SZ);
	__atomic_store_n(&av->have_fastchunks, 1, __ATOMIC_RELAXED);
	NOTE_DESTINATION("fastbin");

	unsigned int index = fastbin_index(size);
	mfastbinptr *bin = fastbin(av, index);
	mchunkptr old_head = *bin;
	if (SINGLE_THREAD_P) {
		if (__builtin_expect(old_head == p, 0))
			malloc_printerr("double free or corruption (fasttop)");
		p->fd = protect_pointer(&p->fd, old_head);
		*bin = p;
	} else {
		do {
			if (__builtin_expect(old_head == p, 0))
				malloc_printerr("double free or corruption (fasttop)");
			p->fd = protect_pointer(&p->fd, old_head);
		} while (
		    !__atomic_compare_exchange_n(bin, &old_head, p, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	}
	if (have_lock && old_head != NULL &&
	    __builtin_expect(fastbin_index(chunk_size(old_head)) != index, 0))
		malloc_printerr("invalid fastbin entry (free)");
}

/* After a free that left `size` bytes free in one piece: a big one is the moment to merge the
   fastbins and give memory back to the system. */
static inline __attribute__((always_inline)) void consolidate_after_free(mstate av, size_t size)
{
	if (size < FASTBIN_CONSOLIDATION_THRESHOLD)
		return;
	if (__atomic_load_n(&av->have_fastchunks, __ATOMIC_RELAXED))
		malloc_consolidate(av);
	if (av == &main_arena) {
		if (chunk_size(av->top) >= mp_.trim_threshold)
			systrim(mp_.top_pad, av);
	} else {
		heap_info *heap = heap_for_ptr(av->top);
		malloc_assert(heap->ar_ptr == av, "_int_free", "heap->ar_ptr == av");
		heap_trim(heap, mp_.top_pad);
	}
}

/* free_merge_chunk's body, inlined into free's own path. */
static inline __attribute__((always_inline)) void merge_free_chunk(mstate av, mchunkptr p, size_t size)
{
	mchunkptr next = chunk_at_offset(p, size);
	if (__builtin_expect(p == av->top, 0))
		malloc_printerr("double free or corruption (top)");
	if (__builtin_expect(arena_is_contiguous(av) && (char *)next >= (char *)av->top + chunk_size(av->top),
	                     0))
		malloc_printerr("double free or corruption (out)");
	if (__builtin_expect(!prev_inuse(next), 0))
		malloc_printerr("double free or corruption (!prev)");
	size_t next_size = chunk_size(next);
	if (__builtin_expect(chunk_size_raw(next) <= CHUNK_HDR_SZ, 0) ||
	    __builtin_expect(next_size >= av->system_mem, 0))
		malloc_printerr("free(): invalid next size (normal)");

	free_perturb(chunk_to_mem(p), size - CHUNK_HDR_SZ);

	size =
	    merge_and_file(av, p, size, next, next_size, "corrupted size vs. prev_size while consolidating",
	                   "free(): corrupted unsorted chunks", FREE_FILES_SMALL_CHUNKS_IN_BINS);
	consolidate_after_free(av, size);
}

void free_merge_chunk(mstate av, mchunkptr p, size_t size) { merge_free_chunk(av, p, size); }

void free_file_tail(mstate av, mchunkptr p, size_t size)
{
	mchunkptr next = chunk_at_offset(p, size);
	size = file_chunk(av, p, size, next, chunk_size(next), "free(): corrupted unsorted chunks",
	                  FREE_FILES_SMALL_CHUNKS_IN_BINS);
	consolidate_after_free(av, size);
}

static void free_to_unsorted(mstate av, mchunkptr p, size_t size, int have_lock)
{
	if (SINGLE_THREAD_P)
		have_lock = true;
	if (!have_lock)
		arena_lock_acquire(&av->mutex);
	merge_free_chunk(av, p, size);
	if (!have_lock)
		arena_lock_release(&av->mutex);
}

void _int_free(mstate av, mchunkptr p, int have_lock)
{
	size_t size = chunk_size(p);
	/* A pointer that wraps around the address space, or a misaligned one, cannot be a chunk. */
	if (__builtin_expect((uintptr_t)p > (uintptr_t)-size, 0) || __builtin_expect(misaligned_chunk(p), 0))
		malloc_printerr("free(): invalid pointer");
	if (__builtin_expect(size < MINSIZE || !aligned_ok(size), 0))
		malloc_printerr("free(): invalid size");

	size_t tc_idx = csize2tidx(size);
	if (tcache != NULL && tc_idx < mp_.tcache_bins) {
		tcache_entry *entry = chunk_to_mem(p);
		/* The key is only a hint (user data may hold it by chance); the bin scan decides. */
		if (__builtin_expect(entry->key == tcache_mark(), 0))
			tcache_double_free_verify(entry, tc_idx);
		if (tcache->counts[tc_idx] < mp_.tcache_count) {
			tcache_put(p, tc_idx);
			return;
		}
	}

	if (size <= get_max_fast())
		free_to_fastbin(av, p, size, have_lock);
	else if (!chunk_is_mmapped(p))
		free_to_unsorted(av, p, size, have_lock);
	else
		munmap_chunk(p);
}

void malloc_consolidate(mstate av)
{
	__atomic_store_n(&av->have_fastchunks, 0, __ATOMIC_RELAXED);

	for (unsigned int index = 0; index < NFASTBINS; index++) {
		mfastbinptr *bin = fastbin(av, index);
		mchunkptr p = __atomic_exchange_n(bin, NULL, __ATOMIC_ACQUIRE);
		while (p != NULL) {
			if (__builtin_expect(misaligned_link(p), 0))
				malloc_printerr("malloc_consolidate(): unaligned fastbin chunk detected");
			if (fastbin_index(chunk_size(p)) != index)
				malloc_printerr("malloc_consolidate(): invalid chunk size");

			mchunkptr following = reveal_pointer(p->fd);
			size_t size = chunk_size(p);
			mchunkptr next = chunk_at_offset(p, size);
			size_t next_size = chunk_size(next);
			merge_and_file(av, p, size, next, next_size,
			               "corrupted size vs. prev_size in fastbins", NULL, false);
			p = following;
		}
	}
}
