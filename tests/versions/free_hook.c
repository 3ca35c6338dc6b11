/*
 * A glibc 2.31 program that overwrites __free_hook, the classic end of a 2.31 heap exploit, and
 * stops twice for the debugger: before (the hooks hold only what glibc put there, which is no
 * damage) and after (the hook must be named by `heap check`).  Run under glibc 2.31 itself, and
 * with the clone built as 2.31 preloaded (tests/versions/test_hooks.py).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* Where the debugger stops; the stage says which. */
__attribute__((noinline)) void hook_stop(int stage)
{
	__asm__ volatile("" ::: "memory");
	(void)stage;
}

/* What an exploit would put there instead of system(). */
__attribute__((noinline)) void hijacked_free(void *pointer, const void *caller)
{
	(void)pointer;
	(void)caller;
}

int main(void)
{
	void *blocks[4];
	for (int i = 0; i < 4; i++)
		blocks[i] = malloc(24 + 100 * i);
	free(blocks[1]);
	hook_stop(1);
	__free_hook = hijacked_free;
	hook_stop(2);
	__free_hook = NULL;
	free(blocks[0]);
	puts("done");
	return 0;
}
