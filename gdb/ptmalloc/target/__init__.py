"""Layer 2, target: which objfile serves malloc, and what its allocator looks like.

allocator (finding it, its globals and threads' locals) · allocator_absence (one message per
reason no allocator can be read) · core_checks (a core against the files gdb loaded) · layouts
(struct layouts from DWARF or a manifest) · geometry (every size, offset and rule of the
allocator, from those layouts and mp_) · elf_symbols (.symtab read from the file) ·
thread_locals (each thread's tcache and thread_arena) · release (which glibc, and what it changed) ·
hooks (where the malloc hooks of glibc before 2.34 are) · manifest (layouts by build-id for
targets without DWARF)."""
