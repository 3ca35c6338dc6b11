"""What glibc 2.36's free() would do with a pointer, decided from the heap as it is now.

The audit predicts the abort a damaged heap will raise, and the most common "next touch" of a
damaged chunk is a free: of the chunk itself (a double or invalid free) or of its neighbour (an
overflow into the next header).  This module replays the checks of __libc_free and _int_free in
their order, reading memory instead of writing it, and answers with the message the allocator
would print, or None when free would go through (or would crash without a message).

The check order is the algorithm's, not glibc's code: documented in GLIBC-2.36-FACTS.md and the
glibc manual's description of the integrity checks."""

from . import constants as C
from .chunk_reads import ChunkReader, Unreadable
from .errors import HeapReadError


class FreeOutcome:
    """`abort` (the message, or None), `why` (one line for the finding), `path` (tcache, fast,
    normal, mmapped or None)."""

    __slots__ = ("abort", "why", "path")

    def __init__(self, abort, why, path=None):
        self.abort = abort
        self.why = why
        self.path = path


class FreeModel(ChunkReader):
    """Replays free() against one HeapSnapshot, as the thread `thread` (a ThreadInfo) would."""

    def __init__(self, snap, thread=None):
        super().__init__(snap)
        self.thread = thread
        self.entry_next = 0
        self.entry_key = C.SIZE_SZ
        entry = snap.layouts.get("tcache_entry")
        if entry is not None and entry.has("key"):
            self.entry_next = entry.offset("next")
            self.entry_key = entry.offset("key")

    def arena_of(self, chunk):
        """arena_for_chunk: the NON_MAIN_ARENA bit sends free to heap_info->ar_ptr."""
        if self.size_field(chunk) & C.NON_MAIN_ARENA:
            heap = chunk & ~(C.HEAP_MAX_SIZE - 1)
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
            return FreeOutcome(None, "free() would read unmapped memory at %s and crash" % error)

    def _free(self, mem_address):
        chunk = (mem_address - C.CHUNK_HDR_SZ) & C.MASK64
        field = self.size_field(chunk)
        if field & C.IS_MMAPPED:
            return self._munmap(chunk, mem_address)
        arena = self.arena_of(chunk)
        size = field & ~C.SIZE_BITS
        if chunk > ((-size) & C.MASK64) or chunk & (C.MALLOC_ALIGNMENT - 1):
            return FreeOutcome("free(): invalid pointer",
                               "%#x is not the start of a chunk (misaligned or wraps around)"
                               % mem_address)
        if size < C.MINSIZE or size & (C.MALLOC_ALIGNMENT - 1):
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
        block = (chunk - prev) & C.MASK64
        total = (prev + size) & C.MASK64
        offset = mem_address & (C.PAGE_SIZE - 1)
        if (block | total) & (C.PAGE_SIZE - 1) or offset & (offset - 1):
            return FreeOutcome("munmap_chunk(): invalid pointer",
                               "the header before %#x claims an mmapped chunk but its mapping "
                               "is not page aligned" % mem_address, "mmapped")
        return FreeOutcome(None, "an mmapped chunk: free() unmaps it", "mmapped")

    def _tcache_slot(self, field, index):
        """Where free() finds counts[index] or entries[index]: computed, not looked up in a
        tuple, because a corrupted mp_.tcache_bins lets glibc index past the 64 bins too."""
        layout = self.snap.layouts["tcache"]
        element = layout.fields[field].size
        return (self.thread.tcache + layout.offset(field) + index * element) & C.MASK64

    def _tcache_count(self, index):
        address = self._tcache_slot("counts", index)
        try:
            data = self.mem.read(address, 2)
        except HeapReadError:
            raise Unreadable("%#x" % address) from None
        return int.from_bytes(data, "little")

    def _tcache(self, chunk, size, mem_address):
        index = (size - C.MINSIZE + C.MALLOC_ALIGNMENT - 1) // C.MALLOC_ALIGNMENT
        if index >= self.snap.mp.get("tcache_bins", 0):
            return None
        if self.thread is None or not self.thread.tcache:
            return FreeOutcome(None, "free() would put it in the (new) tcache", "tcache")
        key = self.snap.allocator.addresses.get("tcache_key")
        key_value = self.word(key) if key is not None else None
        limit = self.snap.mp.get("tcache_count", 7)
        if key_value is not None and self.word(mem_address + self.entry_key) == key_value:
            entry = self.word(self._tcache_slot("entries", index))
            count = 0
            seen = set()
            while entry:
                if count >= limit or entry in seen:
                    # A cycle keeps glibc counting until it passes the limit: the same abort.
                    return FreeOutcome("free(): too many chunks detected in tcache",
                                       "its tcache bin %#x holds more than %d entries"
                                       % (size, limit), "tcache")
                if entry & (C.MALLOC_ALIGNMENT - 1):
                    return FreeOutcome("free(): unaligned chunk detected in tcache 2",
                                       "its tcache bin %#x leads to the misaligned entry %#x"
                                       % (size, entry), "tcache")
                if entry == mem_address:
                    return FreeOutcome("free(): double free detected in tcache 2",
                                       "chunk %#x is already in tcache bin %#x (entry %d)"
                                       % (chunk, size, count), "tcache")
                seen.add(entry)
                entry = self.word(entry + self.entry_next) ^ (entry >> 12)
                count += 1
        if self._tcache_count(index) < limit:
            return FreeOutcome(None, "free() would put it in tcache bin %#x" % size, "tcache")
        return None

    def _fast(self, arena, chunk, size):
        following = chunk + size
        next_field = self.size_field(following)
        if next_field <= C.CHUNK_HDR_SZ or next_field & ~C.SIZE_BITS >= arena.system_mem:
            return FreeOutcome("free(): invalid next size (fast)",
                               "the chunk after it (%#x) has size field %#x"
                               % (following, next_field), "fast")
        index = size // 16 - 2
        # Computed like glibc's fastbin(), so a corrupted global_max_fast cannot index past the
        # ten fastbins of the tuple: it reads (and compares) what glibc would read.
        slot = arena.address + self.snap.layouts["state"].offset("fastbinsY") + index * 8
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
        contiguous = not arena.fields.get("flags", 0) & C.NONCONTIGUOUS_BIT
        if contiguous and following >= arena.top + top_size:
            return FreeOutcome("double free or corruption (out)",
                               "its size %#x reaches past the end of the heap" % size, "normal")
        next_field = self.size_field(following)
        if not next_field & C.PREV_INUSE:
            return FreeOutcome("double free or corruption (!prev)",
                               "the chunk after it (%#x) says it is already free" % following,
                               "normal")
        next_size = next_field & ~C.SIZE_BITS
        if next_field <= C.CHUNK_HDR_SZ or next_size >= arena.system_mem:
            return FreeOutcome("free(): invalid next size (normal)",
                               "the chunk after it (%#x) has size field %#x"
                               % (following, next_field), "normal")
        if not self.size_field(chunk) & C.PREV_INUSE:
            prev_size = self.prev_size(chunk)
            previous = (chunk - prev_size) & C.MASK64
            if self.size(previous) != prev_size:
                return FreeOutcome("corrupted size vs. prev_size while consolidating",
                                   "PREV_INUSE is clear and prev_size %#x does not lead to a "
                                   "chunk of that size" % prev_size, "normal")
            message = self.unlink_problem(previous)
            if message:
                return FreeOutcome(message, "merging with the free chunk before it (%#x) "
                                   "finds its links broken" % previous, "normal")
        if following != arena.top:
            if not self.size_field(following + next_size) & C.PREV_INUSE:
                message = self.unlink_problem(following)
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

    def unlink_problem(self, chunk):
        """The message unlink_chunk() would abort with when taking `chunk` out of its bin."""
        size = self.size(chunk)
        if self.prev_size(chunk + size) != size:
            return "corrupted size vs. prev_size"
        forward = self.word(chunk + self.fd)
        backward = self.word(chunk + self.bk)
        if self.word(forward + self.bk) != chunk or self.word(backward + self.fd) != chunk:
            return "corrupted double-linked list"
        if size >= C.MIN_LARGE_SIZE and self.word(chunk + self.fd_nextsize):
            next_group = self.word(chunk + self.fd_nextsize)
            prev_group = self.word(chunk + self.bk_nextsize)
            if self.word(next_group + self.bk_nextsize) != chunk or \
                    self.word(prev_group + self.fd_nextsize) != chunk:
                return "corrupted double-linked list (not small)"
        return None
