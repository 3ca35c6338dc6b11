"""The allocator's geometry: every size, offset, count and rule the extension needs about the heap,
in one object built with each snapshot.

Whatever the target's types say is read from them (DWARF, or a layout manifest): the chunk
header's fields and size, the number of fastbins, bins, binmap words and tcache bins and the
width of their elements.  Whatever its state says is read from `mp_`: above all the size of a
thread arena's heap, which the hugetlb tunable changes (a heap is `4 * mp_.hp_pagesize` bytes,
and aligned to that, once `glibc.malloc.hugetlb` chose a huge page size; allocator/heap.c does
the same; 2.31's mp_ has no hp_pagesize, and its heaps are always 64 MiB).  The rest is the
algorithm on x86-64, which no type records: the flag bits of the size field, the bin indexing,
safe-linking's shift; and which release has which rule (safe-linking, the tcache key, the hooks)
comes from the release the allocator is (target/release.py).  Those are stated here and nowhere
else, so nothing else in the extension knows a number about the allocator."""

import functools

# -- the algorithm's facts (glibc 2.36, x86-64), stated once -------------------------------------

# The size field's low bits.
PREV_INUSE = 0x1
IS_MMAPPED = 0x2
NON_MAIN_ARENA = 0x4
_FLAG_NAMES = ((PREV_INUSE, "PREV_INUSE"), (IS_MMAPPED, "IS_MMAPPED"),
               (NON_MAIN_ARENA, "NON_MAIN_ARENA"))
# malloc_state.flags: the arena is not one contiguous sbrk heap.
NONCONTIGUOUS_BIT = 0x2
# Small bins are one MALLOC_ALIGNMENT apart; the first NSMALLBINS bins are small.
_SMALL_BINS = 64
# DEFAULT_MMAP_THRESHOLD_MAX is 4 MiB per byte of a long, and a thread arena's heap is twice it
# (HEAP_MAX_SIZE), unless the hugetlb tunable set a huge page size: then four huge pages.
_MMAP_THRESHOLD_MAX_PER_LONG_BYTE = 4 << 20
_HEAP_MAX_PER_THRESHOLD_MAX = 2
_HEAP_MAX_PER_HUGE_PAGE = 4
# The page the kernel maps, and safe-linking's shift (the page number of the link's own slot).
_PAGE_SHIFT = 12


def _largebin_index(size):
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


def _smallest_size_in_bin(index, low, high):
    while low < high:
        middle = (low + high) // 2
        if _largebin_index(middle) >= index:
            high = middle
        else:
            low = middle + 1
    return low


# Computed once per geometry's numbers, not per snapshot: audits ask for these per chunk, and
# each is a binary search over the size space.
@functools.lru_cache(maxsize=4)
def _largebin_ranges(first, last, min_large_size, size_limit):
    """{index: (smallest, largest)} of the large bins first..last; the last one is open-ended."""
    ranges = {}
    for index in range(first, last + 1):
        low = _smallest_size_in_bin(index, min_large_size, size_limit)
        ranges[index] = (low, None if index >= last else
                         _smallest_size_in_bin(index + 1, min_large_size, size_limit) - 1)
    return ranges


