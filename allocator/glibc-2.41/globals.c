/*
 * malloc's global state as glibc 2.41 (Debian's 2.41-12+deb13u5) lays it out around main_arena
 * (libc6-dbg's symbols): the same variables in the same order as 2.36, at other distances, and
 * global_max_fast one byte wide (version.h: GLOBAL_MAX_FAST_IS_BYTE), so __always_fail_morecore
 * sits in the byte after it.  glibc-2.36/globals.c says how the sections are placed.
 */
#define NARENAS_BEFORE_ARENA 0x958
#define MP_BEFORE_ARENA 0x940
#define BSS_CLUSTER_AFTER_ARENA 0x6748

#include "../glibc-2.36/globals.c"
