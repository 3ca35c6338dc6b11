/*
 * The hooks of glibc 2.31 that do something of their own (the variables are globals.c's, placed
 * where 2.31 places them): the three initialising hooks that the first malloc, realloc or
 * memalign goes through, and __default_morecore, __morecore's first value.  As in glibc, the
 * memalign one leaves __malloc_hook in place, and calloc's first call reaches malloc through it.
 */
#include <malloc.h>
#include <unistd.h>

#include "hooks.h"
#include "internal.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

void *malloc_hook_ini(size_t bytes, const void *caller)
{
	(void)caller;
	__malloc_hook = NULL;
	ptmalloc_init();
	return malloc(bytes);
}

void *realloc_hook_ini(void *mem, size_t bytes, const void *caller)
{
	(void)caller;
	__malloc_hook = NULL;
	__realloc_hook = NULL;
	ptmalloc_init();
	return realloc(mem, bytes);
}

void *memalign_hook_ini(size_t alignment, size_t bytes, const void *caller)
{
	(void)caller;
	__memalign_hook = NULL;
	ptmalloc_init();
	return memalign(alignment, bytes);
}

PTM_EXPORT void *__default_morecore(ptrdiff_t increment)
{
	void *result = sbrk(increment);
	return result == (void *)-1 ? NULL : result;
}
