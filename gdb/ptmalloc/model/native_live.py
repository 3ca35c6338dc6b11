"""A live heap too big to copy into gdb whole, walked through bounded memory by the C helper
(heapwalk_scan_window and the remote pages of gdb/native/heapwalk.c).

A core is read through the file's mapping, whose pages are the kernel's cache; a live process's
memory has to be copied, and a heap of gigabytes copied whole would make gdb as big.  So a live
segment longer than WINDOW_BYTES is walked a window at a time through one reused buffer (the
walk keeps each chunk's position, size field and prev_size, all the later passes need), and
the bin and tcache lists are followed through the live process's pages a batch at a time,
kept in a cache of REMOTE_SLOTS pages.  gdb's memory for a heap is then its per-chunk columns
and these fixed buffers, whatever the heap's size.  Only with the C helper and gdb's native
target (process_vm_readv); otherwise segments are read whole as before."""

import array
import contextlib
import ctypes
import itertools
import os

from ..errors import HeapReadError
from ..memory import cache, spans
from . import native
from .pass_one import walked_length


def _window_bytes():
    """A live segment up to this size is copied whole (a window would gain nothing); a longer
    one is walked through a buffer of this size: 16 MiB, or PTMALLOC_GDB_WINDOW bytes (at
    least a page; the tests make every live heap a walk of many windows with it)."""
    chosen = os.environ.get("PTMALLOC_GDB_WINDOW", "")
    if chosen.isdigit():
        return max(int(chosen), 4096) & ~7
    return 16 << 20


WINDOW_BYTES = _window_bytes()
# Pages of the live process the list walks keep (64 MiB): more than the lists of a heap that take
# turns ever need at once, so that a page is read about once per list that passes through it.
REMOTE_SLOTS = 1 << 14


class RemotePages:
    """The C helper's cache of a live process's pages (struct heapwalk_remote)."""

    def __init__(self, pid):
        self.handle = native._library.heapwalk_remote_open(pid, REMOTE_SLOTS)
        if not self.handle:
            raise MemoryError("no memory for the cache of live pages")

    def __del__(self):
        if getattr(self, "handle", None) and native._library is not None:
            native._library.heapwalk_remote_close(self.handle)
            self.handle = None

    def pages_read(self):
        return native._library.heapwalk_remote_pages_read(self.handle)


def windowed(mem, start, length):
    """Whether the segment [start, start + length) is walked a window at a time: a live
    process's, longer than a window, not read whole already, and the C helper is there."""
    return length > WINDOW_BYTES and native.available() and mem.reads_live_pages() and \
        not mem.holds(start, length)


def remote_pages(mem):
    """The RemotePages of the stop `mem` reads (a live process through its pages), or None."""
    if not native.available() or not mem.reads_live_pages():
        return None
    return mem.kept("remote pages", lambda: RemotePages(mem.inferior.pid))


def words_at(mem, addresses):
    """The 8-byte word at each of `addresses`, None where it cannot be read: a live process's
    read a batch of pages at a time through the C helper (a check that reads a few words of
    each of a hundred thousand chunks), anything else through `mem` one word at a time."""
    values = [None] * len(addresses)
    remote = remote_pages(mem)
    # A damaged link plus an offset can pass 2**64: no word is there, and `mem` says so.
    rows = [row for row, address in enumerate(addresses) if 0 <= address < 1 << 64]
    if remote is not None and rows:
        wanted = array.array("Q", (addresses[row] for row in rows))
        found = array.array("Q", bytes(8 * len(wanted)))
        held = bytearray(len(wanted))
        held_buffer = (ctypes.c_char * len(held)).from_buffer(held)
        native._library.heapwalk_remote_words(remote.handle, native._address_of(wanted),
                                              len(wanted), native._address_of(found),
                                              ctypes.addressof(held_buffer))
        del held_buffer
        for index in itertools.compress(range(len(held)), held):
            values[rows[index]] = found[index]
    for index, address in enumerate(addresses):
        if values[index] is None:  # not read in bulk: gdb says whether it can be read
            try:
                values[index] = mem.u64(address)
            except HeapReadError:
                pass
    return values


def _window(mem):
    """The stop's one buffer for windows of a live heap (made once, reused)."""
    return mem.kept("window", lambda: mem.window_buffer(WINDOW_BYTES))


def readable_windows(mem, start, end, unread):
    """Yield (address, buffer) for the parts of [start, end) read, as spans.readable_parts
    gives them, adding each part not read, with why, to `unread`: a live range longer than a
    window a window at a time into one reused buffer (each buffer is valid until the next is
    asked for), leaving out a window the program never wrote (its zeros hold no address: a
    main heap's gigabytes reserved and never touched), anything else as spans reads it."""
    if not windowed(mem, start, end - start) or (start | end) & 7:
        parts, lost = spans.readable_parts(mem, start, end)
        unread += lost
        yield from parts
        return
    buffer = _window(mem)
    for low in range(start, end, WINDOW_BYTES):
        length = min(WINDOW_BYTES, end - low)
        if mem.never_written(low, length):
            continue
        try:
            mem.read_into(low, buffer, length)
        except HeapReadError:  # a part that cannot be read: spans says which, and why
            parts, lost = spans.readable_parts(mem, low, low + length)
            unread += lost
            yield from parts
            continue
        yield low, memoryview(buffer)[:length]


