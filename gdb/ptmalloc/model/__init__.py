"""Layer 3, model: the allocator's state at one stop, as objects and lazy chunk walks.

objects (Arena, HeapSegment, Chunk, BinList, ThreadInfo, WalkStatus) · states (chunk states and
the C helper's row codes) · problems (why a walk stopped) · snapshot (the state of one stop,
cached; finding the chunk at an address) built from arena_ring, heap_segments, free_lists and
list_walk · scan, pass_one and resync (a segment's chunk walk, and where it resumes past damage)
· native (the C helper) and native_scans (its loops for refs, snapshot and diff) ·
main_segments (a non-contiguous main arena) · mmapped (chunks listed nowhere) · chunk_words (a
chunk's links and words as the allocator reads them) · busy (arenas and threads caught inside
the allocator) · unread (what a core kept a command from reading) · malloc_hooks (the hooks'
values, glibc before 2.34) · history (the clone's ring of recent calls, PTMALLOC_HISTORY) ·
chunk_table (every chunk of a stop as columns, with allocation sites when known) ·
snapshot_files (those columns saved and read back) · json_columns (JSON whose base64 columns
are written and read in bulk) · heap_diff (two tables compared) · references (`heap refs`: the
words pointing into a chunk) · thread_places (each thread's live stack and TLS) ·
object_sections (which object's section an address is in)."""
