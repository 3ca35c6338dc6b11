/*
 * malloc's global state, laid out as glibc 2.31 lays it out around main_arena (libc6-dbg's
 * symbols of 2.31-13+deb11u11): the classic exploits of this release find __malloc_hook 0x10
 * bytes before a leaked main_arena pointer and __free_hook in .bss after it, and must find them at
 * the same distances here.  See allocator/glibc-2.36/globals.c for how the sections are placed;
 * only the names, distances and order differ.
 *
 * - In .data: __libc_malloc_initialized, narenas and mp_, then __memalign_hook, __realloc_hook and
 *   __malloc_hook right below main_arena.
 * - In .bss, from BSS_CLUSTER_AFTER_ARENA on: __after_morecore_hook, __free_hook,
 *   __malloc_initialize_hook, then the arena bookkeeping and global_max_fast, with MALLOC_CHECK_'s
 *   flag (malloc_check.c) and malloc_set_state's dumped arena (unused words) among them.
 */
#include <malloc.h>

#include "hooks.h"
#include "internal.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define INITIALIZED_BEFORE_ARENA 0x91c
#define NARENAS_BEFORE_ARENA 0x918
#define MP_BEFORE_ARENA 0x900
#define MEMALIGN_HOOK_BEFORE_ARENA 0x20
#define BSS_CLUSTER_AFTER_ARENA 0x2608

#define ARENA_DATA __attribute__((section(".data.malloc_arena"), aligned(4), no_reorder))
#define ARENA_BSS(alignment) __attribute__((section(".bss.malloc_cluster"), aligned(alignment), no_reorder))
#define HOOK PTM_EXPORT __attribute__((used))

__asm__(".globl ptm_bss_cluster_after_arena\n"
        ".hidden ptm_bss_cluster_after_arena\n"
        ".set ptm_bss_cluster_after_arena, " PTM_STRINGIFY(BSS_CLUSTER_AFTER_ARENA));

/* ---- .data: the init flag, narenas, mp_, three hooks, main_arena ---- */
/* The flag shares narenas' 8-byte slot's second half in glibc: this fills the first. */
static int glibc_data_before_initialized ARENA_DATA __attribute__((used));
int __libc_malloc_initialized ARENA_DATA = -1;
size_t narenas ARENA_DATA = 1;
static char glibc_data_between_narenas_and_mp[NARENAS_BEFORE_ARENA - MP_BEFORE_ARENA -
                                              sizeof(size_t)] ARENA_DATA __attribute__((used));
struct malloc_par mp_ ARENA_DATA = MALLOC_PAR_DEFAULTS;
static char glibc_data_between_mp_and_hooks[MP_BEFORE_ARENA - MEMALIGN_HOOK_BEFORE_ARENA -
                                            sizeof(struct malloc_par)] ARENA_DATA __attribute__((used));
/* The first calls of malloc, realloc and memalign go through these and initialise malloc. */
HOOK void *(*__MALLOC_HOOK_VOLATILE __memalign_hook)(size_t, size_t,
                                                     const void *)ARENA_DATA = memalign_hook_ini;
HOOK void *(*__MALLOC_HOOK_VOLATILE __realloc_hook)(void *, size_t,
                                                    const void *)ARENA_DATA = realloc_hook_ini;
HOOK void *(*__MALLOC_HOOK_VOLATILE __malloc_hook)(size_t, const void *)ARENA_DATA = malloc_hook_ini;
static char glibc_data_between_hooks_and_main_arena[8] ARENA_DATA __attribute__((used));
struct malloc_state main_arena ARENA_DATA = {
    .mutex = 0,
    .next = &main_arena,
    .attached_threads = 1,
};

/* ---- .bss: the cluster, in glibc's order ---- */
HOOK void (*__MALLOC_HOOK_VOLATILE __after_morecore_hook)(void) ARENA_BSS(8);
HOOK void (*__MALLOC_HOOK_VOLATILE __free_hook)(void *, const void *) ARENA_BSS(8);
HOOK void (*__malloc_initialize_hook)(void) ARENA_BSS(8);
mstate next_to_use ARENA_BSS(8);
size_t narenas_limit ARENA_BSS(8);
int using_malloc_checking ARENA_BSS(8);
char *aligned_heap_area ARENA_BSS(8);
__libc_lock_t list_lock ARENA_BSS(8);
mstate free_list ARENA_BSS(8);
__libc_lock_t free_list_lock ARENA_BSS(8);
int perturb_byte ARENA_BSS(4);
static char *glibc_dumped_main_arena_bounds[2] ARENA_BSS(8) __attribute__((used));
/* Zero until ptmalloc_init: no chunk is "fast" before the arena exists. */
MAX_FAST_TYPE global_max_fast ARENA_BSS(8);

/* sbrk through a pointer a program may replace (malloc.h declares both). */
HOOK void *(*__morecore)(ptrdiff_t) = __default_morecore;

_Static_assert(INITIALIZED_BEFORE_ARENA - NARENAS_BEFORE_ARENA == sizeof(int), "flag next to narenas");
_Static_assert(MP_BEFORE_ARENA - MEMALIGN_HOOK_BEFORE_ARENA >= sizeof(struct malloc_par),
               "mp_ overlaps hooks");