def scan_windows(mem, start, length, size_index, prev_index):
    """Pass one of the live segment [start, start + length) a window at a time: (its words as
    LiveWords, positions, fields, prev_sizes, position of a header past the end or None), as
    pass_one.pass_one gives them over the whole segment, with each row's prev_size beside."""
    positions, fields, prev_sizes = native._Words(), native._Words(), native._Words()
    try:
        status, past_end = _walk_windows(mem, start, length, size_index, prev_index,
                                         (positions, fields, prev_sizes))
    finally:
        positions, fields = native._take(positions), native._take(fields)
        prev_sizes = native._take(prev_sizes)
    if status < 0:
        raise MemoryError("the native heap scan ran out of memory")
    past = None if status == 1 or past_end == (1 << 64) - 1 else past_end
    return LiveWords(mem, start, length >> 3), positions, fields, prev_sizes, past


def _walk_windows(mem, start, length, size_index, prev_index, columns=(None, None, None),
                  links=None):
    """heapwalk_scan_window over the live segment [start, start + length), a window at a time:
    each header to `columns` (positions, fields, prev_sizes: native._Words, or None for none)
    and noted to `links` (a link-words handle, or None).  (the last call's status, the
    position of a header past the end); HeapReadError for a length past the mappings."""
    cache.refuse_unmapped(mem, start, length)
    total = length >> 3
    window_words = WINDOW_BYTES >> 3
    buffer = _window(mem)
    references = [ctypes.byref(column) if column is not None else None for column in columns]
    at, past_end = ctypes.c_uint64(0), ctypes.c_uint64()
    status = 0
    with native._Pinned(buffer) as words:
        while at.value < total:
            base = at.value
            count = min(window_words, total - base)
            mem.read_into(start + (base << 3), buffer, count << 3)
            status = native._library.heapwalk_scan_window(
                words, count, base, total, size_index, prev_index, ctypes.byref(at),
                *references, links, ctypes.byref(past_end))
            if status != 1:
                break
            if at.value <= base:
                raise HeapReadError(start + (base << 3), 8, "the walk made no progress")
    return status, past_end.value


# At most this many words are kept from the windows for the list walks (16 bytes each, 128 MiB):
# the 10M-chunk bench heap's lists read 4.3 million.  Past it, the walks read pages as before.
LINK_WORDS_BUDGET = 1 << 23


@contextlib.contextmanager
def link_words(mem, segments, geometry, fast_limit):
    """While the block runs, the list walks of the live stop `mem` look up the words a list can
    read (gdb/native/link_words.c) that a window pass over `segments` (HeapSegments) kept,
    instead of reading their pages: on a heap of millions of listed chunks the lists go back
    and forth through the heap, a page read per step, where the pass reads each window once.
    Only the segments walked a window at a time are passed; nothing when there are none.  A
    window that cannot be read ends its segment's pass: its words are read as pages, and the
    chunk walk says what is wrong there."""
    remote = remote_pages(mem)
    lengths = [(segment.start, walked_length(segment.start, segment.end)) for segment in segments]
    long_ones = [(start, length) for start, length in lengths if windowed(mem, start, length)]
    if remote is None or not long_ones:
        yield
        return
    bounds = array.array("Q", itertools.chain.from_iterable(
        (start, start + length) for start, length in long_ones))
    rule = native.LinkRule(geometry.fd_offset, geometry.bk_offset, geometry.size_mask,
                           geometry.prev_inuse, fast_limit or 0, geometry.link_shift(True),
                           geometry.alignment_mask)
    handle = native._library.heapwalk_link_words_open(
        native._address_of(bounds), len(long_ones), LINK_WORDS_BUDGET, ctypes.byref(rule))
    if not handle:
        yield  # no memory for the table: the walks read pages
        return
    try:
        size_index, prev_index = geometry.size_offset >> 3, geometry.prev_size_offset >> 3
        for start, length in long_ones:
            if native._library.heapwalk_link_words_begin(handle, start) != 0:
                continue
            try:
                _walk_windows(mem, start, length, size_index, prev_index, links=handle)
            except HeapReadError:
                pass
            native._library.heapwalk_link_words_seal(handle)
        native._library.heapwalk_remote_use_links(remote.handle, handle)
        yield
    finally:
        native._library.heapwalk_remote_use_links(remote.handle, None)
        native._library.heapwalk_link_words_close(handle)


class LiveWords:
    """The 8-byte words of a live segment walked a window at a time, read one at a time
    through the stop's page cache: for the few words a check asks for after the walk."""

    __slots__ = ("_mem", "_start", "_count")

    def __init__(self, mem, start, count):
        self._mem, self._start, self._count = mem, start, count

    def __len__(self):
        return self._count

    def __getitem__(self, index):
        if not isinstance(index, int):
            raise TypeError("a live segment's words are read one at a time")
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("word %d of a segment of %d" % (index, self._count))
        return self._mem.u64(self._start + (index << 3))
