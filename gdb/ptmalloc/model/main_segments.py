"""The segments of a non-contiguous main arena: the sbrk heap and the mmapped memory it went on in.

When sbrk fails (a mapping above the break, RLIMIT_DATA, hugetlb), glibc 2.36 continues the main
arena in anonymous mappings and sets NONCONTIGUOUS.  Nothing in the arena lists those mappings:
each one starts with a chunk header at its first byte, and each abandoned top was closed with two
0x10|PREV_INUSE fenceposts filling the mapping's last 32 bytes (freeing the shrunk old top
clears the first one's PREV_INUSE), so a segment ends either with
that double fencepost or with top.  The kernel often places the mappings next to each other and
next to mmapped chunks, and /proc/PID/maps (or the core's sections) then shows them merged, so a
segment's start is found by walking a region from its start, unit by unit (an mmapped chunk is
skipped whole: IS_MMAPPED, prev_size 0, a page-multiple size), never by trusting a region start.

Which regions to walk: those holding top or a free chunk of the main arena that no known heap
holds; then, if the segments found hold less than system_mem, every other anonymous writable
region, where only a segment closed by its double fencepost is accepted."""

from .. import constants as C
from ..errors import HeapReadError
from .objects import HeapSegment

# Past bytes the walk cannot read, the search tries each following page, within these bounds.
MAX_RESYNC_PAGES = 1 << 14
MAX_RESYNC_STEPS = 1 << 22


class _Region:
    """One run of adjacent writable memory, read in one piece: its chunk headers are walked
    with word indexing, as the segment scan does.  Only its first `span` bytes are read: what
    the allocator holds there (its own count of bytes: the arena's system_mem, and mp_'s
    mmapped_mem for mmapped chunks between segments) bounds what a walk can cross."""

    def __init__(self, mem, geometry, start, end, span):
        self.geometry = geometry
        # A fencepost: a header-sized chunk whose predecessor is in use.
        self.fencepost = geometry.header_size | geometry.prev_inuse
        self.start = start
        self.end = min(end, start + max(span, 0))
        self.truncated = self.end < end
        self.words = memoryview(mem.read_segment(start, (self.end - start) & ~7)).cast("Q")

    def word(self, address):
        return self.words[(address - self.start) >> 3]

    def mmapped_chunk_end(self, address):
        """End of the mmapped chunk whose mapping starts at `address`, or None."""
        geometry = self.geometry
        if address + geometry.header_size > self.end or \
                self.word(address + geometry.prev_size_offset) != 0:
            return None
        field = self.word(address + geometry.size_offset)
        size = field & geometry.size_mask
        if field & geometry.size_bits != geometry.is_mmapped_bit or not size or \
                size % geometry.page_size or address + size > self.end:
            return None
        return address + size

    def starts_like_a_segment(self, address, top):
        """The first header of a fresh mapping: prev_size 0, PREV_INUSE set, a main-arena
        chunk of at least MINSIZE (or top itself), of an aligned size."""
        geometry = self.geometry
        if address + 2 * geometry.header_size > self.end or \
                self.word(address + geometry.prev_size_offset) != 0:
            return False
        first = self.word(address + geometry.size_offset)
        unexpected = geometry.is_mmapped_bit | geometry.non_main_arena | \
            (geometry.alignment_mask & geometry.size_mask)
        return not first & unexpected and bool(first & geometry.prev_inuse) and \
            ((first & geometry.size_mask) >= geometry.min_chunk_size or address == top)

    def segment_walk(self, address, top, top_size, limit, budget=C.MAX_CHAIN_LENGTH):
        """Walk an arena segment from `address` (its mapping start) towards `limit`, for at most
        `budget` chunks: ("top" | "fenced", end, steps) when it ends as a segment must,
        ("broken", where, steps) when a chunk size leads nowhere, None when `address` does not
        even start like a segment."""
        geometry = self.geometry
        header = geometry.header_size
        if address + 2 * header > limit or not self.starts_like_a_segment(address, top):
            return None
        words, base = self.words, self.start
        size_word = geometry.size_offset >> 3
        unexpected = geometry.is_mmapped_bit | (geometry.alignment_mask & geometry.size_mask)
        chunk = address
        for step in range(budget):
            if chunk == top:
                end = top + top_size
                return ("top", end, step) if end <= limit else ("broken", chunk, step)
            if chunk + header > limit:
                return "broken", chunk, step
            field = words[((chunk - base) >> 3) + size_word]
            size = field & geometry.size_mask
            if field & unexpected or not size:
                return "broken", chunk, step
            if size == header:
                closing = chunk + 2 * header
                # Freeing the shrunk old top clears the first fencepost's PREV_INUSE.
                if field & geometry.non_main_arena == 0 and closing <= limit and \
                        words[((chunk + header - base) >> 3) + size_word] == self.fencepost:
                    return "fenced", closing, step
                return "broken", chunk, step
            if chunk + size > limit:
                return "broken", chunk, step
            chunk += size
        return "broken", chunk, budget


