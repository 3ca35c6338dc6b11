"""Bulk, cached reads of the inferior's memory, valid for one stop.

A heap segment is read with one `read_memory` call and parsed with struct/memoryview; scattered
reads (bin links, tcache entries) go through a page cache so a chain of a million links costs a
few thousand reads, not a million.  Everything cached is dropped when the inferior runs, stops,
changes memory or loads objfiles, so a cache never outlives the state it describes.

The extension only ever reads: nothing here writes memory or calls inferior functions."""

import bisect
import mmap
import struct

import gdb

from ..errors import NOT_IN_CORE, HeapReadError
from . import process_memory
from .core_file import inferior_is_core
from .core_holdings import CoreHoldings
from .live_reads import GDB_READ_PIECE, LiveReads, gdb_read_into

_PAGE = 4096
_U64 = struct.Struct("<Q")
# Lengths come from the inferior and are untrusted: gdb allocates a buffer of the asked size before
# reading, so one corrupted size could make gdb itself die.  A length the mappings have vouched
# for (the range is mapped memory of the inferior) is read whatever its size, since a main heap
# is as large as the kernel lets it grow; an unvouched one beyond this is refused.  gdb's own
# reads are made in pieces of at most GDB_READ_PIECE bytes (live_reads.gdb_read_into).
MAX_SINGLE_READ = 1 << 30
# Pages kept for scattered reads (16 MiB): a stop's reads past the cached segments stay bounded
# however many scattered words a command asks for (the oldest page read goes first).
_MAX_PAGES = 4096

_generation = 0
_memory = None


def generation():
    """A number that changes whenever cached knowledge about the inferior becomes stale."""
    return _generation


def invalidate(*_args):
    global _generation, _memory
    _generation += 1
    _memory = None


def _connect_events():
    events = gdb.events
    for name in ("stop", "cont", "exited", "new_objfile", "clear_objfiles", "memory_changed",
                 "inferior_call", "new_inferior", "inferior_deleted", "new_thread"):
        registry = getattr(events, name, None)
        if registry is not None:
            registry.connect(invalidate)


_connect_events()


def unreadable_reason():
    """Why a read fails, as the user would put it: a core lacks the page, a process lacks the map."""
    return NOT_IN_CORE if inferior_is_core() else "not mapped"


def current():
    """The Memory of the selected inferior for the current stop."""
    global _memory
    inferior = gdb.selected_inferior()
    if _memory is None or _memory.inferior != inferior:
        _memory = Memory(inferior)
    return _memory


