/*
 * Which glibc this build of the clone is, and every malloc difference between the releases it can
 * be, as named feature macros.  The build passes GLIBC_VERSION (major * 100 + minor: 231, 236 or
 * 241; mk/allocator.mk); the rest of the allocator asks these macros, never the number, so what a
 * release changed is written down once, here, with the release that changed it.
 *
 * 2.36 is Debian 12's glibc (the default build); 2.31 is Debian 11's (bullseye, 2.31-13+deb11u11),
 * the release the seeds' articles walk through; 2.41 is Debian 13's (trixie, 2.41-12+deb13u5).
 * Differences of releases after 2.36 were found by running the real 2.41 against this clone
 * (tests/diff with PTM_GLIBC=2.41): the release named is the one that made the change where
 * glibc's history says so; only 2.36 and 2.41 are checked here.
 */
#ifndef PTMALLOC_VERSION_H
#define PTMALLOC_VERSION_H

#ifndef GLIBC_VERSION
#define GLIBC_VERSION 236
#endif
#if GLIBC_VERSION != 231 && GLIBC_VERSION != 236 && GLIBC_VERSION != 241
#error "GLIBC_VERSION must be 231, 236 or 241"
#endif

/* The release in words, for the banner in the file (release.c). */
#if GLIBC_VERSION == 231
#define GLIBC_RELEASE_TEXT "2.31"
#elif GLIBC_VERSION == 241
#define GLIBC_RELEASE_TEXT "2.41"
#else
#define GLIBC_RELEASE_TEXT "2.36"
#endif

/* 2.32: singly linked lists (tcache next, fastbin fd) are stored XORed with their slot's page
   number, and every pointer taken from them is checked for 16-byte alignment first ("unaligned
   ... detected"). */
#define SAFE_LINKING (GLIBC_VERSION >= 232)

/* 2.32: a program may ask libc whether it is single-threaded (__libc_single_threaded); before,
   the thread header's multiple_threads word told libc alone. */
#define HAVE_LIBC_SINGLE_THREADED (GLIBC_VERSION >= 232)

/* 2.32: mallopt(M_MXFAST, 1..7) stores 16 instead of 0 (neither lets any chunk be fast). */
#define SMALL_MXFAST_IS_16 (GLIBC_VERSION >= 232)

/* 2.33: free() leaves errno as it found it. */
#define FREE_KEEPS_ERRNO (GLIBC_VERSION >= 233)

/* 2.33: mallinfo2, with size_t fields. */
#define HAVE_MALLINFO2 (GLIBC_VERSION >= 233)

/* 2.33: free's tcache double-free scan gives up on a bin longer than tcache_count ("too many
   chunks") and checks each entry's alignment. */
#define TCACHE_SCAN_IS_BOUNDED (GLIBC_VERSION >= 233)

/* 2.34: the mark of a chunk parked in the tcache is a random process-wide key; before, it was the
   address of the owning thread's tcache_perthread_struct (so a leaked key was a heap pointer). */
#define TCACHE_KEY_IS_POINTER (GLIBC_VERSION < 234)

/* Before 2.34: __malloc_hook, __free_hook, __realloc_hook, __memalign_hook and
   __after_morecore_hook are live (the first three start as the initialising hooks), and sbrk is
   reached through the replaceable __morecore. */
#define HAVE_HOOKS (GLIBC_VERSION < 234)

/* 2.34: the thread-exit teardown marks the tcache as shut down even when the thread never made
   one. */
#define TCACHE_SHUTDOWN_ALWAYS_MARKS (GLIBC_VERSION >= 234)

/* 2.35: the hugetlb tunable, with mp_'s thp_pagesize, hp_pagesize and hp_flags and heap_info's
   pagesize. */
#define HAVE_HUGEPAGES (GLIBC_VERSION >= 235)

/* Before 2.35: mallopt and the tunable refuse an mmap threshold above HEAP_MAX_SIZE / 2. */
#define MMAP_THRESHOLD_CAPPED (GLIBC_VERSION < 235)

/* 2.35 split sysmalloc's mmap fallback into a function and passed it the page size and the
   1 MiB minimum in swapped order: only the first fallback is at least 1 MiB.  Before, every
   fallback was. */
