"""Finding each arena's heap segments: the main arena's sbrk heap (and, when it went
non-contiguous, the mmapped memory it went on in), a thread arena's chain of heap_info heaps.

Every bound comes from the allocator's own state (top, system_mem, heap_info sizes, the heap
size of mp_) and the mappings; a chain that cannot be followed records why on the arena
(`heap_problem`), the first reason being the one reported."""

from .. import constants as C
from ..errors import HeapReadError
from . import main_segments, native_live, problems
from .objects import HeapSegment
from .pass_one import walked_length
from .problems import HeapStop


def prefetch_segment(memory, segment):
    """Read a heap segment in bulk now, so that bin walks find their links in memory; not a
    segment walked a window at a time, whose links the walks read page by page."""
    length = walked_length(segment.start, segment.end)
    if length and not native_live.windowed(memory, segment.start, length):
        try:
            memory.read_segment(segment.start, length)
        except HeapReadError:
            pass  # reported by the chunk walk, which reads the same range


class HeapSegmentFinder:
    """Fills `arena.heaps` (and `top_size`, `heap_problem`) for each arena of a stop; a main
    arena whose top left its sbrk heap is kept in `noncontiguous_main` for
    add_main_mmapped_segments, which needs the free lists."""

    def __init__(self, memory, geometry, layouts, mp):
        self.memory = memory
        self.geometry = geometry
        self.layouts = layouts
        self.mp = mp
        self.noncontiguous_main = None

    def _chunk_size_at(self, address):
        return self.geometry.chunk_size(self.memory.u64(address + self.geometry.size_offset))

    def find(self, arena):
        try:
            arena.top_size = self._chunk_size_at(arena.top)
        except HeapReadError as error:
            arena.heap_problem = problems.Problem(HeapStop.TOP_UNREADABLE, arena.top,
                                                  "top %#x: %s" % (arena.top, error))
            if not error.missing:
                return
            # A core that lacks top may still hold the heap below it: the heaps end at top,
            # and their walks list what the core holds.
            arena.top_size = 0
        if arena.is_main:
            self._main_heap(arena)
        else:
            self._thread_heaps(arena)

    def _initial_top(self, arena):
        return self.geometry.bin_head(arena.address, 1)

    def _note_heap_problem(self, arena, problem, kind=HeapStop.HEAP_INFO, address=None):
        """The first reason an arena's heap list is incomplete is the one reported."""
        if arena.heap_problem is None:
            self._set_heap_problem(arena, problem, kind, address)

    @staticmethod
    def _set_heap_problem(arena, problem, kind=HeapStop.HEAP_INFO, address=None):
        """A heap_info chain that cannot go on says so, whatever a heap before it said."""
        arena.heap_problem = problems.Problem(kind, address, problem)

    def _segment_limit(self, start, cap):
        """Where a segment starting at `start` must end at the latest: the end of its mapping,
        and never beyond `cap`; `start` itself when nothing is mapped there."""
        mapped_end = self.memory.mapped_end(start)
        if mapped_end is None:
            return cap
        return min(mapped_end, cap)

    def _bounded_top_end(self, arena, limit):
        end = arena.top + arena.top_size
        if end > limit:
            self._note_heap_problem(arena, "top %#x has size %#x, which runs past the end of its "
                                    "heap at %#x" % (arena.top, arena.top_size, limit),
                                    HeapStop.TOP_PAST_HEAP, arena.top)
            return limit
        return end

    def _main_heap(self, arena):
        sbrk_base = self.mp.get("sbrk_base", 0)
        if not sbrk_base or arena.top == self._initial_top(arena):
            return  # nothing has come from sbrk yet
        start = self.geometry.first_chunk_after(sbrk_base)
        # The sbrk heap ends where its mapping does (a foreign sbrk can leave it longer than
        # system_mem); only when the mappings are unknown does the allocator's count bound it.
        limit = self.memory.mapped_end(start)
        if limit is None:
            limit = self._sbrk_heap_bound(arena, start)
        if limit <= start:
            self._note_heap_problem(arena, "mp_.sbrk_base %#x is not in mapped memory" % sbrk_base,
                                    HeapStop.SEGMENT, sbrk_base)
            return
        if start <= arena.top < limit:
            arena.heaps.append(HeapSegment(None, start, self._bounded_top_end(arena, limit)))
            return
        # Top has left the sbrk heap: the arena went on in mmapped memory (non-contiguous), and
        # the sbrk heap ends with the double fencepost that closed its last top.
        try:
            walked = main_segments.sbrk_heap_walk(self.memory, self.geometry, start, limit,
                                                  arena.system_mem)
        except HeapReadError as error:
            walked = ("broken", start)
            self._note_heap_problem(arena, "the sbrk heap at %#x: %s" % (start, error),
                                    HeapStop.SEGMENT, start)
        end = walked[1] if walked is not None and walked[0] == "fenced" else \
            min(limit, start + arena.system_mem)
        arena.heaps.append(HeapSegment(None, start, end))
        self.noncontiguous_main = arena

    @staticmethod
    def _sbrk_heap_bound(arena, start):
        """How far the sbrk heap may reach when the mappings do not say: the bytes the arena
        got from the system (system_mem counts every sbrk'd byte), or top's end when top lies
        in them and says more."""
        bound = start + arena.system_mem
        if start <= arena.top < bound:
            bound = max(bound, arena.top + arena.top_size)
        return bound

    def add_main_mmapped_segments(self, snap, arena):
        """Add the mmapped segments of a non-contiguous main arena (see main_segments.py): the
        search starts from top and the arena's free chunks, so `snap`'s free lists are read."""
        known = []
        for other in snap.arenas:
            for segment in other.heaps:
                if segment.info is not None:
                    known.append((segment.address, segment.address + max(
                        segment.info.get("mprotect_size") or 0, segment.end - segment.address)))
                else:
                    known.append((segment.start, segment.end))
        seeds = [arena.top] + list(snap.free_index)
        try:
            found, found_problems = main_segments.find_mmapped_segments(snap, arena, known, seeds)
        except HeapReadError as error:
            found, found_problems = [], ["the main arena's mmapped segments: %s" % error]
        arena.heaps.extend(found)
        for segment in found:
            prefetch_segment(self.memory, segment)
        if found_problems:
            self._note_heap_problem(arena, found_problems[0], HeapStop.SEGMENT)
        if not any(segment.start <= arena.top < segment.end for segment in arena.heaps):
            self._note_heap_problem(arena, "top %#x of the non-contiguous main arena is in no "
                                    "segment found" % arena.top, HeapStop.SEGMENT, arena.top)
            return
        total = sum(main_segments.segment_bytes(s, self.mp.get("sbrk_base", 0))
                    for s in arena.heaps)
        if total != arena.system_mem:
            self._note_heap_problem(arena, "the main arena's %d segments hold %#x bytes but its "
                                    "system_mem is %#x: a segment may be missing" % (
                                        len(arena.heaps), total, arena.system_mem),
                                    HeapStop.SEGMENT)

    def _thread_heaps(self, arena):
        info_layout = self.layouts["heap_info"]
        geometry = self.geometry
        heaps = []
        seen = set()
        address = geometry.heap_of(arena.top)
        while address:
            if address in seen:
                self._set_heap_problem(arena, "heap_info chain has a cycle at %#x" % address,
                                       address=address)
                break
            if len(heaps) >= C.MAX_HEAPS_PER_ARENA:
                self._set_heap_problem(arena, "heap_info chain stopped after %d heaps"
                                       % len(heaps))
                break
            seen.add(address)
            try:
                info = self.memory.read_struct(info_layout, address)
            except HeapReadError as error:
                self._set_heap_problem(arena, "heap_info at %#x: %s" % (address, error),
                                       address=address)
                break
            if info["ar_ptr"] != arena.address:
                self._set_heap_problem(arena, "heap_info at %#x belongs to arena %#x" % (
                    address, info["ar_ptr"]), address=address)
                break
            limit = self._segment_limit(address, address + geometry.heap_max_size)
            if limit <= address + info_layout.size:
                self._note_heap_problem(arena, "heap_info at %#x is not in mapped memory"
                                        % address, address=address)
                break
            if arena.address == address + info_layout.size:
                start = geometry.first_chunk_after(arena.address + self.layouts["state"].size)
            else:
                start = geometry.first_chunk_after(address + info_layout.size)
            end = address + info["size"]
            if end > limit:
                self._note_heap_problem(arena, "heap_info at %#x has size %#x, more than its "
                                        "mapping (%#x bytes) or the heap size %#x allow" % (
                                            address, info["size"], limit - address,
                                            geometry.heap_max_size), address=address)
                end = limit
            if address <= arena.top < limit:
                end = self._bounded_top_end(arena, limit)
            heaps.append(HeapSegment(address, start, end, info))
            address = info["prev"]
            if geometry.heap_of(address) != address:
                self._note_heap_problem(arena, "heap_info at %#x has prev %#x, which is not "
                                        "aligned to the heap size %#x" % (
                                            heaps[-1].address, address, geometry.heap_alignment),
                                        address=heaps[-1].address)
                break
        heaps.reverse()
        arena.heaps = heaps
