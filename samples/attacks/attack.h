/* Shared staging for the heap-attack samples.  Each sample is one classic corruption, written so that
 * its output is the same on glibc 2.36 and on the clone when both behave alike: pointers are printed
 * as offsets from the sample's first block (`heap+0x..`) or from a named region of the program
 * (`fake+0x10`), never as raw addresses.  `attack_staged()` is called right before the operation that
 * trips (or slips past) the allocator's checks, so a debugger can stop there and audit the heap.
 *
 * The first line of every sample's comment says what glibc 2.36 does with it:
 *   expect: abort "<message>"   or   expect: exit 0 */
#ifndef ATTACK_H
#define ATTACK_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct named_region {
	const char *name;
	uintptr_t start;
	size_t length;
};

static char *heap_base;
static struct named_region named_regions[8];
static int named_region_count;

/* Fake chunks and write targets live here, outside the heap, 16-aligned like real chunks. */
static _Alignas(16) size_t fake_area[128];
static _Alignas(16) size_t target_area[16];

static inline void name_region(const char *name, const void *start, size_t length)
{
	if (named_region_count < 8)
		named_regions[named_region_count++] = (struct named_region){name, (uintptr_t)start, length};
}

static inline void attack_begin(void)
{
	/* Unbuffered: a stdio buffer would be one more heap block in the middle of the staging. */
	setvbuf(stdout, NULL, _IONBF, 0);
	Dl_info info;
	void *(*volatile entry)(size_t) = malloc;
	if (dladdr((void *)entry, &info) != 0 && info.dli_fname != NULL) {
		const char *slash = strrchr(info.dli_fname, '/');
		fprintf(stderr, "malloc provider: %s\n", slash ? slash + 1 : info.dli_fname);
	}
	heap_base = malloc(24);
	name_region("fake", fake_area, sizeof fake_area);
	name_region("target", target_area, sizeof target_area);
}

static inline void show(const char *label, const void *pointer)
{
	uintptr_t address = (uintptr_t)pointer;
	if (pointer == NULL) {
		printf("%s = NULL\n", label);
		return;
	}
	for (int i = 0; i < named_region_count; i++) {
		if (address >= named_regions[i].start &&
		    address < named_regions[i].start + named_regions[i].length) {
			printf("%s = %s+%#lx\n", label, named_regions[i].name,
			       (unsigned long)(address - named_regions[i].start));
			return;
		}
	}
	intptr_t offset = (intptr_t)(address - (uintptr_t)heap_base);
	if (offset > -(1 << 20) && offset < (64 << 20))
		printf("%s = heap%c%#lx\n", label, offset < 0 ? '-' : '+',
		       (unsigned long)(offset < 0 ? -offset : offset));
	else
		printf("%s = elsewhere\n", label);
}

/* The chunk header words of a user pointer: [0] prev_size, [1] size. */
static inline size_t *chunk_words(void *user_pointer) { return (size_t *)user_pointer - 2; }

/* glibc 2.32+ safe-linking, as an attacker who knows where the link lives would forge it; built
 * against an older glibc (tests/versions/), whose links are plain pointers, the pointer itself. */
static inline uintptr_t protect(const void *link_address, const void *pointer)
{
#if __GLIBC_PREREQ(2, 32)
	return ((uintptr_t)link_address >> 12) ^ (uintptr_t)pointer;
#else
	(void)link_address;
	return (uintptr_t)pointer;
#endif
}

static void *allocations_to_drain[16];

/* Puts seven blocks of `size` in their tcache bin, so the next free of that size goes past it. */
static inline void fill_tcache(size_t size)
{
	for (int i = 0; i < 7; i++)
		allocations_to_drain[i] = malloc(size);
	for (int i = 0; i < 7; i++)
		free(allocations_to_drain[i]);
}

static inline void empty_tcache(size_t size)
{
	for (int i = 0; i < 7; i++)
		allocations_to_drain[i] = malloc(size);
}

__attribute__((noinline)) void attack_staged(const char *next_operation)
{
	printf("staged: %s\n", next_operation);
	__asm__ volatile("" ::: "memory");
}

#endif