def _inside(address, ranges):
    return any(low <= address < high for low, high in ranges)


class MainSegmentFinder:
    """Finds the segments of a non-contiguous main arena (see the module's docstring)."""

    def __init__(self, snap, arena, known_ranges):
        self.snap = snap
        self.mem = snap.memory
        self.geometry = snap.geometry
        self.arena = arena
        self.known = list(known_ranges)  # [(low, high)] no segment may overlap
        self.found = []
        self.problems = []

    def _runs(self):
        return self.mem.runs()

    def _run_of(self, address):
        for start, end in self._runs():
            if start <= address < end:
                return start, end
        return None

    def _next_known_start(self, address, end):
        starts = [low for low, _high in self.known if address <= low < end]
        return min(starts) if starts else end

    def _known_end(self, address):
        for low, high in self.known:
            if low <= address < high:
                return high
        return None

    def _span(self):
        """The most bytes from a mapping's start that segments and the mmapped chunks between
        them can fill, by the allocator's own counts, page-rounded."""
        page = self.geometry.page_size
        span = self.arena.system_mem + self.snap.mp.get("mmapped_mem", 0)
        return (span + page - 1) // page * page

    def walk_region(self, start, end, strict):
        """Add every segment of the run [start, end); `strict` accepts only segments closed by
        their double fencepost or ending at top, and stops at the first unknown bytes."""
        try:
            region = _Region(self.mem, self.geometry, start, end, self._span())
        except HeapReadError as error:
            self.problems.append("region %#x-%#x: %s" % (start, end, error))
            return
        address = start
        while address + self.geometry.header_size <= region.end:
            known_end = self._known_end(address)
            if known_end is not None:
                address = self.geometry.page_align_up(known_end)
                continue
            limit = min(self._next_known_start(address, region.end), region.end)
            walked = self._unit(region, address, limit, C.MAX_CHAIN_LENGTH)
            if walked is not None and walked[0] != "broken":
                address = walked[1]
                continue
            if strict:
                return
            following = self._next_unit(region, address, limit)
            if walked is not None:
                # A segment damaged inside: it reaches to the next unit that walks cleanly, and
                # its own chunk walk will stop and say where.
                self.problems.append("the main arena's segment at %#x cannot be walked past %#x"
                                     % (address, walked[1]))
                self._add(address, following)
            address = following

    def _unit(self, region, address, limit, budget):
        """Walk one unit at `address`: an mmapped chunk (skipped), or a segment (recorded when
        it ends as a segment must); the segment walk's verdict, or None when neither starts
        there."""
        mapped_end = region.mmapped_chunk_end(address)
        if mapped_end is not None and mapped_end <= limit:
            return "mmapped", mapped_end
        walked = region.segment_walk(address, self.arena.top, self.arena.top_size, limit, budget)
        if walked is not None and walked[0] != "broken":
            self._add(address, walked[1])
        return walked

    def _next_unit(self, region, address, limit):
        """The first page after `address` where a unit walks cleanly (`limit` if none): where
        the search goes on past bytes the walk cannot read."""
        budget = MAX_RESYNC_STEPS
        candidate = self.geometry.page_align_up(address + 1)
        top, top_size = self.arena.top, self.arena.top_size
        for _page in range(MAX_RESYNC_PAGES):
            if candidate + self.geometry.header_size > limit or budget <= 0:
                break
            if region.mmapped_chunk_end(candidate) is not None:
                return candidate
            if region.starts_like_a_segment(candidate, top):
                walked = region.segment_walk(candidate, top, top_size, limit, budget)
                budget -= walked[2] + 1
                if walked[0] != "broken":
                    return candidate
            candidate += self.geometry.page_size
        return limit

    def _add(self, start, end):
        self.found.append(HeapSegment(None, start, end, kind="mmap"))
        self.known.append((start, end))

    def search(self, seeds):
        """Walk the runs holding a seed (top, free chunks outside every known heap)."""
        walked_runs = set()
        for seed in sorted(seeds):
            if _inside(seed, self.known):
                continue
            run = self._run_of(seed)
            if run is None or run in walked_runs:
                continue
            walked_runs.add(run)
            self.walk_region(run[0], run[1], strict=False)
        return walked_runs

    def _starts_like_a_unit(self, address):
        """A cheap look at a run's first header before reading the whole run."""
        geometry = self.geometry
        try:
            prev_size = self.mem.u64(address + geometry.prev_size_offset)
            field = self.mem.u64(address + geometry.size_offset)
        except HeapReadError:
            return False
        flags = field & (geometry.size_bits | geometry.alignment_mask)
        return prev_size == 0 and flags in (geometry.prev_inuse, geometry.is_mmapped_bit)

    def search_everywhere(self, skip_runs):
        """Walk every other anonymous writable run, accepting only well-closed segments."""
        named = {}
        for start, end, name in self.mem.regions():
            named.setdefault(name, []).append((start, end))
        for start, end in self._runs():
            if (start, end) in skip_runs or _inside(start, self.known):
                continue
            if _named_run(start, end, named) or not self._starts_like_a_unit(start):
                continue
            self.walk_region(start, end, strict=True)


