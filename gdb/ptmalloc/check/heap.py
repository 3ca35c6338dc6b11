"""The heap check's rules over heap segments: each segment's chunk walk and the rules of single
chunks (sizes, PREV_INUSE and prev_size, the NON_MAIN_ARENA bit, fenceposts); heap_info, top and
system_mem are arena_bounds.py's.  A mixin of audit.Audit, which supplies `add`, `word`,
`predict_free`, `walked`, `suspect` and `broken_arenas`."""

from ..errors import HeapReadError
from ..model.objects import HeapSegment, WalkStatus
from ..model.states import BINNED, CACHED_OR_IN_USE, ChunkState
from .findings import Rule
from .rows import Rows as _Rows


class HeapRules:
    def _walk_segment(self, arena, segment):
        bound = self._heap_bound(arena, segment)
        if bound is not None and segment.end > bound:
            segment = HeapSegment(segment.address, segment.start, bound, segment.info,
                                  segment.kind)
        status = WalkStatus()
        top_heap = segment.start <= arena.top < max(segment.end, segment.start + 1)
        scan = self.snap.scan(arena, segment, status)
        self.segment_scans.append(scan)
        rows = _Rows(self.snap, scan, arena.address)
        rows.record_walked(self.walked)
        for row in rows.suspicious(arena.is_main):
            self._check_chunk(arena, segment, rows.chunk(row), rows.chunk(row - 1), top_heap)
        previous = rows.chunk(len(rows.scan) - 1)
        last_end = previous.address + previous.size if previous is not None else segment.start
        self._report_resumed_walk(segment, status, rows)
        if status.unheld:
            # The rest of the segment is not in the core: where its walk would end is unknown.
            for start, end, why in status.unheld:
                self.not_checked(start, end, why)
            self.broken_arenas.add(arena.address)
            return
        if status.stopped_at is not None:
            self._walk_stopped(arena, segment, status, previous)
            return
        if top_heap and rows.scan.top_row < 0 and arena.top != self._initial_top(arena):
            # A grown size leads the walk into the middle of a neighbour: freeing the grown chunk
            # is where glibc meets the damage.
            predicted = None
            if previous is not None and previous.state == ChunkState.IN_USE:
                predicted = self.predict_free(previous.address)
            self.add(Rule.HEAP_WALK, last_end,
                     "the walk of the heap at %#x ends at %#x (size 0) before reaching top %#x%s"
                     % (segment.start, last_end, arena.top,
                        "; the chunk before it (%#x, size %#x) may have had its size enlarged"
                        % (previous.address, previous.size) if previous is not None else ""),
                     predicted)
            self.broken_arenas.add(arena.address)
        elif not top_heap and segment.address is not None:
            self._check_fencepost(arena, segment, last_end)
        elif not top_heap and last_end != segment.end:
            self.add(Rule.HEAP_WALK, last_end,
                     "the walk of the main arena's segment at %#x stops at %#x, not at its "
                     "closing fenceposts before %#x" % (segment.start, last_end, segment.end))
            self.broken_arenas.add(arena.address)

    def _report_resumed_walk(self, segment, status, rows):
        """What a walk resumed past damage stepped over (scan.py, resync.py)."""
        for start, end, why, bad in status.gaps:
            self.walk_gaps.append((start, end))
            # The header at the gap's start is the next chunk of the one before it: freeing
            # that one (if in use) is where glibc meets the damage, as it checks the next size.
            before = rows.chunk_ending_at(start)
            predicted = None
            if before is not None and before.state == ChunkState.IN_USE:
                predicted = self.predict_free(before.address)
            try:
                field = self.word(bad + self.snap.size_offset)
            except HeapReadError:
                field = 0
            if field & self.geometry.size_mask:
                self.add(Rule.CHUNK_SIZE, bad,
                         "chunk at %#x has size field %#x: not a valid chunk size inside its heap"
                         "%s; the walk resumes at %#x, chunks up to there cannot be listed"
                         % (bad, field, "; the chunk before it (%#x) may have overflowed into it"
                            % before.address if before is not None else "", end), predicted)
            else:
                self.add(Rule.HEAP_WALK, start,
                         "the walk of the heap at %#x cannot read chunks from %#x to %#x: %s"
                         % (segment.start, start, end, why), predicted)
        for address, size, next_header in status.overruns:
            self.add(Rule.CHUNK_SIZE, address,
                     "chunk at %#x has size %#x, which runs past the next chunk header %#x "
                     "(proved by its chain of sizes): its size was enlarged"
                     % (address, size, next_header), self.predict_free(address))

    def _heap_bound(self, arena, segment):
        if segment.info is not None:
            return segment.address + segment.info["size"]
        if arena.is_main and not arena.fields.get("flags", 0) & self.geometry.noncontiguous_bit:
            return self.snap.mp["sbrk_base"] + arena.system_mem
        return None

    def _initial_top(self, arena):
        return self.snap.bin_head(arena, 1)

    def _walk_stopped(self, arena, segment, status, previous):
        self.broken_arenas.add(arena.address)
        address = status.stopped_at
        try:
            field = self.word(address + self.snap.size_offset)
        except HeapReadError:
            field = None
        what = "size field %#x" % field if field is not None else "an unreadable header"
        predicted = None
        if previous is not None and previous.state == ChunkState.IN_USE:
            predicted = self.predict_free(previous.address)
        if predicted is None or not predicted.meets_a_check():
            predicted = self.predict_free(address)
        self.add(Rule.CHUNK_SIZE, address,
                 "chunk at %#x has %s: not a valid chunk size inside its heap (%s); the chunk "
                 "before it (%s) may have overflowed into it" % (
                     address, what, status.problem,
                     "%#x" % previous.address if previous is not None else "none"),
                 predicted)

    def _check_fencepost(self, arena, segment, last_end):
        """A heap that is no longer the top one ends in the 0x10 chunk and the 0|P fencepost."""
        fencepost = segment.end - self.geometry.header_size
        if last_end != fencepost:
            self.add(Rule.HEAP_WALK, last_end,
                     "the walk of heap %#x stops at %#x, not at its closing fencepost %#x"
                     % (segment.address, last_end, fencepost))
            self.broken_arenas.add(arena.address)

    def _check_chunk(self, arena, segment, chunk, previous, top_heap):
        """The rules of one chunk that _Rows.suspicious picked out; `previous` is the chunk
        before it in the walk (None for the first)."""
        geometry = self.geometry
        size = chunk.size
        if size < geometry.min_chunk_size and chunk.state != ChunkState.TOP:
            if not _is_fencepost(geometry, chunk, segment, top_heap):
                self.add(Rule.CHUNK_SIZE, chunk.address,
                         "chunk at %#x has size %#x, below the minimum %#x" % (
                             chunk.address, size, geometry.min_chunk_size),
                         self.predict_free(chunk.address))
            return
        # When a thread arena moves to a new heap with less than MINSIZE left in the old top,
        # sysmalloc closes the old heap with what is left as one chunk without NON_MAIN_ARENA,
        # just before the 0|PREV_INUSE fencepost: nothing frees it, so the bit is no damage.
        closing_remainder = (not top_heap and segment.info is not None and
                             chunk.address + size == segment.end - geometry.header_size)
        if chunk.state in CACHED_OR_IN_USE and not closing_remainder:
            want = 0 if arena.is_main else geometry.non_main_arena
            if chunk.size_field & geometry.non_main_arena != want:
                self.add(Rule.ARENA_BIT, chunk.address,
                         "chunk at %#x %s the NON_MAIN_ARENA bit but lives in %s %#x: free() "
                         "would hand it to the wrong arena" % (
                             chunk.address, "has" if not want else "lacks", arena.label(),
                             arena.address))
        if chunk.size_field & geometry.prev_inuse:
            if previous is not None and previous.state in BINNED and \
                    previous.address not in self.suspect:
                predicted = self.touches.taking_from(previous.state, _ListOf(previous),
                                                     arena) \
                    if previous.state != ChunkState.TCACHE else None
                self.add(Rule.BIN_IN_USE, previous.address,
                         "chunk at %#x is in the %s but the next chunk %#x marks it in use "
                         "(PREV_INUSE set)" % (previous.address, previous.state, chunk.address),
                         predicted)
            return
        if previous is None:
            self.add(Rule.PREV_INUSE_CLEAR, chunk.address,
                     "first chunk %#x of its heap has PREV_INUSE clear: there is nothing before "
                     "it to merge with" % chunk.address, self.predict_free(chunk.address))
            return
        if previous.state not in BINNED:
            what = "in use" if previous.state == ChunkState.FREE else "in the " + previous.state
            self.add(Rule.PREV_INUSE_CLEAR, chunk.address,
                     "chunk at %#x has PREV_INUSE clear, but the chunk before it (%#x, size %#x) "
                     "is %s: a one-byte overflow (NUL) from it?" % (
                         chunk.address, previous.address, previous.size, what),
                     self.predict_free(chunk.address))
            return
        if chunk.prev_size != previous.size:
            self.add(Rule.PREV_SIZE, chunk.address,
                     "chunk at %#x has prev_size %#x but the free chunk before it is %#x bytes"
                     % (chunk.address, chunk.prev_size, previous.size),
                     self.touches.free(chunk.address) if chunk.state == ChunkState.IN_USE else
                     self.touches.taking_from(previous.state, _ListOf(previous), arena))


class _ListOf:
    """The list a binned chunk is in, as touches.taking_from needs it: the sizes it holds."""

    def __init__(self, chunk):
        self.size = chunk.size
        self.size_range = (chunk.size, chunk.size)


def _is_fencepost(geometry, chunk, segment, top_heap):
    """A chunk below MINSIZE that closes a heap no longer holding top: the header-sized chunk
    before a thread heap's 0|PREV_INUSE fencepost, or either header-sized fencepost ending a
    segment of the main arena (sbrk heap or mmapped) that sysmalloc left behind."""
    header = geometry.header_size
    if top_heap or chunk.size != header:
        return False
    closing = segment.end - chunk.address
    if segment.info is not None:
        return closing == 2 * header
    return closing in (header, 2 * header)

