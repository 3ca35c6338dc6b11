/*
 * What glibc lets a program put between itself and malloc, release by release (version.h):
 *  - before 2.34, the hooks: __malloc_hook (also taken by calloc), __free_hook, __realloc_hook
 *    and __memalign_hook (taken by every aligned allocation) answer the call instead of malloc
 *    when set, and are handed the caller's return address; the first three start as initialising
 *    hooks that clear themselves and run ptmalloc_init; __after_morecore_hook runs after the break
 *    moved; and sbrk is reached through __morecore, which a program may replace.
 *  - from 2.34 none of them is read; sbrk is called directly, or refused for good when the
 *    hugetlb tunable (2.35) asked for explicit huge pages.
 * Each helper below compiles to nothing where the release has no such hook, so the entry points
 * ask them unconditionally.
 */
#ifndef PTMALLOC_HOOKS_H
#define PTMALLOC_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

#include "version.h"

#if HAVE_HOOKS
#include <malloc.h>
/* malloc.h declares the hooks deprecated; we are the code they hook. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* A compat symbol since 2.24 (malloc.h no longer declares it), still run by ptmalloc_init. */
extern void (*__malloc_initialize_hook)(void);
void *malloc_hook_ini(size_t bytes, const void *caller);
void *realloc_hook_ini(void *mem, size_t bytes, const void *caller);
void *memalign_hook_ini(size_t alignment, size_t bytes, const void *caller);

#define LOAD_HOOK(hook) __atomic_load_n(&(hook), __ATOMIC_RELAXED)

/* MALLOC_CHECK_ before 2.34 (glibc-2.31/malloc_check.c): checking versions of the hooks. */
extern int using_malloc_checking;
void malloc_check_init(void);
size_t malloc_check_usable_size(void *mem);
#endif

/* glibc.malloc.check (MALLOC_CHECK_): before 2.34 a nonzero value puts the checking hooks in
   place; from 2.34 libc ignores it (libc_malloc_debug.so acts on it). */
static inline void apply_malloc_check(int value)
{
#if HAVE_HOOKS
	if (value != 0)
		malloc_check_init();
#endif
	(void)value;
}

/* True when MALLOC_CHECK_ answers malloc_usable_size: the caller's own size. */
static inline bool checked_usable_size_answers(void *mem, size_t *answer)
{
#if HAVE_HOOKS
	if (__builtin_expect(using_malloc_checking == 1, 0)) {
		*answer = malloc_check_usable_size(mem);
		return true;
	}
#endif
	(void)mem, (void)answer;
	return false;
}

/* Each returns true when a hook took the call, with the hook's answer in *answer. */
static inline bool malloc_hook_answers(size_t bytes, const void *caller, void **answer)
{
#if HAVE_HOOKS
	void *(*hook)(size_t, const void *) = LOAD_HOOK(__malloc_hook);
	if (__builtin_expect(hook != NULL, 0)) {
		*answer = hook(bytes, caller);
		return true;
	}
#endif
	(void)bytes, (void)caller, (void)answer;
	return false;
}

static inline bool free_hook_answers(void *mem, const void *caller)
{
#if HAVE_HOOKS
	void (*hook)(void *, const void *) = LOAD_HOOK(__free_hook);
	if (__builtin_expect(hook != NULL, 0)) {
		hook(mem, caller);
		return true;
	}
#endif
	(void)mem, (void)caller;
	return false;
}

static inline bool realloc_hook_answers(void *mem, size_t bytes, const void *caller, void **answer)
{
#if HAVE_HOOKS
	void *(*hook)(void *, size_t, const void *) = LOAD_HOOK(__realloc_hook);
	if (__builtin_expect(hook != NULL, 0)) {
		*answer = hook(mem, bytes, caller);
		return true;
	}
#endif
	(void)mem, (void)bytes, (void)caller, (void)answer;
	return false;
}

static inline bool memalign_hook_answers(size_t alignment, size_t bytes, const void *caller, void **answer)
{
#if HAVE_HOOKS
	void *(*hook)(size_t, size_t, const void *) = LOAD_HOOK(__memalign_hook);
	if (__builtin_expect(hook != NULL, 0)) {
		*answer = hook(alignment, bytes, caller);
		return true;
	}
#endif
	(void)alignment, (void)bytes, (void)caller, (void)answer;
	return false;
}

/* ptmalloc_init's last step before 2.34. */
static inline void run_malloc_initialize_hook(void)
{
#if HAVE_HOOKS
	void (*hook)(void) = LOAD_HOOK(__malloc_initialize_hook);
	if (hook != NULL)
		hook();
#endif
}

static inline void run_after_morecore_hook(void)
{
#if HAVE_HOOKS
	void (*hook)(void) = LOAD_HOOK(__after_morecore_hook);
	if (__builtin_expect(hook != NULL, 0))
		hook();
#endif
}

/* glibc's MORECORE: the break moved by `increment`, answering NULL on failure. */
#if HAVE_HOOKS
static inline char *morecore(long increment) { return __morecore(increment); }
static inline void refuse_morecore(void) {}
#pragma GCC diagnostic pop
#else
extern bool __always_fail_morecore;
static inline char *morecore(long increment)
{
	if (__always_fail_morecore)
		return NULL;
	void *result = sbrk(increment);
	return result == (void *)-1 ? NULL : result;
}
/* Explicit huge pages: the main arena must be mmapped to get them. */
static inline void refuse_morecore(void) { __always_fail_morecore = true; }
#endif

#endif
