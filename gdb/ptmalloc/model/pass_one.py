"""Pass one of a segment's chunk walk: the size fields followed from header to header with
the least work per chunk (append the position, add the size), by the C helper when it is built
and by the same loop in Python otherwise; and the tables pass two reads size fields' low bytes
with (see scan.py)."""

import array
import functools

from . import native

# Added to the position when a size is zero, so that the fast loop leaves the segment at once.
_PAST_ANY_SEGMENT = 1 << 62


@functools.lru_cache(maxsize=4)
def _low_byte_tables(alignment_mask, size_bits, prev_inuse):
    """(misaligned, previous free): tables from a size field's low byte to 1 when the size is
    not a multiple of the alignment (the bits under it that are not flags), and to 1 when
    PREV_INUSE is clear (the chunk before it is free); for bytes.translate."""
    misaligned = bytes(1 if byte & alignment_mask & ~size_bits else 0 for byte in range(256))
    previous_free = bytes(0 if byte & prev_inuse else 1 for byte in range(256))
    return misaligned, previous_free


def low_byte_tables(geometry):
    """_low_byte_tables for a Geometry, made once per set of its numbers."""
    return _low_byte_tables(geometry.alignment_mask, geometry.size_bits, geometry.prev_inuse)


def walked_length(start, end):
    """The bytes of the heap segment [start, end) its chunk walk reads: whole 8-byte words, a
    last part-word taken whole (0 for an empty segment)."""
    return (max(end - start, 0) + 7) & ~7


def pass_one(data, offset, words, position, size_index):
    """Pass one from the header at word `position` of the segment (`words`, which start at
    `offset` in the buffer `data`) to its end: (positions counted from the segment's start,
    size fields, position of a header past the end or None), by the C helper when it is built."""
    if native.available():
        positions, fields, past_end = native.scan(data, offset + (position << 3),
                                                  len(words) - position, size_index)
    else:
        positions, fields, past_end = _follow_sizes(words[position:], size_index)
    if position:
        positions = [position + word for word in positions]
        past_end = None if past_end is None else position + past_end
    return positions, fields, past_end


def first_impossible_size(low_bytes, geometry, end=None):
    """The first row among [0, end) (default all) of a walk whose size field is no multiple of
    the alignment, from the rows' low bytes (low_bytes_of): where the walk stops being the
    allocator's, so that nothing past it is a chunk; -1 when there is none."""
    misaligned = low_byte_tables(geometry)[0]
    return low_bytes.translate(misaligned).find(1, 0, len(low_bytes) if end is None else end)


def low_bytes_of(fields):
    """The low byte of each size field, for the bytes.translate tables: one strided copy of
    an array's bytes (a copy of a ten-million-row array first would cost more than the rest of
    pass two)."""
    if not native.is_words(fields):
        fields = array.array("Q", fields)
    return memoryview(fields).cast("B")[::8].tobytes()


def _follow_sizes(words, size_index):
    """Pass one in Python (native.scan is the same loop in C): ([position], [size field],
    position of a header whose size word lies past the end, or None)."""
    word_count = len(words)
    sizes = words[size_index:]
    positions = []
    keep = positions.append
    past = _PAST_ANY_SEGMENT
    word = 0
    header_past_end = None
    try:
        while word < word_count:
            keep(word)
            word += (sizes[word] >> 3) or past
    except IndexError:
        header_past_end = positions.pop()
    return positions, list(map(sizes.__getitem__, positions)), header_past_end
