/*
 * Pins every type the GDB extension reads into DWARF.  Optimised code may never spell out, say,
 * heap_info or tcache_entry in a way that makes the compiler emit their full definitions; one
 * variable of each type here guarantees it.  Linked into the library, and also built alone as
 * build/ptmalloc-types.o so gdb can `add-symbol-file` it for a target that has no debug info.
 */
#include "malloc_types.h"

/* `used` keeps the definitions through optimisation and --gc-sections; nothing reads them. */
__attribute__((used)) static struct {
	struct malloc_chunk chunk;
	struct malloc_state state;
	heap_info heap;
	struct malloc_par par;
	tcache_entry entry;
	tcache_perthread_struct tcache;
	mchunkptr chunk_pointer;
	mbinptr bin_pointer;
	mfastbinptr fastbin_pointer;
	mstate state_pointer;
	/* Which glibc this build is (version.h's GLIBC_VERSION, e.g. 231): the extension reads the
	   release's rules (safe-linking, the tcache key, the hooks) from this constant. */
	enum ptmalloc_glibc_release { PTMALLOC_GLIBC_RELEASE = GLIBC_VERSION } glibc_release;
} ptmalloc_dwarf_type_anchor;
