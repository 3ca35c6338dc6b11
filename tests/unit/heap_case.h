/*
 * Heap scenarios ("cases") and the expectations they check from inside their child process.
 *
 * A case body runs alone in a freshly exec'd process, so the heap it sees is the same on every run
 * and on both allocators: the first malloc creates the tcache block at the heap start and
 * everything after it is predictable (GLIBC-2.36-FACTS.md §4).  Expectations are checked in the
 * child and reported on stderr with write(2): stdio would allocate its buffer and disturb the very
 * heap under test.  The parent turns the child's verdict into a CUnit result.
 *
 * Built twice: with PTM_INTERNALS=1 the binary is statically linked to libptmalloc.a and bodies
 * may also look at main_arena, mp_ and tcache; with PTM_INTERNALS=0 it is a plain dynamic binary
 * run against the system glibc (the oracle) and again with LD_PRELOAD=libptmalloc.so.
 */
#ifndef UNIT_HEAP_CASE_H
#define UNIT_HEAP_CASE_H

#include <stdbool.h>
#include <stdint.h>

#ifndef PTM_INTERNALS
#define PTM_INTERNALS 0
#endif

#if PTM_INTERNALS
#include "internal.h"
#else
#include "bins.h"
#endif

struct heap_case {
	const char *name;
	void (*body)(void);
	/* NULL: the body must return with every expectation met.  Otherwise the child must die of
	   SIGABRT after writing exactly this text and a newline to stderr. */
	const char *abort_message;
};

struct heap_suite {
	const char *name;
	const struct heap_case *cases; /* ends with a case whose name is NULL */
};

/* The program break when the body started: the heap starts here on a fresh process. */
extern char *case_heap_start;

void case_report_failure(const char *file, int line, const char *expression);
void case_report_values(const char *file, int line, const char *expression, uintptr_t actual,
                        uintptr_t expected);

#define EXPECT(condition)                                                                                    \
	do {                                                                                                 \
		if (!(condition))                                                                            \
			case_report_failure(__FILE__, __LINE__, #condition);                                 \
	} while (0)

#define EXPECT_EQ(actual, expected)                                                                          \
	do {                                                                                                 \
		uintptr_t actual_value_ = (uintptr_t)(actual);                                               \
		uintptr_t expected_value_ = (uintptr_t)(expected);                                           \
		if (actual_value_ != expected_value_)                                                        \
			case_report_values(__FILE__, __LINE__, #actual " == " #expected, actual_value_,      \
			                   expected_value_);                                                 \
	} while (0)

/* ---- reading the heap through its public layout (the same on glibc and the clone) ---- */

static inline mchunkptr chunk_of(void *mem) { return mem_to_chunk(mem); }
static inline size_t raw_size_of(void *mem) { return chunk_size_raw(mem_to_chunk(mem)); }
static inline size_t size_of(void *mem) { return chunk_size(mem_to_chunk(mem)); }
static inline uintptr_t heap_offset(void *pointer) { return (uintptr_t)((char *)pointer - case_heap_start); }
/* The user pointer of the chunk physically after mem's chunk. */
static inline void *mem_after(void *mem) { return chunk_to_mem(next_chunk(mem_to_chunk(mem))); }
static inline bool is_free_by_next_p(void *mem) { return !chunk_inuse(mem_to_chunk(mem)); }
/* The stored (safe-linked) first word of a freed chunk's user data, decoded. */
static inline void *revealed_link(void *mem)
{
	void **slot = mem;
	return protect_pointer(slot, *slot);
}
static inline uintptr_t tcache_key_of(void *mem) { return ((uintptr_t *)mem)[1]; }

/* Heap-allocated arrays are avoided in bodies: an array allocation would itself move the heap. */
void *must_malloc(size_t size);

#endif
