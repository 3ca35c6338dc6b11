"""The allocator's state at one stop, and the chunk walks over it.

`current()` returns the HeapSnapshot of the current stop (cached until the inferior changes):
arenas with their heaps and bins, mp_, every thread's tcache, and an index of free chunks.  The
chunks themselves are not stored: `HeapSnapshot.iter_chunks()` reads each heap segment in one
bulk read and yields Chunk objects one by one, so a million-chunk heap streams in constant memory.

The snapshot puts together what arena_ring, heap_segments and free_lists read; every chain walk
is bounded and detects cycles, and a walk that stops early records why."""

import collections

import gdb

from ..errors import HeapError, HeapReadError
from ..memory import cache
from ..target.allocator import find_allocator
from ..target import global_widths
from ..target.geometry import Geometry
from . import mmapped, native
from .arena_ring import ArenaRing
from .free_lists import FreeLists
from .heap_segments import HeapSegmentFinder
from .objects import Chunk, WalkStatus
from .scan import scan_segment


# Where a chunk lies: its arena and segment, and the chunks before and after it in the walk.
ChunkPlace = collections.namedtuple("ChunkPlace", "arena segment previous chunk following")


class HeapSnapshot:
    """The allocator's state at one stop.

    `allocator` (target.allocator.Allocator), `mp` (dict of mp_ fields), `global_max_fast`,
    `arenas` (list of Arena, main first, in `next` order), `ring_break`, `threads` (list of
    ThreadInfo), `notes` (one-line warnings met while reading), `free_index` ({chunk address:
    BinList listing it}).

    Chunks: `iter_chunks()` / `iter_segment()` (Chunk objects), `iter_segment_raw()` (tuples),
    `scan()` (a segment's chunks as columns, for listings and totals over huge heaps),
    `mmapped_chunks()`, `chunk_at(address)`, `locate(address)`."""

    def __init__(self, allocator, mem):
        self.allocator = allocator
        self.memory = mem
        self.layouts = allocator.layouts
        self._notes = []
        self._mmapped = None
        self.mp = mem.read_struct(self.layouts["par"], allocator.addresses["mp_"])
        geometry = self.geometry = Geometry(self.layouts, self.mp, allocator.release)
        self.fd_offset = geometry.fd_offset
        self.bk_offset = geometry.bk_offset
        self.size_offset = geometry.size_offset
        self.prev_size_offset = geometry.prev_size_offset
        self.global_max_fast = None
        if "global_max_fast" in allocator.addresses:
            self.global_max_fast = _global_value(self, "global_max_fast")
        ring = ArenaRing(allocator, mem, self._notes)
        main = ring.read_arena(allocator.addresses["main_arena"], True)
        if main.top == 0:
            raise HeapError("the allocator is not initialised yet (no malloc call so far)")
        self.arenas = ring.read(main)
        self.ring_break = ring.ring_break
        self._lists = FreeLists(allocator, mem, geometry, self.arenas, self._notes,
                                self.global_max_fast)
        finder = HeapSegmentFinder(mem, geometry, self.layouts, self.mp)
        for arena in self.arenas:
            finder.find(arena)
            arena.load_bins = self._lists.load
        if finder.noncontiguous_main is not None:
            finder.add_main_mmapped_segments(self, finder.noncontiguous_main)

    # The bins, the threads' tcaches and the free index are read on first use (free_lists.py).

    @property
    def threads(self):
        self._lists.load()
        return self._lists.threads_read

    @property
    def free_index(self):
        return self._lists.free_index

    @property
    def notes(self):
        self._lists.load()
        return self._notes

    def broken_list(self):
        """The first bin or tcache list (in priority order) whose walk stopped early, or None:
        the chunks it held past the break can only look in use."""
        return self._lists.first_broken()

    def bin_head(self, arena, index):
        """Address of bin `index`'s fake chunk: its fd/bk overlay bins[2i-2] and bins[2i-1]."""
        return self.geometry.bin_head(arena.address, index)

    # -- chunks -------------------------------------------------------------------------------

    def iter_segment(self, arena, segment, status):
        """Yield every Chunk of one heap segment (see iter_segment_raw)."""
        arena_address, geometry = arena.address, self.geometry
        for address, size_field, prev_size, state, chain in self.iter_segment_raw(
                arena, segment, status):
            yield Chunk(geometry, address, size_field, prev_size, state, chain, arena_address)

    def scan(self, arena, segment, status):
        """The SegmentScan of one heap segment (see scan.py), read in one bulk read."""
        lists = self._lists
        listed = lists.native_listed() if native.available() else lists.python_listed()
        return scan_segment(self.memory, self.geometry, segment.start, segment.end, arena.top,
                            listed, status)

    def iter_segment_raw(self, arena, segment, status):
        """Yield (address, size field, prev_size, state, BinList or None) for every chunk of one
        heap segment.  Stops at the segment end, at top, or at a fencepost; on an impossible
        size it stops and records the reason in `status` (a WalkStatus)."""
        return self.scan(arena, segment, status).rows(self.prev_size_offset >> 3)

    def size_state_histogram(self, arenas=None, status=None):
        """{(size, state): count} over every chunk of `arenas` (default all): the loop behind
        totals and `heap chunks --summary`, with no per-chunk object at all."""
        status = status if status is not None else WalkStatus()
        histogram = {}
        for arena, segment in self._each_segment(arenas, status):
            self.scan(arena, segment, status).add_to_histogram(histogram)
        return histogram, status

    def iter_chunks(self, arenas=None, status=None):
        """Yield (arena, segment, chunk) for every chunk of every heap of `arenas` (default all)."""
        status = status if status is not None else WalkStatus()
        for arena, segment in self._each_segment(arenas, status):
            for chunk in self.iter_segment(arena, segment, status):
                yield arena, segment, chunk

    def _each_segment(self, arenas, status):
        """(arena, segment) over `arenas` (default all); once an arena's segments are done, an
        incomplete heap list of that arena stops `status`, as a broken chunk walk would."""
        for arena in arenas if arenas is not None else self.arenas:
            for segment in arena.heaps:
                yield arena, segment
            if arena.heap_problem and status.complete:
                status.stop(arena.address, arena.heap_problem)

    def mmapped_chunks(self):
        """[Chunk] of mmapped chunks, found by scanning writable mappings and checking headers."""
        return self.mmapped_report().chunks

    def mmapped_report(self):
        """The mmapped.MmappedChunks of this stop: the chunks, and what speaks of any missed."""
        if self._mmapped is None:
            self._mmapped = mmapped.scan_mmapped(self)
        return self._mmapped

    def locate(self, address):
        """The ChunkPlace of the chunk containing `address` (header, user pointer or interior):
        its arena, segment and neighbours in the walk; mmapped chunks have no arena, segment or
        neighbours; every field None when no chunk holds `address`."""
        for arena in self.arenas:
            for segment in arena.heaps:
                if not segment.start <= address < max(segment.end, segment.start + 1):
                    continue
                previous = None
                chunks = self.iter_segment(arena, segment, WalkStatus())
                for chunk in chunks:
                    if chunk.address <= address < chunk.address + max(
                            chunk.size, self.geometry.header_size):
                        return ChunkPlace(arena, segment, previous, chunk, next(chunks, None))
                    previous = chunk
                return ChunkPlace(arena, segment, None, None, None)
        for chunk in self.mmapped_chunks():
            if chunk.address <= address < chunk.address + chunk.size:
                return ChunkPlace(None, None, None, chunk, None)
        return ChunkPlace(None, None, None, None, None)

    def chunk_at(self, address):
        """The Chunk containing `address` (header, user pointer or interior), or None."""
        return self.locate(address).chunk

    def scalar_globals(self):
        """{name: value, None when unreadable} of the allocator's scalar globals beside mp_:
        global_max_fast, narenas and tcache_key, where the target has them."""
        values = {}
        for name in ("global_max_fast", "narenas", "tcache_key"):
            if name in self.allocator.addresses:
                try:
                    values[name] = _global_value(self, name)
                except HeapReadError:
                    values[name] = None
        return values

    def position_of(self, address):
        """The BinPosition of the chunk header `address` in its first listing, or None."""
        chain = self.free_index.get(address)
        return None if chain is None else chain.bin_position(address)

    def tcache_key(self, thread=None):
        """The word tcache_put stamps into a cached chunk's key field, as `thread` would: the
        random tcache_key (glibc 2.34 on), else the thread's own tcache; None when unknown or
        unreadable."""
        if not self.geometry.tcache_key_is_random:
            return thread.tcache if thread is not None and thread.tcache else None
        try:
            return self.memory.u64(self.allocator.addresses["tcache_key"])
        except HeapReadError:
            return None

    def arena_by_address(self, address):
        for arena in self.arenas:
            if arena.address == address:
                return arena
        return None

    def selected_thread(self):
        """The ThreadInfo of gdb's selected thread, or None (no thread selected, or unknown)."""
        try:
            number = gdb.selected_thread().num
        except (gdb.error, AttributeError):
            return None
        return next((thread for thread in self.threads if thread.num == number), None)

    def selected_arena(self):
        """The arena the selected thread is attached to; main_arena when it has none."""
        thread = self.selected_thread()
        if thread is not None and thread.arena:
            found = self.arena_by_address(thread.arena)
            if found is not None:
                return found
        return self.arenas[0]


_cache = (None, None)


def _global_value(snap, name):
    """The allocator's global `name`, as wide as its symbols say (global_widths)."""
    address = snap.allocator.addresses[name]
    size = global_widths.width(snap.allocator, name)
    if size == global_widths.WORD:
        return snap.memory.u64(address)
    return int.from_bytes(snap.memory.read(address, size), "little")


def current():
    """The HeapSnapshot of the current stop (HeapError when there is nothing to inspect)."""
    global _cache
    generation = cache.generation()
    if _cache[0] == generation and _cache[1] is not None:
        return _cache[1]
    allocator = find_allocator()
    try:
        snap = HeapSnapshot(allocator, cache.current())
    except HeapReadError as error:
        raise HeapError("%s: %s" % (allocator.describe(), error)) from None
    except gdb.MemoryError as error:
        raise HeapError("cannot read memory: %s" % error) from None
    _cache = (generation, snap)
    return snap