class Memory(CoreHoldings, LiveReads):
    """Reads of one inferior at one stop: whole segments kept as bytes, other reads by page."""

    def __init__(self, inferior):
        self.inferior = inferior
        self._segment_starts = []
        self._segments = []  # (start, memoryview of bytes), sorted by start, non-overlapping
        self._pages = {}
        self._regions = None
        self._merged = None
        self._core_sections = None
        self._core_regions = None
        self._last_words = (0, 0, None)  # (start, end, words) of the segment last hit by u64
        self._kept = {}  # see LiveReads.kept

    # -- raw reads ----------------------------------------------------------------------------

    def _raw(self, address, length):
        return bytes(self._raw_view(address, length))

    def _raw_view(self, address, length, mapped=False):
        """The bytes at `address` as a writable memoryview, uncopied (a segment of a big heap is
        tens of MB, and a copy costs as much as the read): from the core file's mapping or the
        live process's memory when those can serve them, else as gdb's read hands them over.
        `mapped`: the inferior's mappings hold the whole range, so its length is no corrupted
        size."""
        if length < 0 or (length > MAX_SINGLE_READ and not mapped):
            raise HeapReadError(address, length, "refusing to read %#x bytes at once: the length "
                                "came from a corrupted size" % length)
        if inferior_is_core():
            view = self._core().view(self.inferior, address, length)
            if view is None:
                self._refuse_unheld(address, length)
        else:
            view = process_memory.read(self.inferior, address, length)
        if view is not None:
            return view
        try:
            if length <= GDB_READ_PIECE:
                return memoryview(self.inferior.read_memory(address, length)).cast("B")
            return self._read_in_pieces(address, length)
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
            raise HeapReadError(address, length, unreadable_reason()) from None

    def _read_in_pieces(self, address, length):
        """A long range through gdb's reads, piece by piece into one anonymous mapping: gdb
        never holds more than a piece beside it."""
        view = memoryview(mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS))
        gdb_read_into(self.inferior, address, view, length)
        return view

    def read_segment(self, start, length):
        """All `length` bytes at `start` in one read, kept for the rest of the stop."""
        data, offset = self.read_segment_buffer(start, length)
        return memoryview(data)[offset:offset + length]

    def read_segment_buffer(self, start, length):
        """(buffer, offset): the cached buffer (a memoryview of bytes) holding `length` bytes at
        `start`, and where they begin in it, for code that hands it on uncopied (native.py)."""
        index = bisect.bisect_right(self._segment_starts, start) - 1
        if index >= 0:
            seg_start, data = self._segments[index]
            if start + length <= seg_start + len(data):
                return data, start - seg_start
        mapped_end = refuse_unmapped(self, start, length)
        data = self._raw_view(start, length, mapped=mapped_end is not None)
        position = bisect.bisect_left(self._segment_starts, start)
        self._segment_starts.insert(position, start)
        self._segments.insert(position, (start, data))
        return data, 0

    def holds(self, start, length):
        """Whether a cached segment holds all `length` bytes at `start`."""
        return start + length <= self.segment_around(start)[1]

    def read(self, address, length):
        """`length` bytes at `address`, from a cached segment or the page cache."""
        index = bisect.bisect_right(self._segment_starts, address) - 1
        if index >= 0:
            seg_start, data = self._segments[index]
            offset = address - seg_start
            if offset + length <= len(data):
                return bytes(data[offset:offset + length])
        first_page = address & ~(_PAGE - 1)
        last_page = (address + length - 1) & ~(_PAGE - 1)
        if first_page == last_page:
            page = self._page(first_page)
            if page is not None:
                offset = address - first_page
                return page[offset:offset + length]
            return self._raw(address, length)
        return self._raw(address, length)

    def _page(self, page_address):
        page = self._pages.get(page_address)
        if page is None and page_address not in self._pages:
            if len(self._pages) >= _MAX_PAGES:
                del self._pages[next(iter(self._pages))]
            if inferior_is_core() and self._unheld(page_address, _PAGE):
                self._pages[page_address] = None  # exact reads say precisely what is missing
                return None
            try:
                page = bytes(self.inferior.read_memory(page_address, _PAGE))
            except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
                page = None  # partial pages in a core: fall back to exact reads
            self._pages[page_address] = page
        return page

    def read_struct(self, layout, address):
        """The fields of a struct at `address`, as `layout` (a target StructLayout) unpacks them."""
        return layout.unpack(self.read(address, layout.size))

    def u64(self, address):
        """The 8-byte word at `address`; chains of links in one heap stay on the fast path."""
        start, end, words = self._last_words
        if start <= address < end and not address & 7:
            return words[(address - start) >> 3]
        start, end, words = self.words_around(address)
        if words is not None:
            return words[(address - start) >> 3]
        return _U64.unpack(self.read(address, 8))[0]

    def words_around(self, address):
        """(start, end, words) of the cached segment holding the word at `address`, as a
        memoryview of 8-byte words, so a loop can index it without a call per word;
        (0, 0, None) when no cached segment holds it."""
        start, end, words = self._last_words
        if start <= address < end and not address & 7:
            return self._last_words
        start, end, data = self.segment_around(address)
        if data is None:
            return 0, 0, None
        if self._last_words[0] != start or self._last_words[1] != end:
            self._last_words = (start, end, memoryview(data).cast("Q"))
        return self._last_words

    def segment_around(self, address):
        """(start, end, buffer) of the cached segment holding the aligned word at `address`;
        (0, 0, None) when none does or `address` is not 8-aligned."""
        if address & 7:
            return 0, 0, None
        index = bisect.bisect_right(self._segment_starts, address) - 1
        if index >= 0:
            seg_start, data = self._segments[index]
            if address + 8 <= seg_start + len(data) and not seg_start & 7 and not len(data) & 7:
                return seg_start, seg_start + len(data), data
        return 0, 0, None

    def word_segments(self):
        """[(start, buffer)] of the cached segments that can be read as 8-byte words (an
        aligned start, a whole number of words), in address order."""
        return [(start, data) for start, data in self._segments
                if not start & 7 and not len(data) & 7]

    def mapped_end(self, address):
        """End of the run of adjacent writable regions holding `address` (== `address` when it
        is in none), or None when the address space is unknown (no maps, no core sections)."""
        runs = self._runs()
        if not runs:
            return None
        index = bisect.bisect_right(runs[0], address) - 1
        if index >= 0 and address < runs[1][index]:
            return runs[1][index]
        return address

    def runs(self):
        """[(start, end)] of the runs of adjacent writable regions, in address order."""
        runs = self._runs()
        return list(zip(*runs)) if runs else []

    def _runs(self):
        if self._merged is None:
            starts, ends = [], []
            for start, end, _name in sorted(self.regions()):
                if ends and start <= ends[-1]:
                    ends[-1] = max(ends[-1], end)
                else:
                    starts.append(start)
                    ends.append(end)
            self._merged = (starts, ends) if starts else ()
        return self._merged

    def regions(self):
        """[(start, end, description)] of writable memory: /proc maps live, load segments in a core."""
        if self._regions is None:
            if inferior_is_core():
                regions = self.core_regions()
                # The core's own program headers name every writable mapping, dumped or not;
                # gdb's load sections only the dumped ones.
                self._regions = regions.writable_regions() if regions is not None else \
                    self._core().regions
            else:
                self._regions = _live_regions(self.inferior.pid)
        return self._regions


def refuse_unmapped(mem, start, length):
    """HeapReadError when the mappings `mem` knows do not hold all `length` bytes at `start`;
    else the end of the mapped run there (None: the mappings are unknown)."""
    mapped_end = mem.mapped_end(start)
    if mapped_end is not None and start + length > mapped_end:
        raise HeapReadError(start, length, "%#x bytes asked, only %#x are mapped there" % (
            length, max(mapped_end - start, 0)))
    return mapped_end


def _live_regions(pid):
    regions = []
    try:
        with open("/proc/%d/maps" % pid, encoding="utf-8", errors="replace") as maps:
            lines = maps.read().splitlines()
    except OSError:
        lines = _maps_from_gdb()
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 5 or "-" not in parts[0]:
            continue
        perms = parts[1]
        if len(perms) < 2 or perms[1] != "w":
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        regions.append((start, end, parts[5] if len(parts) > 5 else ""))
    return regions


def _maps_from_gdb():
    """`info proc mappings` as /proc maps lines, for a remote target (no permissions: assume w)."""
    try:
        text = gdb.execute("info proc mappings", to_string=True)
    except gdb.error:
        return []
    lines = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0].startswith("0x"):
            name = fields[5] if len(fields) > 5 else (fields[4] if len(fields) > 4 and
                                                      not fields[4].startswith("0x") else "")
            lines.append("%s-%s rw-p 0 0 0 %s" % (fields[0][2:], fields[1][2:], name))
    return lines