#define MMAP_FALLBACK_ARGUMENTS_SWAPPED (GLIBC_VERSION >= 235)

/* 2.36: assertions print "Fatal glibc error: malloc assertion failure in FUNC: EXPR"; before,
   the classic "PROG: malloc.c:LINE: FUNC: Assertion `EXPR' failed." */
#define FATAL_ERROR_ASSERTIONS (GLIBC_VERSION >= 236)

/* 2.37: assertions go through libc's own __libc_assert_fail: "Fatal glibc error: FILE:LINE
   (FUNC): assertion failed: EXPR", which names the source line again (glibc-VERSION/assertions.c
   has them). */
#define LIBC_ASSERT_FAIL_ASSERTIONS (GLIBC_VERSION >= 237)

/* Whether an assertion message names glibc's source line: all but 2.36's format do. */
#define ASSERTIONS_NAME_SOURCE_LINE (!FATAL_ERROR_ASSERTIONS || LIBC_ASSERT_FAIL_ASSERTIONS)

/* 2.38: global_max_fast is one byte (the largest value mallopt allows, 0xa0, fits), so what lies
   right after it in .bss moved up against it. */
#define GLOBAL_MAX_FAST_IS_BYTE (GLIBC_VERSION >= 238)

/* 2.38: an aligned allocation (memalign and its siblings) first looks through the tcache bin of
   its exact size for an entry that already has the alignment and takes it out of the list.
   (2.38 also scanned the arena's bins for one; 2.39 dropped that again, glibc bug 30723.) */
#define MEMALIGN_SCANS_TCACHE (GLIBC_VERSION >= 238)

/* 2.39 (glibc bug 30723): the pieces an aligned allocation cuts off in front of and behind its
   block go straight back to the arena's bins, merged with free neighbours, never to the tcache or
   a fastbin; and the piece behind is given back even when smaller than MINSIZE if a free chunk
   or the top follows it to merge with. */
#define MEMALIGN_MERGES_PIECES (GLIBC_VERSION >= 239)

/* 2.38 (glibc bug 30579, after 2.37's first version): realloc returns the block unchanged when the
   new size fits its usable size with less than two words to spare (a page for an mmapped chunk).
   Finding the usable size reads the next chunk's header before realloc checks the old size, so
   a chunk with a huge size faults there instead of aborting "realloc(): invalid old size". */
#define REALLOC_KEEPS_NEAR_FIT (GLIBC_VERSION >= 238)

/* 2.38: aligned_alloc fails with EINVAL for an alignment that is not a power of two (ISO C17);
   before, it rounded it up like memalign. */
#define ALIGNED_ALLOC_WANTS_POWER_OF_TWO (GLIBC_VERSION >= 238)

/* 2.41: calloc takes a chunk of the exact size from the tcache, as malloc does; before, it always
   went to the arena. */
#define CALLOC_USES_TCACHE (GLIBC_VERSION >= 241)

/* 2.41: free files a chunk of small-bin size (that the tcache and fastbins did not take) straight
   into its small bin, checked ("free(): chunks in smallbin corrupted"); only larger chunks still
   pass through the unsorted bin. */
#define FREE_FILES_SMALL_CHUNKS_IN_BINS (GLIBC_VERSION >= 241)

/* Debian's fix for CVE-2026-0861 (in 2.36-9+deb12u14 and 2.41-12+deb13u5, where memalign(2^63,
   2^63 - 34) fails with ENOMEM; not in 2.31-13+deb11u11): _int_memalign
   refuses a padded request that would wrap around, and alignments above PTRDIFF_MAX.  Without it
   memalign(2^63, 2^63 - 34) asks _int_malloc for 16 bytes and writes its header near 2^63 (the
   real 2.31 dies of SIGSEGV there, as it does for memalign(2^63, 2^63 - 17): 2.31 tests neither
   the request nor the padded one; so does the clone). */
#define MEMALIGN_OVERFLOW_FIXED (GLIBC_VERSION >= 236)

/* Before 2.34 __malloc_initialized was an int named __libc_malloc_initialized: -1 before
   ptmalloc_init, 0 while it runs, 1 after. */
#define MALLOC_INITIALIZED_IS_INT (GLIBC_VERSION < 234)

#endif