class Geometry:
    """The heap's numbers for one snapshot (see the module).

    Chunk: `size_sz`, `pointer_size`, `header_size` (chunk to user pointer), `prev_size_offset`,
    `size_offset`, `fd_offset`, `bk_offset`, `fd_nextsize_offset`, `bk_nextsize_offset`,
    `alignment`, `alignment_mask`, `min_chunk_size`, `size_bits` (the flag bits: `prev_inuse`,
    `is_mmapped_bit`, `non_main_arena`), `size_mask`, `address_mask` (pointer arithmetic wraps).
    Arena: `noncontiguous_bit` (of malloc_state.flags), `fastbin_count`, `bin_count` (NBINS),
    `bins_offset`, `bin_stride` (bytes between bin heads), `small_bin_count`, `min_large_size`,
    `binmap_words`, `binmap_word_bits`.
    Tcache: `tcache_bin_count` and `tcache_count_size` (its counters' width), `tcache_next_offset`
    and `tcache_key_offset` (in a cached chunk's user data), `tcache_key_is_random` (2.34+: the
    key is the word `tcache_key`, else the thread's tcache address), `tcache_scan_bounded`
    (2.33+: free's double-free scan stops past tcache_count entries and checks alignment).
    Lists: `safe_linking` (2.32+: tcache and fastbin links are stored xored with their slot's
    page, and malloc checks the alignment of what it takes from them).
    Release: `release` (target.release.Release), `hooks_live` (before 2.34: __malloc_hook & co.
    are called).
    Heaps: `page_size`, `heap_max_size` and `heap_alignment` (of a thread arena's heaps)."""

    def __init__(self, layouts, mp, release):
        chunk = layouts["chunk"]
        self.size_sz = chunk.fields["mchunk_size"].size
        self.prev_size_offset = chunk.offset("mchunk_prev_size")
        self.size_offset = chunk.offset("mchunk_size")
        self.fd_offset = chunk.offset("fd")
        self.bk_offset = chunk.offset("bk")
        self.fd_nextsize_offset = chunk.offset("fd_nextsize")
        self.bk_nextsize_offset = chunk.offset("bk_nextsize")
        # The user's memory starts where a free chunk's links start.
        self.header_size = self.fd_offset
        # MALLOC_ALIGNMENT is two size words where long double asks no more, as on x86-64.
        self.alignment = 2 * self.size_sz
        self.alignment_mask = self.alignment - 1
        # MINSIZE: room for a free chunk's header and its fd and bk, aligned.
        self.min_chunk_size = (self.fd_nextsize_offset + self.alignment_mask) & \
            ~self.alignment_mask
        self.size_bits = PREV_INUSE | IS_MMAPPED | NON_MAIN_ARENA
        self.size_mask = ~self.size_bits
        self.prev_inuse = PREV_INUSE
        self.is_mmapped_bit = IS_MMAPPED
        self.non_main_arena = NON_MAIN_ARENA
        self.noncontiguous_bit = NONCONTIGUOUS_BIT
        # The segment scans step through a heap in 8-byte words by size >> 3, which drops the
        # flags only while they lie below bit 3; and a histogram key keeps a row code there.
        if self.size_bits >> 3 or self.alignment < 8:
            raise ValueError("size flags %#x do not fit below the chunk alignment" %
                             self.size_bits)

        state = layouts["state"]
        fastbins = state.fields["fastbinsY"]
        self.fastbin_count = fastbins.count
        self.pointer_size = fastbins.size
        self.address_mask = (1 << (8 * self.pointer_size)) - 1
        bins = state.fields["bins"]
        # bins[] holds the fd and bk of bins 1..NBINS-1, two pointers each.
        self.bin_count = bins.count // 2 + 1
        self.bin_stride = 2 * bins.size
        self.bins_offset = bins.offset
        self.small_bin_count = _SMALL_BINS
        self.min_large_size = _SMALL_BINS * self.alignment
        binmap = state.fields.get("binmap")
        self.binmap_words = binmap.count if binmap is not None else 0
        self.binmap_word_bits = 8 * binmap.size if binmap is not None else 0

        tcache = layouts["tcache"]
        self.tcache_bin_count = tcache.fields["counts"].count
        self.tcache_count_size = tcache.fields["counts"].size
        entry = layouts.get("tcache_entry")
        self.tcache_next_offset = entry.offset("next") if entry is not None else 0
        self.tcache_key_offset = entry.offset("key") if entry is not None and entry.has("key") \
            else self.size_sz
        # What the release changed (target/release.py), from its version, not from which
        # symbols happen to exist: 2.32 and 2.33 have safe-linking but a pointer as tcache key.
        self.release = release
        self.tcache_key_is_random = release.tcache_key_is_random
        self.safe_linking = release.safe_linking
        self.tcache_scan_bounded = release.tcache_scan_bounded
        self.hooks_live = release.hooks_live

        self.page_size = 1 << _PAGE_SHIFT
        huge_page = mp.get("hp_pagesize") or 0
        if huge_page:
            self.heap_max_size = _HEAP_MAX_PER_HUGE_PAGE * huge_page
        else:
            self.heap_max_size = _HEAP_MAX_PER_THRESHOLD_MAX * \
                _MMAP_THRESHOLD_MAX_PER_LONG_BYTE * self.size_sz
        # heap_for_ptr finds a heap's heap_info by masking with its maximum size.
        self.heap_alignment = self.heap_max_size

    # -- chunks --------------------------------------------------------------------------------

    def chunk_size(self, size_field):
        return size_field & self.size_mask

    def flag_words(self, size_field):
        """Names of the flag bits set in a raw size field, in bit order."""
        return [name for bit, name in _FLAG_NAMES if size_field & bit]

    def is_mmapped(self, size_field):
        return bool(size_field & self.is_mmapped_bit)

    def user_pointer(self, chunk):
        return (chunk + self.header_size) & self.address_mask

    def chunk_of(self, user_pointer):
        return (user_pointer - self.header_size) & self.address_mask

    def is_aligned(self, address):
        return not address & self.alignment_mask

    def first_chunk_after(self, address):
        """The first chunk at or after `address` whose user pointer is aligned."""
        user = (address + self.header_size + self.alignment_mask) & ~self.alignment_mask
        return user - self.header_size

    def page_align_up(self, address):
        return (address + self.page_size - 1) & ~(self.page_size - 1)

    def heap_of(self, address):
        """heap_for_ptr: the heap_info of the thread-arena heap holding `address`."""
        return address & ~(self.heap_alignment - 1)

    def reveal(self, slot, stored):
        """The pointer a tcache or fastbin link at `slot` stands for."""
        return stored ^ (slot >> self.link_shift(True))

    def link_shift(self, singly_linked):
        """How far a link's own slot is shifted and xored into it: its page number for the
        singly linked lists of an allocator with safe-linking (tcache, fastbins); past any
        address for plain links, so that the same expression leaves them as they are."""
        if singly_linked and self.safe_linking:
            return _PAGE_SHIFT
        return 8 * self.size_sz

    # -- bins ----------------------------------------------------------------------------------

    def fastbin_size(self, index):
        return (index + 2) * self.alignment

    def fastbin_index(self, size):
        return size // self.alignment - 2

    def tcache_size(self, index):
        return self.min_chunk_size + index * self.alignment

    def tcache_index(self, size):
        return (size - self.min_chunk_size + self.alignment_mask) // self.alignment

    def smallbin_size(self, index):
        return index * self.alignment

    def largebin_index(self, size):
        return _largebin_index(size)

    def largebin_range(self, index):
        """(smallest, largest) chunk size of large bin `index`; largest is None for the last."""
        ranges = _largebin_ranges(self.small_bin_count, self.bin_count - 2, self.min_large_size,
                                  1 << (8 * self.size_sz - 1))
        known = ranges.get(index)
        if known is not None:
            return known
        return _smallest_size_in_bin(index, self.min_large_size, 1 << (8 * self.size_sz - 1)), None

    def bin_head(self, arena_address, index):
        """Address of bin `index`'s fake chunk: its fd and bk overlay the bin's two pointers."""
        return arena_address + self.bins_offset + (index - 1) * self.bin_stride - self.fd_offset
