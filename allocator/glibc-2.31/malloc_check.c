/*
 * MALLOC_CHECK_ as glibc 2.31 does it, inside libc itself (from 2.34 it is libc_malloc_debug.so's
 * business and libc.so ignores it).  A nonzero glibc.malloc.check (MALLOC_CHECK_=1..3; the value
 * itself changes nothing) makes ptmalloc_init point __malloc_hook, __free_hook, __realloc_hook
 * and __memalign_hook at the checking versions below, which serve every call from the main arena
 * under its lock and never touch the tcache (the hooks answer before it is looked at, so no
 * tcache is ever made):
 *  - each request is made one byte longer; the byte just past the caller's bytes holds a value
 *    derived from the chunk's address (the "magic" byte), and the spare bytes after it hold a
 *    chain of backward distances, each at most 0xff, from the chunk's last usable byte down to
 *    the magic byte, so the checker can find it again without knowing the request;
 *  - free and realloc refuse a pointer whose chunk does not look like one the arena handed out,
 *    or whose magic byte is not where the chain leads ("free(): invalid pointer",
 *    "realloc(): invalid pointer"); while the call runs the magic byte is inverted, so the same
 *    pointer handed in twice at once is refused;
 *  - every allocation first checks the top chunk ("malloc: top chunk is corrupt");
 *  - malloc_usable_size answers the caller's size, found by the same chain.
 * The four hooks carry glibc's names: the GDB extension knows them by name as glibc's own values
 * of the hooks (gdb/ptmalloc/target/hooks.py), not a program's.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>

#include "hooks.h"
#include "internal.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* The longest distance one byte of the chain can hold. */
#define CHAIN_STEP_MAX 0xff

/* The byte that marks the end of the caller's bytes, from the chunk's address; never 1. */
static unsigned char magic_byte(mchunkptr p)
{
	unsigned char magic = (unsigned char)((((uintptr_t)p >> 3) ^ ((uintptr_t)p >> 11)) & 0xff);
	return magic == 1 ? 2 : magic;
}

/* The offset from the chunk of its last byte a caller could use. */
static size_t last_usable_offset(mchunkptr p)
{
	return chunk_size(p) - 1 + (chunk_is_mmapped(p) ? 0 : SIZE_SZ);
}

/* Writes the magic byte after `request` bytes of a chunk just handed out, and the chain of
   distances down to it; the caller gets the memory. */
static void *mark_request(void *mem, size_t request)
{
	if (mem == NULL)
		return NULL;
	mchunkptr p = mem_to_chunk(mem);
	unsigned char magic = magic_byte(p);
	unsigned char *bytes = mem;
	for (size_t at = last_usable_offset(p) - CHUNK_HDR_SZ; at > request;) {
		size_t step = at - request < CHAIN_STEP_MAX ? at - request : CHAIN_STEP_MAX;
		if (step == magic) /* a distance must never read as the magic byte */
			step--;
		bytes[at] = (unsigned char)step;
		at -= step;
	}
	bytes[request] = magic;
	return mem;
}

/* Follows the chain down from `from` (an offset from p) to the magic byte: its offset, or 0 when
   a link is zero or leads into the header. */
static size_t find_magic(mchunkptr p, size_t from)
{
	unsigned char magic = magic_byte(p);
	const unsigned char *bytes = (const unsigned char *)p;
	size_t at = from;
	while (bytes[at] != magic) {
		unsigned char step = bytes[at];
		if (step == 0 || at < step + CHUNK_HDR_SZ)
			return 0;
		at -= step;
	}
	return at;
}

static bool is_sane_arena_chunk(mchunkptr p)
{
	size_t size = chunk_size(p);
	bool contiguous = arena_is_contiguous(&main_arena);
	char *start = mp_.sbrk_base, *end = mp_.sbrk_base + main_arena.system_mem;
	if (contiguous && ((char *)p < start || (char *)p + size >= end))
		return false;
	if (size < MINSIZE || (size & MALLOC_ALIGN_MASK) != 0 || !chunk_inuse(p))
		return false;
	if (prev_inuse(p))
		return true;
	return (prev_size(p) & MALLOC_ALIGN_MASK) == 0 && !(contiguous && (char *)prev_chunk(p) < start) &&
	       next_chunk(prev_chunk(p)) == p;
}

/* Where in its page the memory of an mmapped chunk may start: aligned allocations put it at
   one of these small powers of two, or anywhere past 0x2000. */
static bool is_mmapped_memory_offset(size_t offset)
{
	if (offset >= 0x2000 || offset == 0 || offset == MALLOC_ALIGNMENT)
		return true;
	for (size_t allowed = 0x10; allowed <= 0x1000; allowed <<= 1)
		if (offset == allowed)
			return true;
	return false;
}

static bool is_sane_mmapped_chunk(void *mem, mchunkptr p)
{
	size_t page_mask = system_page_size() - 1;
	return is_mmapped_memory_offset((uintptr_t)mem & page_mask) && chunk_is_mmapped(p) &&
	       !prev_inuse(p) && (((uintptr_t)p - prev_size(p)) & page_mask) == 0 &&
	       ((prev_size(p) + chunk_size(p)) & page_mask) == 0;
}

/* The chunk of `mem` when it is one the checker handed out, with its magic byte inverted (and
   where in *magic_at, when asked), else NULL. */
