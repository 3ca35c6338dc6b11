"""What glibc's free() would do with a pointer, decided from the heap as it is now.

The audit predicts the abort a damaged heap will raise, and the most common "next touch" of a
damaged chunk is a free: of the chunk itself (a double or invalid free) or of its neighbour (an
overflow into the next header).  This module replays the checks of __libc_free and _int_free in
their order, reading memory instead of writing it, and answers with the message the allocator
would print, or None when free would go through (or would crash without a message).  The
checks are those of the allocator's release (the Geometry's): glibc 2.31's tcache scan has no
bound and checks no alignment.

The check order is the algorithm's, not glibc's code: documented in GLIBC-2.36-FACTS.md and the
glibc manual's description of the integrity checks."""

from ..errors import HeapReadError
from .chunk_reads import ChunkReader, Unreadable
from .unlink import unlink_problem


class FreeOutcome:
    """`abort` (the message, or None), `why` (one line for the finding), `path` (tcache, fast,
    normal, mmapped or None), `crashes` (free() would read unmapped memory: no message)."""

    __slots__ = ("abort", "why", "path", "crashes")

    def __init__(self, abort, why, path=None, crashes=False):
        self.abort = abort
        self.why = why
        self.path = path
        self.crashes = crashes


class FreeModel(ChunkReader):
    """Replays free() against one HeapSnapshot, as the thread `thread` (a ThreadInfo) would."""

    def __init__(self, snap, thread=None):
        super().__init__(snap)
        self.thread = thread
        self.entry_next = self.geometry.tcache_next_offset
        self.entry_key = self.geometry.tcache_key_offset

    def arena_of(self, chunk):
        """arena_for_chunk: the NON_MAIN_ARENA bit sends free to heap_info->ar_ptr."""
        if self.size_field(chunk) & self.geometry.non_main_arena:
            heap = self.geometry.heap_of(chunk)
            address = self.word(heap)
            arena = self.snap.arena_by_address(address)
            if arena is None:
                raise Unreadable("arena %#x named by heap_info %#x is not an arena" % (address,
                                                                                       heap))
            return arena
        return self.snap.arenas[0]

    # -- the replay -----------------------------------------------------------------------------

    def free(self, user_pointer):
        if user_pointer == 0:
            return FreeOutcome(None, "free(NULL) does nothing")
        try:
            return self._free(user_pointer)
        except Unreadable as error:
            return FreeOutcome(None, "free() would read unmapped memory at %s and crash" % error,
                               crashes=True)

    def _free(self, mem_address):
        geometry = self.geometry
        chunk = geometry.chunk_of(mem_address)
        field = self.size_field(chunk)
        if geometry.is_mmapped(field):
            return self._munmap(chunk, mem_address)
        arena = self.arena_of(chunk)
        size = field & geometry.size_mask
        if chunk > ((-size) & geometry.address_mask) or not geometry.is_aligned(chunk):
            return FreeOutcome("free(): invalid pointer",
                               "%#x is not the start of a chunk (misaligned or wraps around)"
                               % mem_address)
        if size < geometry.min_chunk_size or not geometry.is_aligned(size):
            return FreeOutcome("free(): invalid size",
                               "the header before %#x holds size %#x, not a chunk size"
                               % (mem_address, size))
        outcome = self._tcache(chunk, size, mem_address)
        if outcome is not None:
            return outcome
        max_fast = self.snap.global_max_fast
        if max_fast is not None and size <= max_fast:
            return self._fast(arena, chunk, size)
        return self._normal(arena, chunk, size)

    def _munmap(self, chunk, mem_address):
        prev = self.prev_size(chunk)
        size = self.size(chunk)
        address_mask, page_mask = self.geometry.address_mask, self.geometry.page_size - 1
        block = (chunk - prev) & address_mask
        total = (prev + size) & address_mask
        offset = mem_address & page_mask
        if (block | total) & page_mask or offset & (offset - 1):
            return FreeOutcome("munmap_chunk(): invalid pointer",
                               "the header before %#x claims an mmapped chunk but its mapping "
                               "is not page aligned" % mem_address, "mmapped")
        return FreeOutcome(None, "an mmapped chunk: free() unmaps it", "mmapped")

    def _tcache_slot(self, field, index):
        """Where free() finds counts[index] or entries[index]: computed, not looked up in a
        tuple, because a corrupted mp_.tcache_bins lets glibc index past the 64 bins too."""
        layout = self.snap.layouts["tcache"]
        element = layout.fields[field].size
        return (self.thread.tcache + layout.offset(field) + index * element) & \
            self.geometry.address_mask

    def _tcache_count(self, index):
        address = self._tcache_slot("counts", index)
        try:
            data = self.mem.read(address, self.geometry.tcache_count_size)
        except HeapReadError:
            raise Unreadable("%#x" % address) from None
        return int.from_bytes(data, "little")

    def _tcache(self, chunk, size, mem_address):
        geometry = self.geometry
        index = geometry.tcache_index(size)
        if index >= self.snap.mp.get("tcache_bins", 0):
            return None
        if self.thread is None or not self.thread.tcache:
            return FreeOutcome(None, "free() would put it in the (new) tcache", "tcache")
        key_value = self.snap.tcache_key(self.thread)
        limit = self.snap.mp["tcache_count"]
        if key_value is not None and self.word(mem_address + self.entry_key) == key_value:
            entry = self.word(self._tcache_slot("entries", index))
            count = 0
            seen = set()
            while entry:
                if not geometry.tcache_scan_bounded and entry in seen:
                    # Before 2.33 the scan has no bound: free() follows the loop for ever.
                    return FreeOutcome(None, "its tcache bin %#x loops, and free()'s "
                                       "double-free scan (unbounded in glibc %s) would follow "
                                       "it for ever: the program hangs" % (size, geometry.release),
                                       "tcache")
                if geometry.tcache_scan_bounded and (count >= limit or entry in seen):
                    # A cycle keeps glibc counting until it passes the limit: the same abort.
                    return FreeOutcome("free(): too many chunks detected in tcache",
                                       "its tcache bin %#x holds more than %d entries"
                                       % (size, limit), "tcache")
                if geometry.tcache_scan_bounded and not geometry.is_aligned(entry):
                    return FreeOutcome("free(): unaligned chunk detected in tcache 2",
                                       "its tcache bin %#x leads to the misaligned entry %#x"
                                       % (size, entry), "tcache")
                if entry == mem_address:
                    return FreeOutcome("free(): double free detected in tcache 2",
                                       "chunk %#x is already in tcache bin %#x (entry %d)"
                                       % (chunk, size, count), "tcache")
                seen.add(entry)
                entry = geometry.reveal(entry + self.entry_next,
                                        self.word(entry + self.entry_next))
                count += 1
        if self._tcache_count(index) < limit:
            return FreeOutcome(None, "free() would put it in tcache bin %#x" % size, "tcache")
        return None

    def _fast(self, arena, chunk, size):
        following = chunk + size
        next_field = self.size_field(following)
        geometry = self.geometry
        if next_field <= geometry.header_size or \
                next_field & geometry.size_mask >= arena.system_mem:
            return FreeOutcome("free(): invalid next size (fast)",
                               "the chunk after it (%#x) has size field %#x"
                               % (following, next_field), "fast")
        index = geometry.fastbin_index(size)
        # Computed like glibc's fastbin(), so a corrupted global_max_fast cannot index past the
        # ten fastbins of the tuple: it reads (and compares) what glibc would read.
        fastbins = self.snap.layouts["state"].fields["fastbinsY"]
        slot = arena.address + fastbins.offset + index * fastbins.size
        if self.word(slot) == chunk:
            return FreeOutcome("double free or corruption (fasttop)",
                               "chunk %#x is already the first chunk of fastbin %#x"
                               % (chunk, size), "fast")
        return FreeOutcome(None, "free() would put it in fastbin %#x" % size, "fast")

    def _normal(self, arena, chunk, size):
        following = chunk + size
        top_size = self.size(arena.top)
        if chunk == arena.top:
            return FreeOutcome("double free or corruption (top)", "%#x is the top chunk" % chunk,
                               "normal")
        geometry = self.geometry
        contiguous = not arena.fields.get("flags", 0) & geometry.noncontiguous_bit
        if contiguous and following >= arena.top + top_size:
            return FreeOutcome("double free or corruption (out)",
                               "its size %#x reaches past the end of the heap" % size, "normal")
        next_field = self.size_field(following)
        if not next_field & geometry.prev_inuse:
            return FreeOutcome("double free or corruption (!prev)",
                               "the chunk after it (%#x) says it is already free" % following,
                               "normal")
        next_size = next_field & geometry.size_mask
        if next_field <= geometry.header_size or next_size >= arena.system_mem:
            return FreeOutcome("free(): invalid next size (normal)",
                               "the chunk after it (%#x) has size field %#x"
                               % (following, next_field), "normal")
        if not self.size_field(chunk) & geometry.prev_inuse:
            prev_size = self.prev_size(chunk)
            previous = (chunk - prev_size) & geometry.address_mask
            if self.size(previous) != prev_size:
                return FreeOutcome("corrupted size vs. prev_size while consolidating",
                                   "PREV_INUSE is clear and prev_size %#x does not lead to a "
                                   "chunk of that size" % prev_size, "normal")
            message = unlink_problem(self, previous)
            if message:
                return FreeOutcome(message, "merging with the free chunk before it (%#x) "
                                   "finds its links broken" % previous, "normal")
        if following != arena.top:
            if not self.size_field(following + next_size) & geometry.prev_inuse:
                message = unlink_problem(self, following)
                if message:
                    return FreeOutcome(message, "merging with the free chunk after it (%#x) "
                                       "finds its links broken" % following, "normal")
            head = self.snap.bin_head(arena, 1)
            first = self.word(head + self.fd)
            if self.word(first + self.bk) != head:
                return FreeOutcome("free(): corrupted unsorted chunks",
                                   "the unsorted bin's first chunk %#x does not link back to "
                                   "the bin" % first, "normal")
        return FreeOutcome(None, "free() would merge it and file it in the unsorted bin",
                           "normal")
