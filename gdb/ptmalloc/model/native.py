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
_INTERFACE_VERSION = 9

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


class LinkRule(ctypes.Structure):
    """struct heapwalk_link_rule: which words of a chunk a list may read (link_words.c)."""
    _fields_ = [("fd_offset", ctypes.c_uint64), ("bk_offset", ctypes.c_uint64),
                ("size_mask", ctypes.c_uint64), ("prev_inuse", ctypes.c_uint64),
                ("fast_limit", ctypes.c_uint64), ("fast_shift", ctypes.c_uint),
                ("alignment_mask", ctypes.c_uint64)]


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
    library.heapwalk_listed_bounds.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint,
                                               ctypes.c_void_p]
    library.heapwalk_listed_bounds.restype = None
    library.heapwalk_classify.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int64,
        ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
        ctypes.c_uint, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64, ctypes.c_void_p,
        words_pointer, words_pointer, words_pointer]
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
        words_pointer, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64)]
    library.heapwalk_scan_window.restype = ctypes.c_int
    handle = ctypes.c_void_p  # a struct the library owns: the remote pages, the link words
    for name, restype, argtypes in (
            ("heapwalk_link_words_open", handle,
             [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.POINTER(LinkRule)]),
            ("heapwalk_link_words_close", None, [handle]),
            ("heapwalk_link_words_begin", ctypes.c_int, [handle, ctypes.c_uint64]),
            ("heapwalk_link_words_seal", None, [handle]),
            ("heapwalk_remote_use_links", None, [handle, handle]),
            ("heapwalk_remote_open", handle, [ctypes.c_int, ctypes.c_size_t]),
            ("heapwalk_remote_close", None, [handle]),
            ("heapwalk_remote_pages_read", ctypes.c_uint64, [handle]),
            ("heapwalk_remote_words", None,
             [handle, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p])):
        function = getattr(library, name)
        function.argtypes, function.restype = argtypes, restype
    library.heapwalk_refs.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64,
                                      ctypes.c_uint64, words_pointer]
    library.heapwalk_refs.restype = ctypes.c_int
    library.heapwalk_refs_file.argtypes = [
        ctypes.c_int, ctypes.c_uint64, ctypes.c_size_t, ctypes.c_uint64, ctypes.c_uint64,
        ctypes.c_void_p, ctypes.c_size_t, words_pointer, words_pointer,
        ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_int)]
    library.heapwalk_refs_file.restype = ctypes.c_int
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


class _FreedWords(_Words):
    """A _Words whose C buffer is freed when this object goes (see _take_view)."""

    def __del__(self):
        if _library is not None and self.data:
            _library.heapwalk_free_words(ctypes.byref(self))


def _take_view(words):
    """The contents of a _Words as a memoryview of 8-byte words over the C buffer itself: no
    copy, and no fresh pages for one (a column of ten million rows is 80 MB).  The buffer is
    freed when the last view of it goes: the view keeps the ctypes array it was made of, and
    that array keeps the buffer's owner.  Reads as an array('Q') does (len, index, slice,
    iteration, bisect); _as_array and _address_of hand it to the C helper as it is."""
    if not words.count:
        _library.heapwalk_free_words(ctypes.byref(words))
        return memoryview(array.array("Q"))
    owner = _FreedWords(words.data, words.count, words.capacity)
    words.data, words.count, words.capacity = None, 0, 0
    block = (ctypes.c_uint64 * owner.count).from_address(ctypes.addressof(owner.data.contents))
    block.owner = owner
    return memoryview(block).cast("B").cast("Q")


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
    positions, fields = _take_view(positions), _take_view(fields)
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
    """The address of an array's or a memoryview's buffer (kept alive by the caller)."""
    if not len(values):
        return None
    if isinstance(values, memoryview):
        return ctypes.addressof(ctypes.c_char.from_buffer(values))
    return values.buffer_info()[0]


def is_words(values):
    """Whether `values` is 8-byte words the C helper takes as they are: an array('Q'), or a
    memoryview of words (a segment's, or a column of the helper's own: _take_view)."""
    return isinstance(values, array.array) and values.typecode == "Q" or \
        isinstance(values, memoryview) and values.format == "Q" and values.c_contiguous


def _as_array(values):
    return values if is_words(values) else array.array("Q", values)
