/*
 * Pointers the program's allocator never returned, or returned to another thread, for the
 * prediction oracle: fake chunks on the stack and in .data (House of Spirit), a chunk whose
 * heap_info names a fake arena (House of Mind), a chunk cached in another thread's tcache, and
 * misaligned, interior, unmapped or null pointers.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "situations.h"

static _Alignas(64) size_t fake_arena[512];

/* A fake chunk of a random size at `fake` with a plausible (or not) next size, freed. */
static void spirit(size_t *fake, size_t room)
{
	size_t size = rnd(3) ? 0x20 + 0x10 * rnd(room / 2 - 2) : 0x20 + 0x10 * rnd(0x40);
	if (rnd(2))
		fill_tcache(size - SIZE_WORD);
	fake[1] = rnd(5) ? (size | (rnd(2) ? PREV_INUSE : 0)) : bad_size(size);
	if (size / 8 + 2 <= room)
		((size_t *)((char *)fake + size))[1] = rnd(3) ? 0x20 + 0x10 * rnd(0x40) : rnd(0);
	size_t *pointer = fake + 2 + (rnd(8) == 0);
	if (rnd(5))
		ask_free(pointer);
	else
		ask_realloc(pointer, request_tcache());
}

static int fake_stack(size_t *stack)
{
	spirit(stack, 64);
	return 1;
}

static int fake_data(size_t *stack)
{
	(void)stack;
	spirit(data_area + 2 * rnd(32), 160);
	return 1;
}

/* House of Mind: a chunk marked NON_MAIN_ARENA at a HEAP_MAX-aligned address whose heap_info
   names a fake arena in .data. */
static int fake_arena_free(size_t *stack)
{
	(void)stack;
	char *reserve =
	    mmap(NULL, 2 * HEAP_MAX, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (reserve == MAP_FAILED)
		return 0;
	char *aligned = (char *)(((uintptr_t)reserve + HEAP_MAX - 1) & ~(HEAP_MAX - 1));
	if (mprotect(aligned, 0x10000, PROT_READ | PROT_WRITE) != 0)
		return 0;
	char *arena = (char *)fake_arena;
	memset(fake_arena, 0, sizeof fake_arena);
	for (int i = 1; i < 127; i++) {
		size_t *bin = (size_t *)(arena + 112 + 16 * (i - 1));
		bin[0] = bin[1] = (size_t)(arena + 112 + 16 * (i - 1) - 16);
	}
	size_t *info = (size_t *)aligned;
	info[0] = (size_t)arena, info[2] = info[3] = 0x10000, info[4] = 0x1000;
	size_t size = rnd(2) ? 0x20 + 0x10 * rnd(7) : 0x90 + 0x10 * rnd(0x40);
	if (rnd(2))
		fill_tcache(size - SIZE_WORD);
	size_t *chunk = (size_t *)(aligned + 0x1000);
	chunk[1] = size | NON_MAIN_ARENA | PREV_INUSE;
	size_t *next = (size_t *)((char *)chunk + size);
	next[1] = rnd(4) ? (0x40 | PREV_INUSE) : bad_size(0x40);
	((size_t *)((char *)next + 0x40))[1] = 0x40 | PREV_INUSE;
	((size_t *)(arena + 96))[0] = rnd(4) ? (size_t)(aligned + 0x8000) : (size_t)next;
	((size_t *)(aligned + 0x8000))[1] = 0x8000 | PREV_INUSE;
	((size_t *)(arena + 2184))[0] = rnd(4) ? 0x21000 : rnd(0x100);
	((size_t *)(arena + 2192))[0] = 0x21000;
	ask_free(chunk + 2);
	return 1;
}

static int other_thread_tcache(size_t *stack)
{
	(void)stack;
	static void *blocks[4];
	size_t request = request_tcache();
	if (rnd(3) == 0)
		fill_tcache(request);
	helper_thread(request, 2 + (int)rnd(2), 1 + (int)rnd(2), blocks);
	ask_free(blocks[rnd(2)]);
	return 1;
}

static int wild_pointer(size_t *stack)
{
	char *block = must_malloc(0x200 + rnd(0x400));
	must_malloc(24);
	void *pointer;
	switch (rnd(7)) {
	case 0:
		pointer = block + 8;
		break;
	case 1:
		pointer = block + 0x10 * (1 + rnd(16));
		break;
	case 2:
		pointer = stack + 2 * (1 + rnd(16));
		break;
	case 3:
		pointer = (void *)(0x1000 + 0x10 * rnd(0x100));
		break;
	case 4:
		pointer = NULL;
		break;
	case 5:
		pointer = (void *)(uintptr_t)(rnd(0) & ~15UL);
		break;
	default:
		pointer = block + (header_of(block)[1] & ~7UL) + 0x10 * rnd(4);
		break;
	}
	if (rnd(4))
		ask_free(pointer);
	else
		ask_realloc(pointer, request_any());
	return 1;
}

const struct situation foreign_situations[] = {
    {"fake-stack", fake_stack},      {"fake-data", fake_data},
    {"fake-arena", fake_arena_free}, {"other-thread-tcache", other_thread_tcache},
    {"wild-pointer", wild_pointer},  {NULL, NULL},
};
