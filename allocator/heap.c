/*
 * The heaps of thread arenas: HEAP_MAX_SIZE-aligned reservations (so heap_for_ptr finds a chunk's
 * heap_info by masking its address) of which only a prefix is read/write.  They are created, grown
 * with mprotect, shrunk with madvise (or remapped PROT_NONE where overcommit is off), and deleted by
 * heap_trim once a secondary heap is nothing but its top chunk.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static heap_info *map_new_heap(size_t size, size_t top_pad, size_t page_size, int extra_flags)
{
	size_t min_size = heap_min_size();
	size_t max_size = heap_max_size();
	if (size + top_pad < min_size)
		size = min_size;
	else if (size + top_pad <= max_size)
		size += top_pad;
	else if (size > max_size)
		return NULL;
	else
		size = max_size;
	size = align_up(size, page_size);

	/* The heap must be aligned to max_size so heap_for_ptr can find its header by masking.  Map
	   twice the size and trim; an aligned second half is remembered as the next hint. */
	const int flags = MAP_PRIVATE | MAP_ANONYMOUS | extra_flags;
	char *heap = MAP_FAILED;
	if (aligned_heap_area != NULL) {
		heap = mmap(aligned_heap_area, max_size, PROT_NONE, flags, -1, 0);
		aligned_heap_area = NULL;
		if (heap != MAP_FAILED && ((uintptr_t)heap & (max_size - 1)) != 0) {
			munmap(heap, max_size);
			heap = MAP_FAILED;
		}
	}
	if (heap == MAP_FAILED) {
		char *wide = mmap(NULL, max_size << 1, PROT_NONE, flags, -1, 0);
		if (wide != MAP_FAILED) {
			heap = (char *)align_up((uintptr_t)wide, max_size);
			size_t lead = (size_t)(heap - wide);
			if (lead != 0)
				munmap(wide, lead);
			else
				aligned_heap_area = heap + max_size;
			munmap(heap + max_size, max_size - lead);
		} else {
			heap = mmap(NULL, max_size, PROT_NONE, flags, -1, 0);
			if (heap == MAP_FAILED)
				return NULL;
			if (((uintptr_t)heap & (max_size - 1)) != 0) {
				munmap(heap, max_size);
				return NULL;
			}
		}
	}
	if (mprotect(heap, size, PROT_READ | PROT_WRITE) != 0) {
		munmap(heap, max_size);
		return NULL;
	}
	if (transparent_hugepage_size() != 0 && size >= transparent_hugepage_size())
		madvise(heap, size, MADV_HUGEPAGE);

	heap_info *info = (heap_info *)heap;
	info->size = size;
	info->mprotect_size = size;
	record_heap_page_size(info, page_size);
	return info;
}

heap_info *new_heap(size_t size, size_t top_pad)
{
	if (__builtin_expect(hugepage_size() != 0, 0)) {
		heap_info *heap = map_new_heap(size, top_pad, hugepage_size(), hugepage_mmap_flags());
		if (heap != NULL)
			return heap;
	}
	/* Only ordinary heaps are reserved with MAP_NORESERVE; a hugetlb heap must fail at mmap time,
	   not fault later, when the system has no huge pages to give. */
	return map_new_heap(size, top_pad, system_page_size(), MAP_NORESERVE);
}

int grow_heap(heap_info *heap, long diff)
{
	diff = (long)align_up((size_t)diff, heap_page_size(heap));
	long new_size = (long)heap->size + diff;
	if ((unsigned long)new_size > heap_max_size())
		return -1;
	if ((unsigned long)new_size > heap->mprotect_size) {
		if (mprotect((char *)heap + heap->mprotect_size,
		             (unsigned long)new_size - heap->mprotect_size, PROT_READ | PROT_WRITE) != 0)
			return -2;
		heap->mprotect_size = (size_t)new_size;
	}
	heap->size = (size_t)new_size;
	return 0;
}

/* Whether shrinking must really unmap (no overcommit, or a setuid program) instead of madvise. */
static bool heap_shrink_must_remap(void)
{
	static int must_remap = -1;
	if (__builtin_expect(must_remap < 0, 0)) {
		must_remap = getauxval(AT_SECURE) != 0;
		if (!must_remap) {
			int fd = sys_open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				char value;
				if (sys_read(fd, &value, 1) > 0)
					must_remap = value == '2';
				sys_close(fd);
			}
		}
	}
	return must_remap;
}

