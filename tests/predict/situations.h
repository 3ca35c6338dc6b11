/* The situations of the prediction oracle (tests/predict/): a heap built from a seed, in one state
 * kind, and the one call (free, malloc or realloc) the harness asks the debugger to predict before
 * the program really makes it.  predict_situations.c hosts them; situations_clean.c builds healthy
 * heaps in every state, situations_damaged.c damaged ones, situations_foreign.c fake chunks and
 * pointers malloc never returned to this thread. */
#ifndef PREDICT_SITUATIONS_H
#define PREDICT_SITUATIONS_H

#include <stddef.h>
#include <stdint.h>

enum predict_op { OP_NONE, OP_FREE, OP_MALLOC, OP_REALLOC };

/* What gdb reads at predict_stop(): the call about to be made.  `arena` and `tcache` are written by
 * the harness's gdb (from the allocator's debug info, never from the extension) so that the real
 * call can report which bin the chunk came from or went to. */
struct predict_case {
	const char *kind;
	int op;
	uintptr_t pointer;
	size_t size;
	uintptr_t arena;
	uintptr_t tcache;
};

extern struct predict_case predict_case;

/* Chunk geometry of glibc 2.36 on x86-64, the clone's too. */
#define HEADER 16
#define SIZE_WORD 8
#define PREV_INUSE 1UL
#define IS_MMAPPED 2UL
#define NON_MAIN_ARENA 4UL
#define TCACHE_FILL 7
#define TCACHE_MAX_CHUNK 0x410UL
#define FAST_MAX_CHUNK 0x80UL
#define HEAP_MAX 0x4000000UL
/* A tcache or fastbin link as the release writes it: safe-linked from 2.32, plain before (the
 * program built against 2.31 is compiled with PREDICT_PLAIN_LINKS). */
#ifdef PREDICT_PLAIN_LINKS
#define PROTECT(position, pointer) ((uintptr_t)(pointer))
#else
#define PROTECT(position, pointer) ((((uintptr_t)(position)) >> 12) ^ (uintptr_t)(pointer))
#endif

/* 16-aligned room in .data for fake chunks. */
extern size_t data_area[256];
/* A size word made wrong in one of the ways that matter to the allocator's checks. */
size_t bad_size(size_t size);
/* The seeded random source of the situation. */
uint64_t rnd(uint64_t below);
size_t chunk_size(size_t request);
size_t *header_of(void *user);
size_t request_fast(void);
size_t request_tcache(void);
size_t request_small(void);
size_t request_large(void);
size_t request_mmapped(void);
size_t request_any(void);
void *must_malloc(size_t request);
void fill_tcache(size_t request);
void drain_tcache(size_t request);
/* The address of the acting thread's tcache_perthread_struct (found after its first chunk), or 0. */
uintptr_t tcache_struct(void);
/* A thread that allocates `count` blocks of `request` bytes in its own arena, frees the first
 * `freed` of them into its tcache, and waits until the program ends; its blocks are returned. */
void helper_thread(size_t request, int count, int freed, void **blocks);

void ask_free(void *pointer);
void ask_malloc(size_t size);
void ask_realloc(void *pointer, size_t size);

/* A builder stages its heap and asks for one call; `stack` is 64 words of the acting thread's stack,
 * alive until the call is made.  It returns 0 when the situation could not be staged. */
typedef int (*situation_builder)(size_t *stack);

struct situation {
	const char *kind;
	situation_builder build;
};

extern const struct situation clean_situations[];
extern const struct situation damaged_situations[];
extern const struct situation foreign_situations[];

#endif
