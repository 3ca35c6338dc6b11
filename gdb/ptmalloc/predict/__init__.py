"""Layer 4, predict: what the next free() or malloc() would do to the heap as it is.

free_model and malloc_model (glibc's checks, in the order the allocator makes them) · unlink
(unlink_chunk's checks, shared by both) · chunk_reads (word reads made the way the allocator
makes them)."""
