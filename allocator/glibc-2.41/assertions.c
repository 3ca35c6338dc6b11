/*
 * Where glibc 2.41 (Debian's 2.41-12+deb13u5) asserts what the clone asserts: its messages name
 * the source file and line ("Fatal glibc error: malloc.c:2601 (sysmalloc): assertion failed:
 * ..."), and the check of a thread heap's arena when free consolidates is made by a function of
 * its own.  The lines were read from the calls of __libc_assert_fail in that build's libc.so.6
 * (libc6-dbg names the function; the file, line, function and expression are its arguments).
 * That build has no call for calloc's "nclears >= 3" nor for mremap_chunk's "chunk_is_mmapped (p)"
 * (checks no call can fail; the clone says them without a line).
 */
#include "internal.h"

const struct release_assertion release_assertions[] = {
    SAME_ASSERTION_TEXT("heap_trim", "arena.c", 553, "chunksize_nomask (p) == (0 | PREV_INUSE)", 1),
    SAME_ASSERTION_TEXT("heap_trim", "arena.c", 556, "new_size > 0 && new_size < (long) (2 * MINSIZE)", 1),
    SAME_ASSERTION_TEXT("heap_trim", "arena.c", 559, "new_size > 0 && new_size < max_size", 1),
    SAME_ASSERTION_TEXT("heap_trim", "arena.c", 574,
                        "((unsigned long) ((char *) p + new_size) & (heap->pagesize - 1)) == 0", 1),
    SAME_ASSERTION_TEXT("heap_trim", "arena.c", 576,
                        "((char *) p + new_size) == ((char *) heap + heap->size)", 1),
    SAME_ASSERTION_TEXT("detach_arena", "arena.c", 621, "replaced_arena->attached_threads > 0", 1),
    SAME_ASSERTION_TEXT("get_free_list", "arena.c", 715, "result->attached_threads == 0", 1),
    SAME_ASSERTION_TEXT("remove_from_free_list", "arena.c", 741, "p->attached_threads == 0", 1),
    SAME_ASSERTION_TEXT("__malloc_arena_thread_freeres", "arena.c", 907, "a->attached_threads > 0", 1),
    SAME_ASSERTION_TEXT("sysmalloc_mmap", "malloc.c", 2450,
                        "((INTERNAL_SIZE_T) chunk2mem (mm) & MALLOC_ALIGN_MASK) == 0", 1),
    SAME_ASSERTION_TEXT("sysmalloc", "malloc.c", 2601,
                        "(old_top == initial_top (av) && old_size == 0) || ((unsigned long) (old_size) >= "
                        "MINSIZE && prev_inuse (old_top) && ((unsigned long) old_end & (pagesize - 1)) == 0)",
                        1),
    SAME_ASSERTION_TEXT("sysmalloc", "malloc.c", 2607,
                        "(unsigned long) (old_size) < (unsigned long) (nb + MINSIZE)", 1),
    SAME_ASSERTION_TEXT("sysmalloc", "malloc.c", 2822, "correction >= 0", 1),
    SAME_ASSERTION_TEXT("sysmalloc", "malloc.c", 2849,
                        "((unsigned long) chunk2mem (brk) & MALLOC_ALIGN_MASK) == 0", 1),
    SAME_ASSERTION_TEXT("munmap_chunk", "malloc.c", 3030, "chunk_is_mmapped (p)", 1),
    SAME_ASSERTION_TEXT("mremap_chunk", "malloc.c", 3089, "aligned_OK (chunk2mem (p))", 1),
    SAME_ASSERTION_TEXT("mremap_chunk", "malloc.c", 3091, "prev_size (p) == offset", 1),
    SAME_ASSERTION_TEXT("__libc_malloc", "malloc.c", 3407,
                        "!victim || chunk_is_mmapped (mem2chunk (victim)) || &main_arena == arena_for_chunk "
                        "(mem2chunk (victim))",
                        1),
    SAME_ASSERTION_TEXT(
        "__libc_malloc", "malloc.c", 3429,
        "!victim || chunk_is_mmapped (mem2chunk (victim)) || ar_ptr == arena_for_chunk (mem2chunk (victim))",
        1),
    SAME_ASSERTION_TEXT(
        "__libc_realloc", "malloc.c", 3587,
        "!newp || chunk_is_mmapped (mem2chunk (newp)) || ar_ptr == arena_for_chunk (mem2chunk (newp))", 1),
    SAME_ASSERTION_TEXT(
        "__libc_realloc", "malloc.c", 3598,
        "!newp || chunk_is_mmapped (mem2chunk (newp)) || ar_ptr == arena_for_chunk (mem2chunk (newp))", 2),
    SAME_ASSERTION_TEXT(
        "_mid_memalign", "malloc.c", 3717,
        "!p || chunk_is_mmapped (mem2chunk (p)) || &main_arena == arena_for_chunk (mem2chunk (p))", 1),
    SAME_ASSERTION_TEXT("_mid_memalign", "malloc.c", 3735,
                        "!p || chunk_is_mmapped (mem2chunk (p)) || ar_ptr == arena_for_chunk (mem2chunk (p))",
                        1),
    SAME_ASSERTION_TEXT(
        "__libc_calloc", "malloc.c", 3846,
        "!mem || chunk_is_mmapped (mem2chunk (mem)) || av == arena_for_chunk (mem2chunk (mem))", 1),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 4237, "chunk_main_arena (bck->bk)", 1),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 4250, "chunk_main_arena (fwd)", 1),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 4254, "chunk_main_arena (fwd)", 2),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 4415, "bit != 0", 1),
    SAME_ASSERTION_TEXT("_int_malloc", "malloc.c", 4434, "(unsigned long) (size) >= (unsigned long) (nb)", 1),
    {"_int_free",
     "heap->ar_ptr == av",
     1,
     {"_int_free_maybe_consolidate", "malloc.c", 4851, "heap->ar_ptr == av"}},
    SAME_ASSERTION_TEXT("_int_realloc", "malloc.c", 4990, "!chunk_is_mmapped (oldp)", 1),
    SAME_ASSERTION_TEXT("_int_realloc", "malloc.c", 5063, "(unsigned long) (newsize) >= (unsigned long) (nb)",
                        1),
    SAME_ASSERTION_TEXT("_int_memalign", "malloc.c", 5168,
                        "newsize >= nb && (((unsigned long) (chunk2mem (p))) % alignment) == 0", 1),
    SAME_ASSERTION_TEXT("mtrim", "malloc.c", 5235,
                        "(char *) chunk2mem (p) + 2 * CHUNK_HDR_SZ <= paligned_mem", 1),
    SAME_ASSERTION_TEXT("mtrim", "malloc.c", 5237, "(char *) p + size > paligned_mem", 1),
};

const size_t release_assertion_count = sizeof release_assertions / sizeof release_assertions[0];