static mchunkptr checked_chunk(void *mem, unsigned char **magic_at)
{
	if (!aligned_ok((uintptr_t)mem))
		return NULL;
	mchunkptr p = mem_to_chunk(mem);
	bool mmapped = chunk_is_mmapped(p);
	if (mmapped ? !is_sane_mmapped_chunk(mem, p) : !is_sane_arena_chunk(p))
		return NULL;
	size_t magic = find_magic(p, last_usable_offset(p));
	if (magic == 0)
		return NULL;
	unsigned char *byte = (unsigned char *)p + magic;
	*byte ^= 0xff;
	if (magic_at != NULL)
		*magic_at = byte;
	return p;
}

static void check_top(void)
{
	mchunkptr top = main_arena.top;
	if (top == unsorted_chunks(&main_arena))
		return; /* the arena has no memory yet */
	if (!chunk_is_mmapped(top) && chunk_size(top) >= MINSIZE && prev_inuse(top) &&
	    (!arena_is_contiguous(&main_arena) ||
	     (char *)top + chunk_size(top) == mp_.sbrk_base + main_arena.system_mem))
		return;
	malloc_printerr("malloc: top chunk is corrupt");
}

static void *malloc_check(size_t bytes, const void *caller)
{
	(void)caller;
	if (bytes + 1 == 0) {
		errno = ENOMEM;
		return NULL;
	}
	arena_lock_acquire(&main_arena.mutex);
	check_top();
	void *mem = _int_malloc(&main_arena, bytes + 1);
	arena_lock_release(&main_arena.mutex);
	return mark_request(mem, bytes);
}

static void free_check(void *mem, const void *caller)
{
	(void)caller;
	if (mem == NULL)
		return;
	arena_lock_acquire(&main_arena.mutex);
	mchunkptr p = checked_chunk(mem, NULL);
	if (p == NULL)
		malloc_printerr("free(): invalid pointer");
	if (chunk_is_mmapped(p)) {
		arena_lock_release(&main_arena.mutex);
		munmap_chunk(p);
		return;
	}
	_int_free(&main_arena, p, 1);
	arena_lock_release(&main_arena.mutex);
}

/* The new memory of an mmapped chunk: remapped, kept when it is big enough, else copied into
   an arena chunk. */
static void *resize_mmapped(mchunkptr p, void *mem, size_t chunk_bytes, size_t longer_request)
{
	mchunkptr moved = mremap_chunk(p, chunk_bytes);
	if (moved != NULL)
		return chunk_to_mem(moved);
	size_t old_size = chunk_size(p);
	if (old_size - SIZE_SZ >= chunk_bytes)
		return mem;
	check_top();
	void *fresh = _int_malloc(&main_arena, longer_request);
	if (fresh != NULL) {
		memcpy(fresh, mem, old_size - CHUNK_HDR_SZ);
		munmap_chunk(p);
	}
	return fresh;
}

static void *realloc_check(void *mem, size_t bytes, const void *caller)
{
	(void)caller;
	size_t longer;
	if (__builtin_add_overflow(bytes, 1, &longer)) {
		errno = ENOMEM;
		return NULL;
	}
	if (mem == NULL)
		return malloc_check(bytes, NULL);
	if (bytes == 0) {
		free_check(mem, NULL);
		return NULL;
	}
	unsigned char *magic_at;
	arena_lock_acquire(&main_arena.mutex);
	mchunkptr p = checked_chunk(mem, &magic_at);
	arena_lock_release(&main_arena.mutex);
	if (p == NULL)
		malloc_printerr("realloc(): invalid pointer");
	void *fresh = NULL;
	/* Past PTRDIFF_MAX 2.31 gives up without setting errno. */
	if (longer <= PTRDIFF_MAX) {
		size_t chunk_bytes = request_to_size(longer);
		arena_lock_acquire(&main_arena.mutex);
		if (chunk_is_mmapped(p)) {
			fresh = resize_mmapped(p, mem, chunk_bytes, longer);
		} else {
			check_top();
			fresh = _int_realloc(&main_arena, p, chunk_size(p), chunk_bytes);
		}
		arena_lock_release(&main_arena.mutex);
	}
	/* A failed call leaves the old chunk in use: its magic byte goes back. */
	if (fresh == NULL)
		*magic_at ^= 0xff;
	return mark_request(fresh, bytes);
}

static void *memalign_check(size_t alignment, size_t bytes, const void *caller)
{
	(void)caller;
	if (alignment <= MALLOC_ALIGNMENT)
		return malloc_check(bytes, NULL);
	if (alignment < MINSIZE)
		alignment = MINSIZE;
	if (alignment > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (bytes > SIZE_MAX - alignment - MINSIZE) {
		errno = ENOMEM;
		return NULL;
	}
	alignment = alignment_as_power_of_two(alignment);
	arena_lock_acquire(&main_arena.mutex);
	check_top();
	void *mem = _int_memalign(&main_arena, alignment, bytes + 1);
	arena_lock_release(&main_arena.mutex);
	return mark_request(mem, bytes);
}

void malloc_check_init(void)
{
	using_malloc_checking = 1;
	__malloc_hook = malloc_check;
	__free_hook = free_check;
	__realloc_hook = realloc_check;
	__memalign_hook = memalign_check;
}

size_t malloc_check_usable_size(void *mem)
{
	mchunkptr p = mem_to_chunk(mem);
	size_t magic = find_magic(p, last_usable_offset(p));
	if (magic == 0)
		malloc_printerr("malloc_check_get_size: memory corruption");
	return magic - CHUNK_HDR_SZ;
}
