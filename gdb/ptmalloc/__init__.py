"""Heap inspector for the ptmalloc2 clone and glibc 2.36: a gdb extension (stdlib only).

Modules: target (which allocator, layouts from DWARF or a manifest), memory (bulk cached reads),
model (plain objects), walk (snapshot of arenas, heaps, bins, tcaches; lazy chunk walks),
views (JSON shapes), render (styled text), commands (the `heap` family)."""
