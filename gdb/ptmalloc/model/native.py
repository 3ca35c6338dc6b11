"""The walk's inner loops in C (gdb/native/heapwalk.c), called through ctypes: following size
fields through a segment, following bin lists, and the rows' states and counts.

On a heap of a million chunks, following size fields and list links one Python statement at a
time is most of what a command costs; the C loops do the same steps over the same bytes the
extension already read, and return plain arrays.  The library is optional: without it (not
built, or PTMALLOC_GDB_NATIVE=0) the walk runs the same loops in Python, and the test suite
checks that both give the same answers.  Where it is looked for, in order: $PTMALLOC_GDB_NATIVE
when it names a file, beside this package (an installed tree), and build/ of the source tree;
PTMALLOC_GDB_NATIVE=0 turns it off."""

import array
import contextlib
import os

import ctypes

from .. import paths

_LIBRARY_NAME = "libptmalloc-heapwalk.so"
# heapwalk_interface_version() of the library these declarations fit (see _load).
_INTERFACE_VERSION = 8

FOLLOW_REACHED_END = 0
FOLLOW_REPEAT = 1
FOLLOW_LEFT_VIEW = 2
FOLLOW_LIMIT = 3
FOLLOW_NO_MEMORY = 4


class _Words(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint64)), ("count", ctypes.c_size_t),
                ("capacity", ctypes.c_size_t)]


class _List(ctypes.Structure):
    """struct heapwalk_list: one list for heapwalk_follow_many."""
    _fields_ = [("words", ctypes.c_void_p), ("low", ctypes.c_uint64),
                ("word_count", ctypes.c_size_t), ("address", ctypes.c_uint64),
                ("link_offset", ctypes.c_uint64), ("alignment_mask", ctypes.c_uint64),
                ("end", ctypes.c_uint64), ("limit", ctypes.c_size_t), ("shift", ctypes.c_uint),
                ("stop", ctypes.c_int), ("entries", _Words), ("next", ctypes.c_uint64),
                ("steps", ctypes.c_size_t), ("remembered", ctypes.c_uint64),
                ("power", ctypes.c_size_t), ("distance", ctypes.c_size_t),
                ("at_limit", ctypes.c_uint64), ("buffers", ctypes.c_void_p),
                ("buffer_count", ctypes.c_size_t), ("remote", ctypes.c_void_p),
                ("back_offset", ctypes.c_uint64), ("back_agreed", ctypes.c_size_t),
                ("previous", ctypes.c_uint64), ("wait_pages", ctypes.c_uint64 * 2)]


class _Buffer(ctypes.Structure):
    """struct heapwalk_buffer: more memory a list of heapwalk_follow_many may go on in."""
    _fields_ = [("words", ctypes.c_void_p), ("low", ctypes.c_uint64),
                ("word_count", ctypes.c_size_t)]


def _candidates():
    chosen = os.environ.get("PTMALLOC_GDB_NATIVE", "")
    if chosen in ("0", "off", "no"):
        return []
    if chosen not in ("", "1", "on", "yes"):
        return [chosen]
    return [os.path.join(paths.PACKAGE_DIR, _LIBRARY_NAME),
            os.path.join(paths.TREE_ROOT, "build", _LIBRARY_NAME)]


def _load():
    for path in _candidates():
        if not os.path.isfile(path):
            continue
        try:
            library = ctypes.CDLL(path)
            _declare(library)
        except (OSError, AttributeError):
            continue  # not loadable, or an older build without every function
        # A build from older sources has the same names with other arguments: called with these
        # declarations it would read the wrong memory, so it is not used at all.
        if library.heapwalk_interface_version() != _INTERFACE_VERSION:
            continue
        return library, path
    return None, None


