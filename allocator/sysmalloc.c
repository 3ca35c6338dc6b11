/*
 * Memory from the system and back: sysmalloc (a private mmap for big requests; otherwise grow the
 * main arena with sbrk, falling back to mmap, or grow/add heaps of a thread arena), systrim and
 * mtrim (give the end of the break and whole free pages back), and munmap/mremap of mmapped chunks.
 *
 * An mmapped chunk records in prev_size how far into its mapping it starts, so free can unmap the
 * whole mapping; it never has P or A set.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hooks.h"
#include "internal.h"

size_t system_page_size(void)
{
	static size_t page_size;
	if (__builtin_expect(page_size == 0, 0))
		page_size = (size_t)getpagesize();
	return page_size;
}

/* Transparent huge pages, when the hugetlb=1 tunable asked for them. */
static void advise_huge_pages(void *start, size_t size)
{
	if (transparent_hugepage_size() == 0 || size < transparent_hugepage_size())
		return;
	uintptr_t page_start = align_down((uintptr_t)start, system_page_size());
	madvise((void *)page_start, size + ((uintptr_t)start - page_start), MADV_HUGEPAGE);
}

/* What glibc's MORECORE (hooks.h) answers on failure. */
#define MORECORE_FAILURE NULL
/* libc's record of the program break (exported by glibc since 2.2.5). */
extern void *__curbrk;

static bool is_power_of_two_or_zero(uintptr_t value) { return (value & (value - 1)) == 0; }

/* Fresh read/write anonymous memory; transparent huge pages are requested unless the mapping
   already uses explicit ones.  MAP_FAILED when it cannot be had. */
static char *map_anonymous(size_t length, int extra_flags)
{
	char *mapping =
	    mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
#ifdef MAP_HUGETLB
	if (mapping != MAP_FAILED && !(extra_flags & MAP_HUGETLB))
		advise_huge_pages(mapping, length);
#endif
	return mapping;
}

