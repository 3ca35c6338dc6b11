"""Layer 1, memory: the inferior's bytes at one stop, read in bulk and cached until it moves.

cache (the Memory of a stop, gdb's reads as the fallback) · core_file (a core's segments mapped
straight from the file) · core_regions (a core's own program headers and notes: what it holds,
what it lacks and why) · core_holdings (those two asked on the Memory's behalf) ·
process_memory (a live process read with process_vm_readv) · live_reads (those reads into a
window of the caller's, for a heap too big to hold) · spans (any range read in bulk,
and each part that could not be, with why)."""
