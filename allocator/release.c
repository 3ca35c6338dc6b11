/*
 * Which glibc release this build is, in words the file keeps without its debug info, as glibc's
 * own "GNU C Library ... release version 2.31." banner: the gdb extension reads it from a
 * stripped build (where dwarf/types.c's glibc_release constant is gone with the DWARF) to know
 * which release's rules the heap follows (safe-linking, the tcache key, the hooks).
 */
#include "version.h"

__attribute__((used)) static const char release_banner[] =
    "ptmalloc2 clone built as glibc release version " GLIBC_RELEASE_TEXT ".";
