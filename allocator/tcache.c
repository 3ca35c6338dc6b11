/*
 * The per-thread cache: 64 singly linked LIFO bins of at most mp_.tcache_count chunks, in front of
 * the arenas.  Entries are safe-linked (2.32+), and each parked chunk carries a mark, the
 * process-wide random tcache_key (2.34+) or the tcache's own address before, so free() can notice
 * (cheaply, then certainly by a bin scan) a chunk freed twice.
 */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"
#include "syscalls.h"

__thread tcache_perthread_struct *tcache;
__thread bool tcache_shutting_down;

#if TCACHE_KEY_IS_POINTER
/* Before 2.34 the mark is the tcache's own address: there is nothing to draw. */
void tcache_key_initialize(void) {}
#else
/* The fallback when getrandom cannot deliver: a few clock bits, folded. */
static uint32_t clock_random_bits(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint32_t bits = (uint32_t)now.tv_nsec ^ (uint32_t)now.tv_sec;
	bits ^= (bits << 24) | (bits >> 8);
	return bits;
}

void tcache_key_initialize(void)
{
	if (sys_getrandom(&tcache_key, sizeof(tcache_key), GRND_NONBLOCK) != sizeof(tcache_key))
		tcache_key = ((uintptr_t)clock_random_bits() << 32) | clock_random_bits();
}
#endif

PTM_RARE void tcache_double_free_verify(tcache_entry *entry, size_t tc_idx)
{
	size_t walked = 0;
	for (tcache_entry *cursor = tcache->entries[tc_idx]; cursor != NULL;
	     cursor = reveal_pointer(cursor->next), walked++) {
		if (TCACHE_SCAN_IS_BOUNDED) {
			if (walked >= mp_.tcache_count)
				malloc_printerr("free(): too many chunks detected in tcache");
			if (__builtin_expect(misaligned_link(cursor), 0))
				malloc_printerr("free(): unaligned chunk detected in tcache 2");
		}
		if (cursor == entry)
			malloc_printerr("free(): double free detected in tcache 2");
	}
}

void tcache_init(void)
{
	if (tcache_shutting_down)
		return;

	const size_t bytes = sizeof(tcache_perthread_struct);
	mstate arena;
	void *block = arena_malloc(bytes, &arena);

	/* On failure tcache stays NULL and the next call tries again. */
	if (block != NULL) {
		tcache = block;
		memset(tcache, 0, bytes);
	}
}

void tcache_thread_shutdown(void)
{
	tcache_perthread_struct *dying = tcache;
	if (TCACHE_SHUTDOWN_ALWAYS_MARKS)
		tcache_shutting_down = true;
	if (dying == NULL)
		return;
	tcache_shutting_down = true;

	/* Detach first, so the frees below go to the arena instead of back into this cache. */
	tcache = NULL;
	for (size_t bin = 0; bin < TCACHE_MAX_BINS; bin++) {
		while (dying->entries[bin] != NULL) {
			tcache_entry *entry = dying->entries[bin];
			if (__builtin_expect(misaligned_link(entry), 0))
				malloc_printerr("tcache_thread_shutdown(): unaligned tcache chunk detected");
			dying->entries[bin] = reveal_pointer(entry->next);
			free(entry);
		}
	}
	free(dying);
}
