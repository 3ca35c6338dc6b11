"""Pass two of the walk in C (heapwalk_classify, heapwalk_histogram, heapwalk_tally,
heapwalk_suspicious in gdb/native/heapwalk.c): each row's state from the bin lists that name it,
the size histogram, the lists' counts and the rows the check's chunk rules may fire on.  Beside
native.py, whose library, buffers and result arrays they share; callers check
native.available() first and run their Python loop without it."""

import array
import contextlib
import ctypes

from . import native

# The array typecode of a C uint32_t: "I" wherever CPython runs today; "L" would do where an
# unsigned int is not 32 bits.
LIST_NUMBER_TYPECODE = "I" if array.array("I").itemsize == 4 else "L"


class ListedAddresses:
    """Every chunk address a bin list names, as heapwalk_classify takes them: `addresses`
    (array('Q')) and, at the same index, `numbers`, the number of the list naming it (an array of
    32-bit unsigned ints).  The lists follow one another in priority order, so for an address
    listed twice the first entry decides."""

    __slots__ = ("addresses", "numbers", "_bounds")

    # Listed addresses per block of heapwalk_listed_bounds: a few thousand, so that the bounds
    # are a few KB and a block of another arena's lists is passed over at once.
    BLOCK_SHIFT = 12

    def __init__(self, addresses, numbers):
        if len(addresses) != len(numbers):
            raise ValueError("%d listed addresses but %d list numbers"
                             % (len(addresses), len(numbers)))
        self.addresses = native._as_array(addresses)
        if not (isinstance(numbers, array.array) and numbers.typecode in "IL"
                and numbers.itemsize == 4):
            numbers = array.array(LIST_NUMBER_TYPECODE, numbers)
        self.numbers = numbers
        self._bounds = None

    def __len__(self):
        return len(self.addresses)

    def bounds(self):
        """The smallest and the largest address of each block of 1 << BLOCK_SHIFT addresses,
        two words a block (heapwalk_listed_bounds), made once: heapwalk_classify passes over
        the blocks none of whose addresses can lie in the segment it classifies."""
        if self._bounds is None:
            blocks = (len(self.addresses) + (1 << self.BLOCK_SHIFT) - 1) >> self.BLOCK_SHIFT
            self._bounds = array.array("Q", bytes(16 * blocks))
            if blocks:
                native._library.heapwalk_listed_bounds(native._address_of(self.addresses), len(self.addresses),
                                                self.BLOCK_SHIFT, native._address_of(self._bounds))
        return self._bounds


def classify(positions, fields, cut, top_row, start, listed, kind_codes, prev_inuse):
    """Pass two's row verdicts (see heapwalk_classify), `listed` a ListedAddresses, `prev_inuse`
    the size field's PREV_INUSE bit: (codes as bytearray, binned rows, their list numbers, free
    rows), the last three as array('Q')."""
    positions, fields = native._as_array(positions), native._as_array(fields)
    cut = min(cut, len(positions), len(fields))
    codes = bytearray(cut)
    binned_rows, binned_values, free_rows = native._Words(), native._Words(), native._Words()
    code_buffer = (ctypes.c_char * max(cut, 1)).from_buffer(codes) if cut else None
    status = native._library.heapwalk_classify(
        native._address_of(positions), native._address_of(fields), len(fields), cut, top_row, start,
        native._address_of(listed.addresses), native._address_of(listed.numbers), len(listed),
        native._address_of(listed.bounds()), listed.BLOCK_SHIFT, bytes(kind_codes), len(kind_codes),
        prev_inuse,
        ctypes.addressof(code_buffer) if code_buffer is not None else None,
        ctypes.byref(binned_rows), ctypes.byref(binned_values), ctypes.byref(free_rows))
    del code_buffer
    result = codes, native._take_view(binned_rows), native._take_view(binned_values), native._take_view(free_rows)
    if status == -2:
        raise ValueError("chunk positions handed to the native classification do not increase")
    if status != 0:
        raise MemoryError("the native row classification ran out of memory")
    return result


def histogram(fields, codes, cut, size_mask):
    """{(size field & size_mask) | code: rows} over rows 0..cut-1 (see heapwalk_histogram)."""
    fields = native._as_array(fields)
    cut = min(cut, len(fields), len(codes))
    keys, counts = native._Words(), native._Words()
    status = native._library.heapwalk_histogram(native._address_of(fields), bytes(codes[:cut]), cut,
                                         size_mask & (1 << 64) - 1, ctypes.byref(keys),
                                         ctypes.byref(counts))
    keys, counts = native._take(keys), native._take(counts)
    if status != 0:
        raise MemoryError("the native histogram ran out of memory")
    return dict(zip(keys, counts))


def tally(fields, rows, numbers, size_mask, counts, low, high):
    """Add the binned `rows` (named by the lists `numbers`) of a scan with size fields `fields`
    to `counts`, `low` and `high` (array('Q')s, one entry per list: rows, smallest and largest
    size), as heapwalk_tally does."""
    fields, rows, numbers = native._as_array(fields), native._as_array(rows), native._as_array(numbers)
    count = min(len(rows), len(numbers))
    if not count or not len(counts):
        return
    native._library.heapwalk_tally(native._address_of(fields), len(fields), native._address_of(rows),
                            native._address_of(numbers), count, size_mask & (1 << 64) - 1, len(counts),
                            native._address_of(counts), native._address_of(low), native._address_of(high))


def suspicious(fields, positions, words, prev_index, in_bin, cached, top_row, numbers):
    """The rows the heap check's chunk rules may fire on (see heapwalk_suspicious), as
    array('Q'): `words` the segment's words (a memoryview of 8-byte words), or each row's
    prev_size (an array('Q'): a segment read a window at a time), `in_bin` and `cached` one
    byte per row, `numbers` (min_size, arena_bit, is_main, prev_inuse, size_mask)."""
    fields, positions = native._as_array(fields), native._as_array(positions)
    count = min(len(fields), len(positions), len(in_bin), len(cached))
    min_size, arena_bit, is_main, prev_inuse, size_mask = numbers
    rows = native._Words()
    prev_sizes = words if isinstance(words, array.array) else None
    if prev_sizes is not None and len(prev_sizes) < count:
        raise ValueError("%d prev_size words for %d rows" % (len(prev_sizes), count))
    with contextlib.ExitStack() as pins:
        word_address = pins.enter_context(native._Pinned(words)) if prev_sizes is None else None
        status = native._library.heapwalk_suspicious(
            native._address_of(fields), native._address_of(positions), count, word_address,
            len(words) if prev_sizes is None else 0, prev_index,
            native._address_of(prev_sizes) if prev_sizes is not None else None, bytes(in_bin),
            bytes(cached), top_row, min_size, arena_bit, 1 if is_main else 0, prev_inuse,
            size_mask & (1 << 64) - 1, ctypes.byref(rows))
    rows = native._take(rows)
    if status != 0:
        raise MemoryError("the native check of chunk rows ran out of memory")
    return rows