def _declare(library):
    """The C signatures, so ctypes passes 64-bit values and pointers as the C code expects."""
    words_pointer = ctypes.POINTER(_Words)
    library.heapwalk_interface_version.argtypes = []
    library.heapwalk_interface_version.restype = ctypes.c_int
    library.heapwalk_scan.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t,
                                      words_pointer, words_pointer,
                                      ctypes.POINTER(ctypes.c_uint64)]
    library.heapwalk_scan.restype = ctypes.c_int
    library.heapwalk_follow.argtypes = [
        ctypes.c_void_p, ctypes.c_uint64, ctypes.c_size_t, ctypes.c_uint64, ctypes.c_uint64,
        ctypes.c_uint, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_size_t, words_pointer,
        ctypes.POINTER(ctypes.c_uint64)]
    library.heapwalk_follow.restype = ctypes.c_int
    library.heapwalk_follow_many.argtypes = [ctypes.POINTER(_List), ctypes.c_size_t]
    library.heapwalk_follow_many.restype = None
    library.heapwalk_free_words.argtypes = [words_pointer]
    library.heapwalk_free_words.restype = None
    library.heapwalk_classify.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int64,
        ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
        ctypes.c_size_t, ctypes.c_uint64, ctypes.c_void_p, words_pointer, words_pointer,
        words_pointer]
    library.heapwalk_classify.restype = ctypes.c_int
    library.heapwalk_histogram.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                           ctypes.c_uint64, words_pointer, words_pointer]
    library.heapwalk_histogram.restype = ctypes.c_int
    library.heapwalk_tally.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                                       ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64,
                                       ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_void_p]
    library.heapwalk_tally.restype = None
    library.heapwalk_suspicious.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
        ctypes.c_size_t, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64, ctypes.c_uint64,
        ctypes.c_uint64, ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64, words_pointer]
    library.heapwalk_suspicious.restype = ctypes.c_int
    library.heapwalk_format.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_size_t, ctypes.c_uint64,
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_char_p,
        ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_void_p,
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    library.heapwalk_format.restype = ctypes.c_size_t
    library.heapwalk_text_keys.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
        ctypes.c_size_t, ctypes.c_uint32, ctypes.c_void_p, words_pointer, words_pointer]
    library.heapwalk_text_keys.restype = ctypes.c_int
    library.heapwalk_entry_numbers.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p,
        ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
        ctypes.c_void_p]
    library.heapwalk_entry_numbers.restype = ctypes.c_int
    library.heapwalk_back_links.argtypes = [ctypes.POINTER(_Buffer), ctypes.c_size_t,
                                            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64,
                                            ctypes.c_uint64]
    library.heapwalk_back_links.restype = ctypes.c_size_t
    library.heapwalk_scan_window.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_size_t,
        ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint64), words_pointer, words_pointer,
        words_pointer, ctypes.POINTER(ctypes.c_uint64)]
    library.heapwalk_scan_window.restype = ctypes.c_int
    library.heapwalk_remote_open.argtypes = [ctypes.c_int, ctypes.c_size_t]
    library.heapwalk_remote_open.restype = ctypes.c_void_p
    library.heapwalk_remote_close.argtypes = [ctypes.c_void_p]
    library.heapwalk_remote_close.restype = None
    library.heapwalk_remote_pages_read.argtypes = [ctypes.c_void_p]
    library.heapwalk_remote_pages_read.restype = ctypes.c_uint64
    library.heapwalk_remote_words.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                              ctypes.c_void_p, ctypes.c_void_p]
    library.heapwalk_remote_words.restype = None
    library.heapwalk_refs.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64,
                                      ctypes.c_uint64, words_pointer]
    library.heapwalk_refs.restype = ctypes.c_int
    library.heapwalk_diff.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
        ctypes.c_uint32, words_pointer, words_pointer, words_pointer]
    library.heapwalk_diff.restype = ctypes.c_int


_library, library_path = _load()


def available():
    return _library is not None


def _take(words):
    """The contents of a _Words as an array('Q') (one copy), freeing the C buffer."""
    result = array.array("Q")
    if words.count:
        result.frombytes((ctypes.c_char * (words.count * 8)).from_address(
            ctypes.addressof(words.data.contents)))
    _library.heapwalk_free_words(ctypes.byref(words))
    return result


class _Pinned:
    """The address of a writable buffer's bytes (the memoryviews memory/cache.py keeps), `offset`
    bytes in, for the length of a `with` block: lent to ctypes, not copied."""

    def __init__(self, data, offset=0):
        self._data = data
        self._offset = offset
        self._view = None

    def __enter__(self):
        self._view = (ctypes.c_char * len(self._data)).from_buffer(self._data)
        return ctypes.addressof(self._view) + self._offset

    def __exit__(self, *_exception):
        self._view = None


def scan(data, offset, word_count, size_index):
    """Pass one of a segment scan over `word_count` words at `offset` in the buffer `data`:
    (positions, fields, header_past_end or None), as scan.scan_segment's Python loop gives."""
    positions, fields = _Words(), _Words()
    past_end = ctypes.c_uint64()
    with _Pinned(data, offset) as words:
        status = _library.heapwalk_scan(words, word_count, size_index, ctypes.byref(positions),
                                        ctypes.byref(fields), ctypes.byref(past_end))
    positions, fields = _take(positions), _take(fields)
    if status != 0:
        raise MemoryError("the native heap scan ran out of memory")
    return positions, fields, None if past_end.value == (1 << 64) - 1 else past_end.value


