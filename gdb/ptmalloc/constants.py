"""Algorithm constants of glibc 2.36 malloc on x86-64 that no struct layout carries.

Layouts (field offsets, struct sizes) always come from DWARF or a manifest; what lives here are
the numbers that are part of the algorithm rather than of a type: size-field flag bits, bin
geometry and the alignment of thread-arena heaps."""

PREV_INUSE = 0x1
IS_MMAPPED = 0x2
NON_MAIN_ARENA = 0x4
SIZE_BITS = PREV_INUSE | IS_MMAPPED | NON_MAIN_ARENA
FLAG_NAMES = ((PREV_INUSE, "PREV_INUSE"), (IS_MMAPPED, "IS_MMAPPED"),
              (NON_MAIN_ARENA, "NON_MAIN_ARENA"))

SIZE_SZ = 8
MALLOC_ALIGNMENT = 16
CHUNK_HDR_SZ = 16
MINSIZE = 32
NBINS = 128
NSMALLBINS = 64
MIN_LARGE_SIZE = 1024
NONCONTIGUOUS_BIT = 0x2
# Thread-arena heaps are aligned to their maximum size, 2 * DEFAULT_MMAP_THRESHOLD_MAX (32 MiB).
HEAP_MAX_SIZE = 64 * 1024 * 1024
PAGE_SIZE = 4096
# Pointer arithmetic on damaged fields wraps, in the allocator as in its replays.
MASK64 = (1 << 64) - 1

# No walk may run forever on a corrupted heap; these bound chains that have no natural length.
MAX_CHAIN_LENGTH = 10_000_000
MAX_HEAPS_PER_ARENA = 100_000
MAX_ARENAS = 100_000


def flag_words(size_field):
    """Names of the flag bits set in a raw size field, in bit order."""
    return [name for bit, name in FLAG_NAMES if size_field & bit]


def fastbin_size(index):
    return (index + 2) * 16


def tcache_size(index):
    return MINSIZE + index * MALLOC_ALIGNMENT


def smallbin_size(index):
    return index * 16


def largebin_index(size):
    """glibc's largebin_index_64: the bin a chunk of this size lands in."""
    if (size >> 6) <= 48:
        return 48 + (size >> 6)
    if (size >> 9) <= 20:
        return 91 + (size >> 9)
    if (size >> 12) <= 10:
        return 110 + (size >> 12)
    if (size >> 15) <= 4:
        return 119 + (size >> 15)
    if (size >> 18) <= 2:
        return 124 + (size >> 18)
    return 126


def _smallest_size_in_bin(index):
    low, high = MIN_LARGE_SIZE, 1 << 63
    while low < high:
        middle = (low + high) // 2
        if largebin_index(middle) >= index:
            high = middle
        else:
            low = middle + 1
    return low


def _largebin_ranges():
    ranges = {}
    for index in range(64, 127):
        low = _smallest_size_in_bin(index)
        ranges[index] = (low, None if index >= 126 else _smallest_size_in_bin(index + 1) - 1)
    return ranges


# Built once: audits ask for these per chunk, and each is a binary search over the size space.
_LARGEBIN_RANGES = _largebin_ranges()


def largebin_range(index):
    """(smallest, largest) chunk size of large bin `index`; largest is None for the last bin."""
    known = _LARGEBIN_RANGES.get(index)
    if known is not None:
        return known
    low = _smallest_size_in_bin(index)
    if index >= 126:
        return low, None
    return low, _smallest_size_in_bin(index + 1) - 1
