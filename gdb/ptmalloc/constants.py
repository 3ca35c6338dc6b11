"""The extension's own bounds, which are not facts about the allocator (those are all in
target/geometry.py, read from the target's types and mp_ where it records them).

No walk may run forever on a corrupted heap; these bound the chains that have no natural length.
Addresses and registers are 64-bit on x86-64, the only machine the extension reads."""

# Pointer arithmetic on register values and damaged fields wraps at 64 bits.
MASK64 = (1 << 64) - 1

MAX_CHAIN_LENGTH = 10_000_000
MAX_HEAPS_PER_ARENA = 100_000
MAX_ARENAS = 100_000