def follow(data, low, address, link_offset, shift, alignment_mask, end, limit):
    """Follow a list inside the bytes `data`, which hold the inferior's [low, low + len(data)):
    (entries as array('Q'), the address it stopped at, why: one of FOLLOW_*)."""
    entries = _Words()
    stopped_at = ctypes.c_uint64()
    with _Pinned(data) as words:
        stop = _library.heapwalk_follow(words, low, len(data) // 8, address, link_offset, shift,
                                        alignment_mask, end, limit, ctypes.byref(entries),
                                        ctypes.byref(stopped_at))
    return _take(entries), stopped_at.value, stop


def follow_many(lists, buffers=(), remote=None):
    """follow() for several lists at once, taking turns so their memory waits overlap: `lists`
    is [(data, low, address, link_offset, shift, alignment_mask, end, limit, back_offset)],
    the answer one (entries, stopped_at, why, back links agreed) per list, in order.  A list
    that leaves its own buffer (`data`, None for none) goes on in the one of `buffers` ([(low,
    data)], each 8-byte aligned and a whole number of words) that holds the next link, so that
    a list through many heaps is one walk, and with `remote` (a native_live.RemotePages) in the
    live process's pages where no buffer holds it.  With a back_offset (None: none), the count
    of entries from the first on whose word that far in names the entry before them (`end`,
    the head, for the first) comes back too, else None."""
    if not lists:
        return []
    table = (_List * len(lists))()
    with contextlib.ExitStack() as pins:
        others = _pinned_buffers(pins, buffers)
        bases = {}
        for entry, (data, low, address, link_offset, shift, mask, end, limit, back_offset) in \
                zip(table, lists):
            if data is not None and id(data) not in bases:
                bases[id(data)] = pins.enter_context(_Pinned(data))
            entry.words = bases[id(data)] if data is not None else None
            entry.low, entry.address = low, address
            entry.word_count = len(data) // 8 if data is not None else 0
            entry.link_offset, entry.alignment_mask, entry.end = link_offset, mask, end
            entry.limit, entry.shift = limit, shift
            entry.buffers = ctypes.addressof(others) if buffers else None
            entry.buffer_count = len(buffers)
            entry.remote = remote.handle if remote is not None else None
            entry.back_offset = back_offset or 0  # 0: no back links to check
        _library.heapwalk_follow_many(table, len(lists))
    return [(_take(entry.entries), entry.next, entry.stop,
             entry.back_agreed if back_offset is not None else None)
            for entry, (*_question, back_offset) in zip(table, lists)]


def _pinned_buffers(pins, buffers):
    """`buffers` ([(low, data)], each 8-byte aligned and a whole number of words) as the C
    functions take them: an array of struct heapwalk_buffer sorted by low, each pinned for as
    long as `pins` (a contextlib.ExitStack) lasts."""
    buffers = sorted(buffers, key=lambda buffer: buffer[0])
    table = (_Buffer * max(len(buffers), 1))()
    for entry, (low, data) in zip(table, buffers):
        entry.words = pins.enter_context(_Pinned(data))
        entry.low, entry.word_count = low, len(data) // 8
    return table


def back_links(members, head, back_offset, buffers):
    """The first position of `members` (a doubly linked list's entries in fd order after
    `head`) whose back link, the word `back_offset` bytes into it, does not name the entry
    before it or lies in none of `buffers` ([(low, data)]); len(members) when all agree."""
    members = _as_array(members)
    if not len(members):
        return 0
    with contextlib.ExitStack() as pins:
        table = _pinned_buffers(pins, buffers)
        return _library.heapwalk_back_links(table, len(buffers), _address_of(members),
                                            len(members), head, back_offset)


def _address_of(values):
    """The address of an array's buffer (arrays are kept alive by the caller)."""
    return values.buffer_info()[0] if len(values) else None


def _as_array(values):
    return values if isinstance(values, array.array) and values.typecode == "Q" else \
        array.array("Q", values)


# The array typecode of a C uint32_t: "I" wherever CPython runs today; "L" would do where an
# unsigned int is not 32 bits.
LIST_NUMBER_TYPECODE = "I" if array.array("I").itemsize == 4 else "L"


class ListedAddresses:
    """Every chunk address a bin list names, as heapwalk_classify takes them: `addresses`
    (array('Q')) and, at the same index, `numbers`, the number of the list naming it (an array of
    32-bit unsigned ints).  The lists follow one another in priority order, so for an address
    listed twice the first entry decides."""

    __slots__ = ("addresses", "numbers")

    def __init__(self, addresses, numbers):
        if len(addresses) != len(numbers):
            raise ValueError("%d listed addresses but %d list numbers"
                             % (len(addresses), len(numbers)))
        self.addresses = _as_array(addresses)
        if not (isinstance(numbers, array.array) and numbers.typecode in "IL"
                and numbers.itemsize == 4):
            numbers = array.array(LIST_NUMBER_TYPECODE, numbers)
        self.numbers = numbers

    def __len__(self):
        return len(self.addresses)


