"""Any range of the inferior's memory read in bulk, with what could not be read said, not skipped.

`heap refs` reads every writable mapping of the program, not only heaps: a range may run into
pages a core does not hold (coredump_filter, a core file cut short) or, live, pages the kernel
refuses.  `readable_parts` hands back the parts that were read, as buffers the C helper can
scan, and each part that was not, with the reason in the user's words.  `core_file_parts` does
the same for a core without reading: the parts the core file holds are handed back as places in
the file, for a reader that copies them out piece by piece (a core's gigabytes of mostly untouched
memory cost a page fault per page when mapped)."""

import collections

from ..errors import HeapReadError
from .core_file import inferior_is_core

# [address, address + length) of the inferior's memory is the core file's bytes at `offset` of
# the open file `fd`.
FilePart = collections.namedtuple("FilePart", "address length fd offset")

# A live range that fails as a whole is read again in pieces of this size, then page by page,
# so one bad page costs only itself.
_PIECE = 1 << 20
_PAGE = 4096


def readable_parts(mem, start, end):
    """([(address, buffer)] read, [(start, end, why)] not read) for [start, end), both in
    address order.  Each buffer is writable, 8-byte aligned in the inferior and a whole number
    of words when `start` and `end` are; it is cached by `mem` for the rest of the stop.  What
    the walk has already read (a heap segment) is used as it is, not read twice: a thread's
    heap mapping is its segment plus the few headers before the first chunk."""
    parts, unread = [], []
    cursor = start
    for cached_start, data in mem.word_segments():
        cached_end = cached_start + len(data)
        if cached_end <= cursor or cached_start >= end:
            continue
        _uncached(mem, cursor, max(cursor, min(cached_start, end)), parts, unread)
        low, high = max(cursor, cached_start), min(end, cached_end)
        parts.append((low, memoryview(data)[low - cached_start:high - cached_start]))
        cursor = high
    _uncached(mem, cursor, end, parts, unread)
    return parts, unread


def _uncached(mem, start, end, parts, unread):
    if end <= start:
        return
    found, lost = _core_parts(mem, start, end) if inferior_is_core() else \
        _live_parts(mem, start, end, _PIECE)
    parts += found
    unread += lost


def core_file_parts(mem, start, end):
    """([FilePart or (address, buffer)], [(start, end, why)] not read) for [start, end) of a
    core, in address order: each part the core file holds, within one of its sections that gdb
    vouches for, as a FilePart, any other part read as readable_parts reads it."""
    return _core_parts(mem, start, end, as_file=True)


def _core_parts(mem, start, end, as_file=False):
    """The parts the core file holds, and the reason for each part it lacks; `as_file`: parts
    as FileParts where the file can serve them."""
    regions = mem.core_regions()
    if regions is None:
        return _live_parts(mem, start, end, _PIECE)
    parts, unread = [], []
    cursor = start
    while cursor < end:
        held = regions.held_length(cursor, end - cursor)
        if held:
            extent = None
            if as_file:
                # One segment at a time: a file extent lies in one section.
                held = min(held, regions.segment_of(cursor).held_end - cursor)
                extent = mem.core_file_extent(cursor, held)
            if extent is not None:
                parts.append(FilePart(cursor, held, *extent))
            else:
                _read_into(mem, cursor, cursor + held, parts, unread)
            cursor += held
            continue
        missing = regions.missing(cursor, end - cursor)
        why = missing[1] if missing is not None else "not in the core"
        segment = regions.segment_of(cursor)
        gap_end = segment.end if segment is not None else _next_segment_start(regions, cursor)
        gap_end = min(max(gap_end, cursor + 1), end)
        unread.append((cursor, gap_end, why))
        cursor = gap_end
    return parts, unread


def _next_segment_start(regions, address):
    starts = [segment.start for segment in regions.segments if segment.start > address]
    return min(starts) if starts else address + _PAGE


def _read_into(mem, start, end, parts, unread):
    try:
        parts.append((start, mem.read_segment(start, end - start)))
    except HeapReadError as error:
        unread.append((start, end, error.why or str(error)))


def _live_parts(mem, start, end, piece):
    """A live range read whole; when that fails, in pieces, and a failing piece page by page."""
    try:
        return [(start, mem.read_segment(start, end - start))], []
    except HeapReadError as error:
        if end - start <= _PAGE:
            return [], [(start, end, error.why or str(error))]
    parts, unread = [], []
    smaller = _PAGE if piece <= _PAGE else piece
    for low in range(start, end, smaller):
        high = min(low + smaller, end)
        found, lost = _live_parts(mem, low, high, _PAGE) if smaller > _PAGE else \
            _one_page(mem, low, high)
        parts += found
        _merge_unread(unread, lost)
    return parts, unread


def _one_page(mem, low, high):
    try:
        return [(low, mem.read_segment(low, high - low))], []
    except HeapReadError as error:
        return [], [(low, high, error.why or str(error))]


def _merge_unread(unread, lost):
    """Adjacent unreadable pages with one reason become one range."""
    for start, end, why in lost:
        if unread and unread[-1][1] == start and unread[-1][2] == why:
            unread[-1] = (unread[-1][0], end, why)
        else:
            unread.append((start, end, why))
