"""Heap inspector for the ptmalloc2 clone and glibc 2.31, 2.36 and 2.41: a gdb extension (stdlib only).

Modules: target (which allocator, layouts from DWARF or a manifest), memory (bulk cached reads),
geometry (every size, offset and rule of the allocator, from its types and mp_), states (chunk
states and the C helper's row codes), problems (why a walk stopped, as values), model (plain
objects), walk (snapshot of arenas, heaps, bins, tcaches; lazy chunk walks), findings (the heap
check's rules), views (JSON shapes), render (styled text), commands (the `heap` family)."""