def classify(positions, fields, cut, top_row, start, listed, kind_codes, prev_inuse):
    """Pass two's row verdicts (see heapwalk_classify), `listed` a ListedAddresses, `prev_inuse`
    the size field's PREV_INUSE bit: (codes as bytearray, binned rows, their list numbers, free
    rows), the last three as array('Q')."""
    positions, fields = _as_array(positions), _as_array(fields)
    cut = min(cut, len(positions), len(fields))
    codes = bytearray(cut)
    binned_rows, binned_values, free_rows = _Words(), _Words(), _Words()
    code_buffer = (ctypes.c_char * max(cut, 1)).from_buffer(codes) if cut else None
    status = _library.heapwalk_classify(
        _address_of(positions), _address_of(fields), len(fields), cut, top_row, start,
        _address_of(listed.addresses), _address_of(listed.numbers), len(listed),
        bytes(kind_codes), len(kind_codes), prev_inuse,
        ctypes.addressof(code_buffer) if code_buffer is not None else None,
        ctypes.byref(binned_rows), ctypes.byref(binned_values), ctypes.byref(free_rows))
    del code_buffer
    result = codes, _take(binned_rows), _take(binned_values), _take(free_rows)
    if status == -2:
        raise ValueError("chunk positions handed to the native classification do not increase")
    if status != 0:
        raise MemoryError("the native row classification ran out of memory")
    return result


def histogram(fields, codes, cut, size_mask):
    """{(size field & size_mask) | code: rows} over rows 0..cut-1 (see heapwalk_histogram)."""
    fields = _as_array(fields)
    cut = min(cut, len(fields), len(codes))
    keys, counts = _Words(), _Words()
    status = _library.heapwalk_histogram(_address_of(fields), bytes(codes[:cut]), cut,
                                         size_mask & (1 << 64) - 1, ctypes.byref(keys),
                                         ctypes.byref(counts))
    keys, counts = _take(keys), _take(counts)
    if status != 0:
        raise MemoryError("the native histogram ran out of memory")
    return dict(zip(keys, counts))


def tally(fields, rows, numbers, size_mask, counts, low, high):
    """Add the binned `rows` (named by the lists `numbers`) of a scan with size fields `fields`
    to `counts`, `low` and `high` (array('Q')s, one entry per list: rows, smallest and largest
    size), as heapwalk_tally does."""
    fields, rows, numbers = _as_array(fields), _as_array(rows), _as_array(numbers)
    count = min(len(rows), len(numbers))
    if not count or not len(counts):
        return
    _library.heapwalk_tally(_address_of(fields), len(fields), _address_of(rows),
                            _address_of(numbers), count, size_mask & (1 << 64) - 1, len(counts),
                            _address_of(counts), _address_of(low), _address_of(high))


def suspicious(fields, positions, words, prev_index, in_bin, cached, top_row, numbers):
    """The rows the heap check's chunk rules may fire on (see heapwalk_suspicious), as
    array('Q'): `words` the segment's words (a memoryview of 8-byte words), or each row's
    prev_size (an array('Q'): a segment read a window at a time), `in_bin` and `cached` one
    byte per row, `numbers` (min_size, arena_bit, is_main, prev_inuse, size_mask)."""
    fields, positions = _as_array(fields), _as_array(positions)
    count = min(len(fields), len(positions), len(in_bin), len(cached))
    min_size, arena_bit, is_main, prev_inuse, size_mask = numbers
    rows = _Words()
    prev_sizes = words if isinstance(words, array.array) else None
    if prev_sizes is not None and len(prev_sizes) < count:
        raise ValueError("%d prev_size words for %d rows" % (len(prev_sizes), count))
    with contextlib.ExitStack() as pins:
        word_address = pins.enter_context(_Pinned(words)) if prev_sizes is None else None
        status = _library.heapwalk_suspicious(
            _address_of(fields), _address_of(positions), count, word_address,
            len(words) if prev_sizes is None else 0, prev_index,
            _address_of(prev_sizes) if prev_sizes is not None else None, bytes(in_bin),
            bytes(cached), top_row, min_size, arena_bit, 1 if is_main else 0, prev_inuse,
            size_mask & (1 << 64) - 1, ctypes.byref(rows))
    rows = _take(rows)
    if status != 0:
        raise MemoryError("the native check of chunk rows ran out of memory")
    return rows
