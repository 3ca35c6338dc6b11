"""Layer 3, model: the allocator's state at one stop, as objects and lazy chunk walks.

objects (Arena, HeapSegment, Chunk, BinList, ThreadInfo, WalkStatus) · states (chunk states and
the C helper's row codes) · problems (why a walk stopped) · snapshot (the state of one stop,
cached) built from arena_ring, heap_segments, list_walk and free_lists · scan and resync (a
segment's chunk walk, and where it resumes past damage) · native (the C helper) ·
main_segments (a non-contiguous main arena) · mmapped (chunks listed nowhere) · busy (arenas
and threads caught inside the allocator)."""