static int shrink_heap(heap_info *heap, long diff)
{
	long new_size = (long)heap->size - diff;
	if (new_size < (long)sizeof(*heap))
		return -1;
	if (__builtin_expect(heap_shrink_must_remap(), 0)) {
		if (mmap((char *)heap + new_size, (size_t)diff, PROT_NONE,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			return -2;
		heap->mprotect_size = (size_t)new_size;
	} else {
		madvise((char *)heap + new_size, (size_t)diff, MADV_DONTNEED);
	}
	heap->size = (size_t)new_size;
	return 0;
}

static void delete_heap(heap_info *heap)
{
	if ((char *)heap + heap_max_size() == aligned_heap_area)
		aligned_heap_area = NULL;
	munmap(heap, heap_max_size());
}

static int trim_heaps(heap_info *heap, size_t pad);

/* Runs inside free(), which leaves errno as it found it since 2.33; unmapping and shrinking are
   system calls. */
int heap_trim(heap_info *heap, size_t pad)
{
	int saved_errno = errno;
	int released = trim_heaps(heap, pad);
	if (FREE_KEEPS_ERRNO)
		errno = saved_errno;
	return released;
}

static int trim_heaps(heap_info *heap, size_t pad)
{
	mstate av = heap->ar_ptr;
	mchunkptr top = av->top;
	size_t max_size = heap_max_size();

	/* A secondary heap that is nothing but top goes away, and the previous heap's tail (behind its
	   fencepost) becomes the top again. */
	while (top == chunk_at_offset((mchunkptr)heap, sizeof(*heap))) {
		heap_info *previous_heap = heap->prev;
		long tail = (long)previous_heap->size - (long)(MINSIZE - 2 * SIZE_SZ);
		mchunkptr p = chunk_at_offset((mchunkptr)previous_heap, (size_t)tail);
		long misalign = (long)((uintptr_t)p & MALLOC_ALIGN_MASK);
		p = chunk_at_offset((mchunkptr)previous_heap, (size_t)(tail - misalign));
		malloc_assert(chunk_size_raw(p) == (0 | PREV_INUSE), "heap_trim",
		              "chunksize_nomask (p) == (0 | PREV_INUSE)");
		p = prev_chunk(p);
		long new_size = (long)chunk_size(p) + (long)(MINSIZE - 2 * SIZE_SZ) + misalign;
		malloc_assert(new_size > 0 && new_size < (long)(2 * MINSIZE), "heap_trim",
		              "new_size > 0 && new_size < (long) (2 * MINSIZE)");
		if (!prev_inuse(p))
			new_size += (long)prev_size(p);
		malloc_assert(new_size > 0 && (size_t)new_size < max_size, "heap_trim",
		              "new_size > 0 && new_size < max_size");
		if ((size_t)new_size + (max_size - previous_heap->size) <
		    pad + MINSIZE + heap_page_size(heap))
			break;
		av->system_mem -= heap->size;
		delete_heap(heap);
		heap = previous_heap;
		if (!prev_inuse(p)) {
			p = prev_chunk(p);
			unlink_chunk(av, p);
		}
		malloc_assert(((uintptr_t)((char *)p + new_size) & (heap_page_size(heap) - 1)) == 0,
		              "heap_trim",
		              "((unsigned long) ((char *) p + new_size) & (heap->pagesize - 1)) == 0");
		malloc_assert((char *)p + new_size == (char *)heap + heap->size, "heap_trim",
		              "((char *) p + new_size) == ((char *) heap + heap->size)");
		av->top = top = p;
		set_head(top, (size_t)new_size | PREV_INUSE);
	}

	size_t top_size = chunk_size(top);
	if (top_size < mp_.trim_threshold)
		return 0;
	long top_area = (long)top_size - (long)MINSIZE - 1;
	if (top_area < 0 || (size_t)top_area <= pad)
		return 0;
	long extra = (long)align_down((size_t)top_area - pad, heap_page_size(heap));
	if (extra == 0)
		return 0;
	if (shrink_heap(heap, extra) != 0)
		return 0;
	av->system_mem -= (size_t)extra;
	set_head(top, (top_size - (size_t)extra) | PREV_INUSE);
	return 1;
}
