"""Layer 1, memory: the inferior's bytes at one stop, read in bulk and cached until it moves.

cache (the Memory of a stop, gdb's reads as the fallback) · core_file (a core's segments mapped
straight from the file) · process_memory (a live process read with process_vm_readv)."""