def _named_run(start, end, named):
    """True when the run holds a file mapping or a special region: no mmap fallback is there."""
    for name, ranges in named.items():
        if not name or name.startswith("load"):
            continue
        if any(low < end and start < high for low, high in ranges):
            return True
    return False


def segment_bytes(segment, sbrk_base):
    """The bytes system_mem counts for a segment: from its mapping (or sbrk_base) to its end."""
    if segment.kind == "sbrk":
        return segment.end - sbrk_base
    return segment.end - segment.start


def find_mmapped_segments(snap, arena, known_ranges, seeds):
    """([HeapSegment] of the main arena outside the sbrk heap, [problem]).  The segment holding
    top comes last (it is the newest); the others follow in address order."""
    finder = MainSegmentFinder(snap, arena, known_ranges)
    walked = finder.search(seeds)
    sbrk_total = sum(segment_bytes(s, snap.mp.get("sbrk_base", 0)) for s in arena.heaps)
    found_total = sum(segment.end - segment.start for segment in finder.found)
    if sbrk_total + found_total < arena.system_mem:
        finder.search_everywhere(walked)
    segments = sorted(finder.found, key=lambda s: (s.start <= arena.top < s.end, s.start))
    return segments, finder.problems



def sbrk_heap_walk(mem, geometry, start, limit, span):
    """How the sbrk heap of a non-contiguous main arena ends: ("fenced", end, steps) when its
    walk meets the double fencepost, else ("broken", where, steps) or None (see
    _Region.segment_walk); `span` is the arena's system_mem, which the heap cannot exceed."""
    region = _Region(mem, geometry, start, limit, span)
    return region.segment_walk(start, None, 0, region.end)
