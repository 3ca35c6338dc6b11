/*
 * Where glibc 2.31 (Debian's 2.31-13+deb11u11) asserts what the clone asserts: its assertion
 * messages name the source file and line ("PROG: malloc.c:2379: sysmalloc: Assertion `...'
 * failed."), and a few spell the expression differently from 2.36, whose text the clone's call
 * sites carry.  The lines were read from the calls of __malloc_assert in that build's
 * libc-2.31.so (libc6-dbg names the function).
 */
#include "internal.h"

const struct release_assertion release_assertions[] = {
    SAME_ASSERTION_TEXT(
        "__libc_malloc", "malloc.c", 3059,
        "!victim || chunk_is_mmapped (mem2chunk (victim)) || &main_arena == arena_for_chunk (mem2chunk "
        "(victim))",
        1),
    SAME_ASSERTION_TEXT(
        "__libc_malloc", "malloc.c", 3079,
        "!victim || chunk_is_mmapped (mem2chunk (victim)) || ar_ptr == arena_for_chunk (mem2chunk "
        "(victim))",
        1),
    SAME_ASSERTION_TEXT(
        "__libc_realloc", "malloc.c", 3227,
        "!newp || chunk_is_mmapped (mem2chunk (newp)) || ar_ptr == arena_for_chunk (mem2chunk (newp))", 1),
    SAME_ASSERTION_TEXT(
        "__libc_realloc", "malloc.c", 3238,
        "!newp || chunk_is_mmapped (mem2chunk (newp)) || ar_ptr == arena_for_chunk (mem2chunk (newp))", 2),
    SAME_ASSERTION_TEXT(
        "_mid_memalign", "malloc.c", 3304,
        "!p || chunk_is_mmapped (mem2chunk (p)) || &main_arena == arena_for_chunk (mem2chunk (p))", 1),
    SAME_ASSERTION_TEXT("_mid_memalign", "malloc.c", 3323,
                        "!p || chunk_is_mmapped (mem2chunk (p)) || ar_ptr == arena_for_chunk (mem2chunk (p))",
                        1),
    SAME_ASSERTION_TEXT(
        "__libc_calloc", "malloc.c", 3430,
        "!mem || chunk_is_mmapped (mem2chunk (mem)) || av == arena_for_chunk (mem2chunk (mem))", 1),
    SAME_ASSERTION_TEXT("__libc_calloc", "malloc.c", 3477, "nclears >= 3", 1),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 3839, "chunk_main_arena (bck->bk)", 1),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 3852, "chunk_main_arena (fwd)", 1),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 3856, "chunk_main_arena (fwd)", 2),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 4017, "bit != 0", 1),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 4036, "(unsigned long) (size) >= (unsigned long) (nb)", 1),
    SAME_ASSERTION_TEXT("_int_free", "malloc.c", 4413, "heap->ar_ptr == av", 1),
    SAME_ASSERTION_TEXT("_int_realloc", "malloc.c", 4558, "!chunk_is_mmapped (oldp)", 1),
    SAME_ASSERTION_TEXT("_int_realloc", "malloc.c", 4627, "(unsigned long) (newsize) >= (unsigned long) (nb)",
                        1),
    SAME_ASSERTION_TEXT("_int_memalign", "malloc.c", 4725,
                        "newsize >= nb && (((unsigned long) (chunk2mem (p))) % alignment) == 0", 1),
    {"sysmalloc_mmap",
     "((INTERNAL_SIZE_T) chunk2mem (mm) & MALLOC_ALIGN_MASK) == 0",
     1,
     {"sysmalloc", "malloc.c", 2327, "((INTERNAL_SIZE_T) chunk2mem (mm) & MALLOC_ALIGN_MASK) == 0"}},
    SAME_ASSERTION_TEXT(
        "sysmalloc", "malloc.c", 2379,
        "(old_top == initial_top (av) && old_size == 0) || ((unsigned long) (old_size) >= MINSIZE && "
        "prev_inuse (old_top) && ((unsigned long) old_end & (pagesize - 1)) == 0)",
        1),
    SAME_ASSERTION_TEXT("sysmalloc", "malloc.c", 2385,
                        "(unsigned long) (old_size) < (unsigned long) (nb + MINSIZE)", 1),
    SAME_ASSERTION_TEXT("sysmalloc", "malloc.c", 2600, "correction >= 0", 1),
    SAME_ASSERTION_TEXT("sysmalloc", "malloc.c", 2632,
                        "((unsigned long) chunk2mem (brk) & MALLOC_ALIGN_MASK) == 0", 1),
    SAME_ASSERTION_TEXT("munmap_chunk", "malloc.c", 2813, "chunk_is_mmapped (p)", 1),
    SAME_ASSERTION_TEXT("mremap_chunk", "malloc.c", 2851, "chunk_is_mmapped (p)", 1),
    SAME_ASSERTION_TEXT("mremap_chunk", "malloc.c", 2875, "aligned_OK (chunk2mem (p))", 1),
    SAME_ASSERTION_TEXT("mremap_chunk", "malloc.c", 2877, "prev_size (p) == offset", 1),
    {"mtrim",
     "(char *) chunk2mem (p) + 2 * CHUNK_HDR_SZ <= paligned_mem",
     1,
     {"mtrim", "malloc.c", 4780, "(char *) chunk2mem (p) + 4 * SIZE_SZ <= paligned_mem"}},
    SAME_ASSERTION_TEXT("mtrim", "malloc.c", 4781, "(char *) p + size > paligned_mem", 1),
    SAME_ASSERTION_TEXT("heap_trim", "arena.c", 613, "chunksize_nomask (p) == (0 | PREV_INUSE)", 1),
    SAME_ASSERTION_TEXT("heap_trim", "arena.c", 616, "new_size > 0 && new_size < (long) (2 * MINSIZE)", 1),
    {"heap_trim",
     "new_size > 0 && new_size < max_size",
     1,
     {"heap_trim", "arena.c", 619, "new_size > 0 && new_size < HEAP_MAX_SIZE"}},
    {"heap_trim",
     "((unsigned long) ((char *) p + new_size) & (heap->pagesize - 1)) == 0",
     1,
     {"heap_trim", "arena.c", 631, "((unsigned long) ((char *) p + new_size) & (pagesz - 1)) == 0"}},
    SAME_ASSERTION_TEXT("heap_trim", "arena.c", 632,
                        "((char *) p + new_size) == ((char *) heap + heap->size)", 1),
    SAME_ASSERTION_TEXT("detach_arena", "arena.c", 676, "replaced_arena->attached_threads > 0", 1),
    SAME_ASSERTION_TEXT("get_free_list", "arena.c", 770, "result->attached_threads == 0", 1),
    SAME_ASSERTION_TEXT("remove_from_free_list", "arena.c", 796, "p->attached_threads == 0", 1),
    SAME_ASSERTION_TEXT("__malloc_arena_thread_freeres", "arena.c", 961, "a->attached_threads > 0", 1),
};

const size_t release_assertion_count = sizeof release_assertions / sizeof release_assertions[0];
