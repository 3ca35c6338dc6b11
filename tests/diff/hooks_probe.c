/*
 * The malloc hooks of glibc before 2.34, as a program sees them: which hooks start set, that the
 * first calls clear the initialising ones, which entry points each hook takes over (calloc goes
 * through __malloc_hook, every aligned allocation through __memalign_hook, free(NULL) through
 * __free_hook), what each is handed (sizes, alignments, a caller inside this program), when
 * __after_morecore_hook runs, and a replaced __morecore.  The test runs it on glibc 2.31 and with
 * the 2.31 clone preloaded: the outputs must be identical.  Built against 2.31 only
 * (mk/diff_2_31.mk); output goes through raw_output.h so that nothing here allocates behind the
 * hooks' backs.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raw_output.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static void say(const char *label, uint64_t value)
{
	put_text(label);
	put_text(" ");
	put_number(value, 10);
	put_text("\n");
}

static void say_set(const char *label, const void *hook) { say(label, hook != NULL); }

/* Return addresses handed to a hook must point into this program's code. */
extern char __executable_start, etext;
static unsigned caller_in_program(const void *caller)
{
	return (const char *)caller >= &__executable_start && (const char *)caller < &etext;
}

static unsigned hook_calls;

static void *counting_malloc_hook(size_t bytes, const void *caller)
{
	hook_calls++;
	say("malloc_hook bytes", bytes);
	say("malloc_hook caller in program", caller_in_program(caller));
	static char arena[4096] __attribute__((aligned(16)));
	static size_t used;
	void *block = arena + used;
	used += (bytes + 15) & ~(size_t)15;
	return block;
}

static void counting_free_hook(void *mem, const void *caller)
{
	hook_calls++;
	say("free_hook pointer is null", mem == NULL);
	say("free_hook caller in program", caller_in_program(caller));
}

static void *counting_realloc_hook(void *mem, size_t bytes, const void *caller)
{
	hook_calls++;
	say("realloc_hook bytes", bytes);
	say("realloc_hook caller in program", caller_in_program(caller));
	return mem;
}

static void *counting_memalign_hook(size_t alignment, size_t bytes, const void *caller)
{
	hook_calls++;
	say("memalign_hook alignment", alignment);
	say("memalign_hook bytes", bytes);
	say("memalign_hook caller in program", caller_in_program(caller));
	return NULL;
}

static unsigned after_morecore_calls;
static void count_after_morecore(void) { after_morecore_calls++; }

static unsigned morecore_calls;
static void *counting_morecore(ptrdiff_t increment)
{
	morecore_calls++;
	return __default_morecore(increment);
}

int main(void)
{
	say_set("initially malloc_hook", __malloc_hook);
	say_set("initially realloc_hook", __realloc_hook);
	say_set("initially memalign_hook", __memalign_hook);
	say_set("initially free_hook", __free_hook);
	say_set("initially after_morecore_hook", __after_morecore_hook);
	say("initially morecore is the default", __morecore == __default_morecore);

	void *first = memalign(64, 100);
	say_set("after memalign: memalign_hook", __memalign_hook);
	say_set("after memalign: malloc_hook", __malloc_hook);
	void *second = malloc(24);
	say_set("after malloc: malloc_hook", __malloc_hook);
	say_set("after malloc: realloc_hook", __realloc_hook);
	second = realloc(second, 200);
	say_set("after realloc: realloc_hook", __realloc_hook);

	__after_morecore_hook = count_after_morecore;
	__morecore = counting_morecore;
	/* Below the mmap threshold, and more than the first top holds: the break moves. */
	void *big = malloc(100000), *bigger = malloc(100000);
	say("after_morecore calls for a growing malloc", after_morecore_calls);
	say("morecore calls for a growing malloc", morecore_calls);
	free(bigger); /* the top is above the trim threshold again: the break moves back */
	free(big);
	say("after_morecore calls after a trimming free", after_morecore_calls);
	say("morecore calls after a trimming free", morecore_calls);
	__after_morecore_hook = NULL;
	__morecore = __default_morecore;

	__malloc_hook = counting_malloc_hook;
	unsigned char *hooked = malloc(40);
	unsigned char *zeroed = calloc(3, 8);
	say("calloc through malloc_hook cleared", zeroed[0] == 0 && zeroed[23] == 0);
	__malloc_hook = NULL;
	(void)hooked;

	__free_hook = counting_free_hook;
	free(NULL);
	free(first);
	__free_hook = NULL;

	__realloc_hook = counting_realloc_hook;
	void *same = realloc(second, 5000);
	say("realloc_hook answer returned", same == second);
	__realloc_hook = NULL;

	__memalign_hook = counting_memalign_hook;
	void *aligned = memalign(256, 10);
	void *posix = NULL;
	int posix_result = posix_memalign(&posix, 128, 20);
	void *page = valloc(30);
	void *pages = pvalloc(40);
	void *aligned_c11 = aligned_alloc(32, 50);
	void *small_alignment = memalign(8, 60);
	__memalign_hook = NULL;
	say("memalign through hook", aligned == NULL);
	say("posix_memalign through hook", (uint64_t)posix_result);
	say("valloc pvalloc aligned_alloc through hook",
	    page == NULL && pages == NULL && aligned_c11 == NULL);
	say("memalign with a small alignment through hook", small_alignment == NULL);
	say("hook calls", hook_calls);

	free(second);
	flush_output();
	return 0;
}
