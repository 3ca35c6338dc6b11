"""The C helper's loops for `heap refs`, `heap snapshot` and `heap diff` (heapwalk_refs,
heapwalk_table_rows, heapwalk_first_unordered, heapwalk_diff in gdb/native/heapwalk.c), beside
native.py's loops of the walk, whose library, buffers and result arrays they share.  Callers
check native.available() first and run their Python loop without it."""

import ctypes
import os

from . import native

# Bytes of a core file read at a time by file_words_pointing_into: a buffer the CPU's caches
# hold, so each piece is copied from the page cache and compared while still there.
FILE_PIECE_BYTES = 1 << 20


def _declare(library):
    """The signatures of the functions this module calls (native._declare has the walk's)."""
    library.heapwalk_table_rows.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_size_t] + \
        [ctypes.c_uint64] * 3 + [ctypes.c_void_p] * 3
    library.heapwalk_table_rows.restype = None
    library.heapwalk_first_unordered.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    library.heapwalk_first_unordered.restype = ctypes.c_size_t
    library.heapwalk_base64_decode.argtypes = [ctypes.c_void_p, ctypes.c_size_t] * 2
    library.heapwalk_base64_decode.restype = ctypes.c_longlong


if native.available():
    _declare(native._library)


def words_pointing_into(data, low, high):
    """The indexes (array('Q')) of the 8-byte words of the writable buffer `data` (a whole
    number of words) whose value lies in [low, high) (see heapwalk_refs)."""
    hits = native._Words()
    with native._Pinned(data) as words:
        status = native._library.heapwalk_refs(words, len(data) // 8, low, high,
                                               ctypes.byref(hits))
    hits = native._take(hits)
    if status != 0:
        raise MemoryError("the native reference scan ran out of memory")
    return hits


def file_buffer():
    """A buffer for file_words_pointing_into, to reuse for every part of one scan."""
    return bytearray(FILE_PIECE_BYTES)


def file_words_pointing_into(part, low, high, buffer):
    """(addresses, values: array('Q') each, unread: (start, end, why) or None) of the 8-byte
    words of a spans.FilePart (8-byte aligned, a whole number of words) whose value lies in
    [low, high), read from the file a piece at a time into `buffer` (file_buffer()); `unread`
    names what the file could not give (see heapwalk_refs_file)."""
    hits, values = native._Words(), native._Words()
    words_read, error = ctypes.c_size_t(), ctypes.c_int()
    with native._Pinned(buffer) as pinned:
        status = native._library.heapwalk_refs_file(
            part.fd, part.offset, part.length // 8, low, high, pinned, len(buffer) // 8,
            ctypes.byref(hits), ctypes.byref(values), ctypes.byref(words_read),
            ctypes.byref(error))
    hits, values = native._take(hits), native._take(values)
    if status == -1:
        raise MemoryError("the native reference scan ran out of memory")
    unread = None
    if status != 0:
        stopped = part.address + words_read.value * 8
        unread = (stopped, part.address + part.length, "the core file could not be read at "
                  "offset %#x: %s" % (part.offset + words_read.value * 8,
                                      os.strerror(error.value) if error.value else "it ends there"))
    addresses = hits
    for row, index in enumerate(hits):
        addresses[row] = part.address + (index << 3)
    return addresses, values, unread


def diff_rows(before, after, no_site):
    """heapwalk_diff over two tables, each (addresses, sizes: array('Q'), held: bytes, one per
    row, sites: array of 32-bit site numbers or None): (allocated rows of `after`, freed rows
    of `before`, resized rows as (before row, after row) pairs flattened), array('Q')s."""
    allocated, freed, resized = native._Words(), native._Words(), native._Words()
    (a_addresses, a_sizes, a_held, a_sites), (b_addresses, b_sizes, b_held, b_sites) = \
        before, after
    status = native._library.heapwalk_diff(
        native._address_of(a_addresses), native._address_of(a_sizes), bytes(a_held),
        native._address_of(a_sites) if a_sites is not None else None, len(a_addresses),
        native._address_of(b_addresses), native._address_of(b_sizes), bytes(b_held),
        native._address_of(b_sites) if b_sites is not None else None, len(b_addresses), no_site,
        ctypes.byref(allocated), ctypes.byref(freed), ctypes.byref(resized))
    result = native._take(allocated), native._take(freed), native._take(resized)
    if status != 0:
        raise MemoryError("the native heap diff ran out of memory")
    return result


def table_rows(positions, fields, start, size_mask, arena, columns, row):
    """Write a segment's rows into a chunk table's columns from row `row` on (see
    heapwalk_table_rows): header addresses from `positions` (word indexes from `start`), sizes
    from the size `fields`, and `arena` into `columns` (addresses, sizes, arenas: array('Q')s
    long enough)."""
    positions, fields = native._as_array(positions), native._as_array(fields)
    count = min(len(positions), len(fields))
    room = min(map(len, columns))
    if row < 0 or row + count > room:
        raise ValueError("%d rows from row %d do not fit a table of %d" % (count, row, room))
    if count:
        native._library.heapwalk_table_rows(
            native._address_of(positions), native._address_of(fields), count, start,
            size_mask & (1 << 64) - 1, arena,
            *(native._address_of(column) + 8 * row for column in columns))


def first_unordered(values):
    """The first index of `values` (array('Q')) whose value is not below the next one's, or
    len(values) when they increase strictly (see heapwalk_first_unordered)."""
    return native._library.heapwalk_first_unordered(native._address_of(values), len(values))


def base64_decode(text, length, out, row):
    """Decode the first `length` bytes of base64 of the buffer `text` into the column `out`
    (an array or a writable memoryview) from byte `row` on (see heapwalk_base64_decode): the
    bytes written; ValueError when the text is not strict base64 or does not fit."""
    room = len(out) * out.itemsize - row
    with native._Pinned(text) as source:
        written = native._library.heapwalk_base64_decode(
            source, length, native._address_of(out) + row, room)
    if written < 0:
        raise ValueError("a column is not base64" if written == -1 else
                         "a column holds more than its length says")
    return written