/* Statistics maxima are raised without a lock: threads mmap concurrently. */
static void raise_maximum_int(int *maximum, int value)
{
	int seen = __atomic_load_n(maximum, __ATOMIC_RELAXED);
	while (value > seen &&
	       !__atomic_compare_exchange_n(maximum, &seen, value, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void raise_maximum_size(size_t *maximum, size_t value)
{
	size_t seen = __atomic_load_n(maximum, __ATOMIC_RELAXED);
	while (value > seen &&
	       !__atomic_compare_exchange_n(maximum, &seen, value, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* A chunk of its own mapping; MAP_FAILED when the mapping cannot be had. */
static void *mmap_chunk_allocate(size_t nb, size_t page_size, int extra_flags)
{
	size_t size = align_up(nb + SIZE_SZ, page_size);
	if (size <= nb)
		return MAP_FAILED;
	char *mapping = map_anonymous(size, extra_flags);
	if (mapping == MAP_FAILED)
		return MAP_FAILED;
	malloc_assert(aligned_ok((uintptr_t)chunk_to_mem((mchunkptr)mapping)), "sysmalloc_mmap",
	              "((INTERNAL_SIZE_T) chunk2mem (mm) & MALLOC_ALIGN_MASK) == 0");
	mchunkptr p = (mchunkptr)mapping;
	set_prev_size(p, 0);
	set_head(p, size | IS_MMAPPED);

	NOTE_SOURCE("mmap");
	raise_maximum_int(&mp_.max_n_mmaps, __atomic_add_fetch(&mp_.n_mmaps, 1, __ATOMIC_RELAXED));
	raise_maximum_size(&mp_.max_mmapped_mem,
	                   __atomic_add_fetch(&mp_.mmapped_mem, size, __ATOMIC_RELAXED));
	return chunk_to_mem(p);
}

/* When sbrk fails the main arena continues in mmapped memory of at least `minimum` bytes (the
   request plus the old top rounded to `alignment` while the arena is contiguous); from then on it
   is noncontiguous. */
static char *mmap_as_morecore(size_t *size, size_t nb, size_t old_size, size_t minimum, size_t alignment,
                              int extra_flags, mstate av)
{
	size_t length = *size;
	if (arena_is_contiguous(av))
		length = align_up(length + old_size, alignment);
	if (length < minimum)
		length = minimum;
	if (length <= nb)
		return MAP_FAILED;
	char *mapping = map_anonymous(length, extra_flags);
	if (mapping == MAP_FAILED)
		return MAP_FAILED;
	set_noncontiguous(av);
	*size = length;
	return mapping;
}

/* A thread arena grows its current heap in place, or chains a new heap and fences off the old top.
   Returns false only when it could do neither (the caller may still try mmap). */
static bool grow_thread_arena(mstate av, size_t nb, mchunkptr old_top, size_t old_size)
{
	heap_info *old_heap = heap_for_ptr(old_top);
	size_t old_heap_size = old_heap->size;
	long growth = (long)(MINSIZE + nb - old_size);
	if (growth > 0 && grow_heap(old_heap, growth) == 0) {
		av->system_mem += old_heap->size - old_heap_size;
		set_head(old_top,
		         (size_t)(((char *)old_heap + old_heap->size) - (char *)old_top) | PREV_INUSE);
		return true;
	}

	heap_info *heap = new_heap(nb + (MINSIZE + sizeof(*heap)), mp_.top_pad);
	if (heap == NULL)
		return false;
	heap->ar_ptr = av;
	heap->prev = old_heap;
	av->system_mem += heap->size;
	av->top = chunk_at_offset((mchunkptr)heap, sizeof(*heap));
	set_head(av->top, (heap->size - sizeof(*heap)) | PREV_INUSE);

	/* The old heap ends with a fencepost of at least MINSIZE (it may become a top again after
	   heap_trim); what precedes it is freed. */
	old_size = (old_size - MINSIZE) & ~MALLOC_ALIGN_MASK;
	set_head(chunk_at_offset(old_top, old_size + CHUNK_HDR_SZ), 0 | PREV_INUSE);
	if (old_size >= MINSIZE) {
		set_head(chunk_at_offset(old_top, old_size), CHUNK_HDR_SZ | PREV_INUSE);
		set_foot(chunk_at_offset(old_top, old_size), CHUNK_HDR_SZ);
		set_head(old_top, old_size | PREV_INUSE | NON_MAIN_ARENA);
		_int_free(av, old_top, 1);
	} else {
		set_head(old_top, (old_size + CHUNK_HDR_SZ) | PREV_INUSE);
		set_foot(old_top, old_size + CHUNK_HDR_SZ);
	}
	return true;
}

/* Where the new space is not adjacent to the old top (a foreign sbrk, or mmapped space), align its
   start, ask for enough more to end on a page boundary, and fence off the old top. */
static void adopt_new_main_space(mstate av, char *brk, size_t size, char *snd_brk, mchunkptr old_top,
                                 size_t old_size, char *old_end)
{
	size_t page_size = system_page_size();
	long correction = 0;
	char *aligned_brk = brk;

	if (arena_is_contiguous(av)) {
		if (old_size != 0)
			av->system_mem += (size_t)(brk - old_end); /* foreign sbrk space counts as ours */
		size_t front_misalign = (uintptr_t)chunk_to_mem((mchunkptr)brk) & MALLOC_ALIGN_MASK;
		if (front_misalign > 0) {
			correction = (long)(MALLOC_ALIGNMENT - front_misalign);
			aligned_brk += correction;
		}
		/* The old top cannot be merged with, so its size must be asked for again. */
		correction += (long)old_size;
		uintptr_t end_misalign = (uintptr_t)(brk + size + correction);
		correction += (long)(align_up(end_misalign, page_size) - end_misalign);
		malloc_assert(correction >= 0, "sysmalloc", "correction >= 0");
		snd_brk = morecore(correction);
		if (snd_brk == MORECORE_FAILURE) {
			correction = 0;
			snd_brk = morecore(0);
		} else {
			run_after_morecore_hook();
			advise_huge_pages(snd_brk, (size_t)correction);
		}
	} else {
		malloc_assert(aligned_ok((uintptr_t)chunk_to_mem((mchunkptr)brk)), "sysmalloc",
		              "((unsigned long) chunk2mem (brk) & MALLOC_ALIGN_MASK) == 0");
		if (snd_brk == MORECORE_FAILURE)
			snd_brk = morecore(0);
	}

	if (snd_brk == MORECORE_FAILURE)
		return;
	av->top = (mchunkptr)aligned_brk;
	set_head(av->top, (size_t)(snd_brk - aligned_brk + correction) | PREV_INUSE);
	av->system_mem += (size_t)correction;

	if (old_size != 0) {
		/* Two fenceposts keep the old top from ever merging with space that is not ours. */
		old_size = (old_size - 2 * CHUNK_HDR_SZ) & ~MALLOC_ALIGN_MASK;
		set_head(old_top, old_size | PREV_INUSE);
		set_head(chunk_at_offset(old_top, old_size), CHUNK_HDR_SZ | PREV_INUSE);
		set_head(chunk_at_offset(old_top, old_size + CHUNK_HDR_SZ), CHUNK_HDR_SZ | PREV_INUSE);
		if (old_size >= MINSIZE)
			_int_free(av, old_top, 1);
	}
}

static void grow_main_arena(mstate av, size_t nb, mchunkptr old_top, size_t old_size, char *old_end)
{
	size_t page_size = system_page_size();
	/* Unsigned arithmetic: for requests near PTRDIFF_MAX this wraps, and the result then reads as
	   negative below, which skips sbrk just as glibc's long arithmetic does (without its overflow). */
	size_t request = nb + mp_.top_pad + MINSIZE;
	if (arena_is_contiguous(av))
		request -= old_size;
	if (__builtin_expect(transparent_hugepage_size() != 0, 0)) {
		/* glibc aims the break at a huge-page boundary using libc's own record of it, __curbrk,
		   which is still NULL until the first brk: then the request is merely rounded up to a huge
		   page.  Reading the same variable (sbrk(0) would set it) keeps both behaviours. */
		uintptr_t current_break = (uintptr_t)__curbrk;
		request = align_up(current_break + request, transparent_hugepage_size()) - current_break;
	} else {
		request = align_up(request, page_size);
	}
	long size = (long)request;

	char *brk = MORECORE_FAILURE;
	char *snd_brk = MORECORE_FAILURE;
	/* An argument so big it looks negative would shrink the break instead. */
	if (size > 0) {
		brk = morecore(size);
		if (brk != MORECORE_FAILURE) {
			run_after_morecore_hook();
			advise_huge_pages(brk, (size_t)size);
		}
	}

	size_t length = (size_t)size;
	if (brk == MORECORE_FAILURE) {
		char *mapped = MAP_FAILED;
		if (hugepage_size() > 0)
			mapped = mmap_as_morecore(&length, nb, old_size, hugepage_size(), hugepage_size(),
			                          hugepage_mmap_flags(), av);
		/* glibc 2.35 and later pass the page size and MMAP_AS_MORECORE_SIZE to this call in
		   swapped order (seen with strace: only the first fallback, from a contiguous arena, is
		   1 MiB; later ones are just the request).  Fidelity means keeping the quirk. */
		if (mapped == MAP_FAILED && MMAP_FALLBACK_ARGUMENTS_SWAPPED)
			mapped =
			    mmap_as_morecore(&length, nb, old_size, page_size, MMAP_AS_MORECORE_SIZE, 0, av);
		else if (mapped == MAP_FAILED)
			mapped =
			    mmap_as_morecore(&length, nb, old_size, MMAP_AS_MORECORE_SIZE, page_size, 0, av);
		if (mapped != MAP_FAILED) {
			brk = mapped;
			snd_brk = brk + length;
		}
	}
	if (brk == MORECORE_FAILURE)
		return;

	if (mp_.sbrk_base == NULL)
		mp_.sbrk_base = brk;
	av->system_mem += length;

	if (brk == old_end && snd_brk == MORECORE_FAILURE)
		set_head(old_top, (length + old_size) | PREV_INUSE);
	else if (arena_is_contiguous(av) && old_size != 0 && brk < old_end)
		malloc_printerr("break adjusted to free malloc space");
	else
		adopt_new_main_space(av, brk, length, snd_brk, old_top, old_size, old_end);
}

void *sysmalloc(size_t nb, mstate av)
{
	size_t page_size = system_page_size();
	bool tried_mmap = false;

	if (av == NULL || (nb >= mp_.mmap_threshold && mp_.n_mmaps < mp_.n_mmaps_max)) {
		void *mem;
		if (hugepage_size() > 0 && nb >= hugepage_size()) {
			mem = mmap_chunk_allocate(nb, hugepage_size(), hugepage_mmap_flags());
			if (mem != MAP_FAILED)
				return mem;
		}
		mem = mmap_chunk_allocate(nb, page_size, 0);
		if (mem != MAP_FAILED)
			return mem;
		tried_mmap = true;
	}
	if (av == NULL)
		return NULL;

	mchunkptr old_top = av->top;
	size_t old_size = chunk_size(old_top);
	char *old_end = (char *)chunk_at_offset(old_top, old_size);
	malloc_assert(
	    (old_top == initial_top(av) && old_size == 0) ||
	        (old_size >= MINSIZE && prev_inuse(old_top) && ((uintptr_t)old_end & (page_size - 1)) == 0),
	    "sysmalloc",
	    "(old_top == initial_top (av) && old_size == 0) || ((unsigned long) (old_size) >= "
	    "MINSIZE && prev_inuse (old_top) && ((unsigned long) old_end & (pagesize - 1)) == 0)");
	malloc_assert(old_size < nb + MINSIZE, "sysmalloc",
	              "(unsigned long) (old_size) < (unsigned long) (nb + MINSIZE)");

	if (av != &main_arena) {
		if (!grow_thread_arena(av, nb, old_top, old_size) && !tried_mmap) {
			void *mem = mmap_chunk_allocate(nb, page_size, 0);
			if (mem != MAP_FAILED)
				return mem;
		}
	} else {
		grow_main_arena(av, nb, old_top, old_size, old_end);
	}

	if (av->system_mem > av->max_system_mem)
		av->max_system_mem = av->system_mem;

	mchunkptr p = av->top;
	size_t size = chunk_size(p);
	if (size >= nb + MINSIZE) {
		mchunkptr remainder = chunk_at_offset(p, nb);
		av->top = remainder;
		set_head(p, nb | PREV_INUSE | (av != &main_arena ? NON_MAIN_ARENA : 0));
		set_head(remainder, (size - nb) | PREV_INUSE);
		return chunk_to_mem(p);
	}
	errno = ENOMEM;
	return NULL;
}

/* Lower the break by `extra` when it is still where the top ends; 1 when anything was released. */
static int release_break(mstate av, long top_size, long extra)
{
	/* Only when the break is still where we left it: a foreign sbrk owns what lies beyond. */
	char *current_brk = morecore(0);
	if (current_brk != (char *)av->top + top_size)
		return 0;
	morecore(-extra);
	run_after_morecore_hook();
	char *new_brk = morecore(0);
	if (new_brk == MORECORE_FAILURE)
		return 0;
	long released = current_brk - new_brk;
	if (released == 0)
		return 0;
	av->system_mem -= (size_t)released;
	set_head(av->top, (size_t)(top_size - released) | PREV_INUSE);
	return 1;
}

int systrim(size_t pad, mstate av)
{
	long top_size = (long)chunk_size(av->top);
	long top_area = top_size - (long)MINSIZE - 1;
	if ((size_t)top_area <= pad)
		return 0;

	size_t unit = transparent_hugepage_size() != 0 ? transparent_hugepage_size() : system_page_size();
	long extra = (long)align_down((size_t)top_area - pad, unit);
	if (extra == 0)
		return 0;

	/* Trimming runs inside free(), which leaves errno as it found it since 2.33: the break is
	   moved between a save and a restore (only here, where a system call can really change it). */
	int saved_errno = errno;
	int released = release_break(av, top_size, extra);
	if (FREE_KEEPS_ERRNO)
		errno = saved_errno;
	return released;
}

/* Mapping bounds of an mmapped chunk, validated the way glibc does before unmapping or remapping. */
static uintptr_t mapping_of_chunk(mchunkptr p, size_t *total_size, const char *message)
{
	size_t page_size = system_page_size();
	uintptr_t block = (uintptr_t)p - prev_size(p);
	*total_size = prev_size(p) + chunk_size(p);
	uintptr_t mem = (uintptr_t)chunk_to_mem(p);
	if (__builtin_expect(((block | *total_size) & (page_size - 1)) != 0, 0) ||
	    __builtin_expect(!is_power_of_two_or_zero(mem & (page_size - 1)), 0))
		malloc_printerr(message);
	return block;
}

void munmap_chunk(mchunkptr p)
{
	malloc_assert(chunk_is_mmapped(p), "munmap_chunk", "chunk_is_mmapped (p)");
	size_t total_size;
	uintptr_t block = mapping_of_chunk(p, &total_size, "munmap_chunk(): invalid pointer");
	__atomic_sub_fetch(&mp_.n_mmaps, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&mp_.mmapped_mem, total_size, __ATOMIC_RELAXED);
	NOTE_DESTINATION("munmap");
	/* A failed munmap leaves the block mapped; nothing better can be done. */
	munmap((void *)block, total_size);
}

mchunkptr mremap_chunk(mchunkptr p, size_t new_size)
{
	size_t page_size = system_page_size();
	size_t offset = prev_size(p);
	size_t size = chunk_size(p);
	malloc_assert(chunk_is_mmapped(p), "mremap_chunk", "chunk_is_mmapped (p)");
	size_t total_size;
	uintptr_t block = mapping_of_chunk(p, &total_size, "mremap_chunk(): invalid pointer");

	new_size = align_up(new_size + offset + SIZE_SZ, page_size);
	if (total_size == new_size)
		return p;
	char *moved = mremap((void *)block, total_size, new_size, MREMAP_MAYMOVE);
	if (moved == MAP_FAILED)
		return NULL;
	advise_huge_pages(moved, new_size);
	p = (mchunkptr)(moved + offset);
	malloc_assert(aligned_ok((uintptr_t)chunk_to_mem(p)), "mremap_chunk", "aligned_OK (chunk2mem (p))");
	malloc_assert(prev_size(p) == offset, "mremap_chunk", "prev_size (p) == offset");
	set_head(p, (new_size - offset) | IS_MMAPPED);

	raise_maximum_size(&mp_.max_mmapped_mem,
	                   __atomic_add_fetch(&mp_.mmapped_mem, new_size - size - offset, __ATOMIC_RELAXED));
	return p;
}

int mtrim(mstate av, size_t pad)
{
	malloc_consolidate(av);

	const size_t page_size = system_page_size();
	const unsigned int first_page_bin = bin_index(page_size);
	int released = 0;
	for (unsigned int index = 1; index < NBINS; index++) {
		if (index != 1 && index < first_page_bin)
			continue;
		mbinptr bin = bin_at(av, index);
		for (mchunkptr p = bin->bk; p != bin; p = p->bk) {
			size_t size = chunk_size(p);
			if (size <= page_size - 1 + sizeof(struct malloc_chunk))
				continue;
			/* Keep the chunk's header and links; whole pages after them can be dropped. */
			char *first_page =
			    (char *)align_up((uintptr_t)p + sizeof(struct malloc_chunk), page_size);
			malloc_assert((char *)chunk_to_mem(p) + 2 * CHUNK_HDR_SZ <= first_page, "mtrim",
			              "(char *) chunk2mem (p) + 2 * CHUNK_HDR_SZ <= paligned_mem");
			malloc_assert((char *)p + size > first_page, "mtrim",
			              "(char *) p + size > paligned_mem");
			size -= (size_t)(first_page - (char *)p);
			if (size > page_size - 1) {
				madvise(first_page, size & ~(page_size - 1), MADV_DONTNEED);
				released = 1;
			}
		}
	}
	return released | (av == &main_arena ? systrim(pad, av) : 0);
}
