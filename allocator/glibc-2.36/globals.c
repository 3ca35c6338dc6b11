/*
 * malloc's global state, laid out as glibc 2.36 lays it out around main_arena (libc6-dbg's
 * symbols): exploit techniques reach mp_, global_max_fast or tcache_key at a fixed distance from
 * a leaked main_arena pointer, and must find them at the same distance here.
 *
 * - In .data, narenas and mp_ come before main_arena, at NARENAS_BEFORE_ARENA and MP_BEFORE_ARENA
 *   bytes.  They share one section in the order written (no_reorder), with gaps that stand for the glibc data
 * between them, so the distances hold in every build: preloaded, -lptmalloc and libptmalloc.a.
 * - In .bss, the small variables follow each other in glibc's order in one section, starting
 *   BSS_CLUSTER_AFTER_ARENA bytes after main_arena.  That distance spans the rest of libc's data
 *   in glibc; here the link of libptmalloc.so places the section (allocator/layout.ld, which
 *   reads the number from the symbol ptm_bss_cluster_after_arena below).  The gap is .bss that
 *   nothing touches, so it costs address space, not memory.  A program that links
 *   libptmalloc.a places .bss itself, so there only the order inside the cluster holds.
 *
 * Alignment is given explicitly everywhere: gcc would otherwise align the large objects and the
 * gap arrays to 16 or 32 bytes and shift what follows them.
 */
#include "internal.h"

/* glibc-2.41/globals.c sets its own distances and includes this file. */
#ifndef NARENAS_BEFORE_ARENA
#define NARENAS_BEFORE_ARENA 0x938
#define MP_BEFORE_ARENA 0x920
#define BSS_CLUSTER_AFTER_ARENA 0x6808
#endif

#define ARENA_DATA __attribute__((section(".data.malloc_arena"), aligned(8), no_reorder))
#define ARENA_BSS(alignment) __attribute__((section(".bss.malloc_cluster"), aligned(alignment), no_reorder))

/* For layout.ld: an absolute symbol, so the number lives here only. */
__asm__(".globl ptm_bss_cluster_after_arena\n"
        ".hidden ptm_bss_cluster_after_arena\n"
        ".set ptm_bss_cluster_after_arena, " PTM_STRINGIFY(BSS_CLUSTER_AFTER_ARENA));

/* ---- .data: narenas, mp_, main_arena ---- */
size_t narenas ARENA_DATA = 1;
static char glibc_data_between_narenas_and_mp[NARENAS_BEFORE_ARENA - MP_BEFORE_ARENA -
                                              sizeof(size_t)] ARENA_DATA __attribute__((used));
struct malloc_par mp_ ARENA_DATA = MALLOC_PAR_DEFAULTS;
static char glibc_data_between_mp_and_main_arena[MP_BEFORE_ARENA - sizeof(struct malloc_par)] ARENA_DATA
    __attribute__((used));
struct malloc_state main_arena ARENA_DATA = {
    .mutex = 0,
    .next = &main_arena,
    .attached_threads = 1,
};

/* ---- .bss: the cluster, in glibc's order ---- */
mstate next_to_use ARENA_BSS(8);
size_t narenas_limit ARENA_BSS(8);
uintptr_t tcache_key ARENA_BSS(8);
char *aligned_heap_area ARENA_BSS(8);
bool __malloc_initialized ARENA_BSS(4);
__libc_lock_t list_lock ARENA_BSS(4);
mstate free_list ARENA_BSS(8);
__libc_lock_t free_list_lock ARENA_BSS(4);
int perturb_byte ARENA_BSS(4);
/* Zero until ptmalloc_init: no chunk is "fast" before the arena exists.  A byte from 2.38 on, with
   the flag after it in the next byte. */
MAX_FAST_TYPE global_max_fast ARENA_BSS(8);
bool __always_fail_morecore ARENA_BSS(1);

_Static_assert(NARENAS_BEFORE_ARENA - MP_BEFORE_ARENA >= sizeof(size_t), "narenas overlaps mp_");
_Static_assert(MP_BEFORE_ARENA >= sizeof(struct malloc_par), "mp_ overlaps main_arena");
