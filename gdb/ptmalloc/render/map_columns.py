"""What `heap map` draws, gathered from the walk's own columns: for every heap segment of every
arena, then for the mmapped chunks, each chunk's size, state code and the number of a text
(its bin, or why a region cannot be read), with the addresses given as the few rows where they
do not follow from the previous row's address and size.

Nothing here walks a heap: each segment's SegmentScan (model/scan.py, in C when the helper is
built) gives the rows and their states, and the WalkStatus of that scan the regions the walk
stepped over (damaged headers), could not read (not in a core) or stopped before (an impossible
size).  Those regions become rows of their own, so every byte the walk speaks of is drawn."""

import array
import bisect
import itertools
import operator

from ..model.objects import WalkStatus
from ..model.states import ChunkState
from .map_layout import DAMAGED, MMAPPED, STATE_CODE, UNREAD


class MapSegment:
    """One band of the map: `label`, `kind` (the segment's kind, or "mmapped"), `start`, `end`,
    `arena` (address or None), columns `sizes` (array 'Q'), `states` (bytearray of STATE_CODE
    values), `texts` (array 'I', 0 or 1 + a number in the document's text table), `jumps`
    ([(row, address)] where a row's address is not the previous one's end; always row 0), and
    `problem` (why its walk is incomplete, else None)."""

    def __init__(self, label, kind, start, end, arena=None):
        self.label = label
        self.kind = kind
        self.start = start
        self.end = end
        self.arena = arena
        self.sizes = array.array("Q")
        self.states = bytearray()
        self.texts = array.array("I")
        self.jumps = []
        self.problem = None
        # Rows that are regions the walk could not list as chunks (damaged, unread).
        self.regions = 0

    def __len__(self):
        return len(self.sizes)

    def caption(self):
        """The band's label with its chunk count, and why its walk is incomplete."""
        chunks = len(self) - self.regions
        caption = "%s · %d chunk%s" % (self.label, chunks, "" if chunks == 1 else "s")
        return caption + (" · incomplete: " + self.problem if self.problem else "")

    def rows(self):
        """Yield (address, size, state code, text number) row by row."""
        jumps = dict(self.jumps)
        address = self.start
        for row, (size, code, text) in enumerate(zip(self.sizes, self.states, self.texts)):
            address = jumps.get(row, address)
            yield address, size, code, text
            address += size

    def set_addresses(self, addresses):
        """The jumps of `addresses` (the rows' addresses, in row order), found in C-level maps."""
        if not addresses:
            self.jumps = []
            return
        ends = map(operator.add, addresses, self.sizes)
        breaks = itertools.compress(range(1, len(addresses)),
                                    map(operator.ne, itertools.islice(addresses, 1, None), ends))
        self.jumps = [(0, addresses[0])] + [(row, addresses[row]) for row in breaks]


class MapDocument:
    """Every band of the map, the `texts` table the bands' text numbers index, and `notes`
    (one line each on what keeps the picture from being the whole heap)."""

    def __init__(self, title):
        self.title = title
        self.segments = []
        self.texts = []
        self.notes = []
        self._text_numbers = {}

    def text_number(self, text):
        """1 + the text's index in the table (0 means no text)."""
        number = self._text_numbers.get(text)
        if number is None:
            self.texts.append(text)
            number = self._text_numbers[text] = len(self.texts)
        return number

    def chunk_count(self):
        """The chunks drawn, not counting the regions the walk could not list."""
        return sum(len(segment) - segment.regions for segment in self.segments)


def bin_text(chain):
    """How the hover details name a bin list."""
    if chain.kind == ChunkState.TCACHE:
        owner = " of %s" % chain.thread.label() if chain.thread is not None else ""
        return "tcache[%d]%s" % (chain.index, owner)
    if chain.kind == ChunkState.UNSORTED:
        return "unsorted bin"
    return "%s[%d]" % (chain.kind, chain.index)


def collect(snap, title, doubts):
    """The MapDocument of a stop; `doubts(snap, status, True)` adds to a WalkStatus what keeps a listing of
    every chunk from being complete (commands.chunks.doubt_listing)."""
    document = MapDocument(title)
    size_mask = snap.geometry.size_mask
    for arena in snap.arenas:
        owner = "%s %#x" % (arena.label(), arena.address)
        for segment in arena.heaps:
            band = MapSegment("%s · %s heap %#x-%#x" % (owner, segment.kind, segment.start,
                                                         segment.end),
                              segment.kind, segment.start, segment.end, arena.address)
            _fill_heap_band(document, band, snap, arena, segment, size_mask)
            document.segments.append(band)
            if band.problem:
                document.notes.append("%s: %s" % (band.label, band.problem))
        if arena.heap_problem:
            document.notes.append("%s: %s" % (owner, arena.heap_problem))
    _add_mmapped(document, snap)
    status = WalkStatus()
    doubts(snap, status, True)
    if not status.complete:
        document.notes.append(status.problem)
    return document


def _fill_heap_band(document, band, snap, arena, segment, size_mask):
    status = WalkStatus()
    scan = snap.scan(arena, segment, status)
    count = len(scan.fields)
    band.sizes = array.array("Q", map(size_mask.__and__, scan.fields))
    if scan.codes is not None and len(scan.codes) >= count:
        band.states = bytearray(scan.codes[:count])
    else:
        band.states = _codes_in_python(scan, count)
    band.texts = array.array("I", bytes(4 * count))
    rows, list_numbers, table = scan.binned_lists()
    numbers = [document.text_number(bin_text(chain)) for chain in table]
    texts = band.texts
    for row, number in zip(rows, list_numbers):
        if row < count:
            texts[row] = numbers[number]
    addresses = scan.addresses()
    for address, size, next_header in status.overruns:
        row = bisect.bisect_left(addresses, address)
        if row < count and addresses[row] == address:
            texts[row] = document.text_number(
                "its size %#x runs past the next chunk header at %#x" % (size, next_header))
    regions = [(start, end, DAMAGED, why) for start, end, why, _bad in status.gaps]
    regions += [(start, end, UNREAD, why) for start, end, why in status.unheld]
    if status.stopped_at is not None and status.stopped_at < segment.end:
        regions.append((status.stopped_at, segment.end, DAMAGED,
                        "the walk stopped: %s" % status.problem))
    band.regions = len(regions)
    for start, end, state, why in sorted(regions):
        row = bisect.bisect_left(addresses, start)
        addresses.insert(row, start)
        band.sizes.insert(row, max(end - start, 0))
        band.states.insert(row, STATE_CODE[state])
        band.texts.insert(row, document.text_number(why))
    band.set_addresses(addresses)
    if not status.complete:
        band.problem = status.problem


def _codes_in_python(scan, count):
    """The scan's row codes when the C helper did not leave them."""
    codes = bytearray([STATE_CODE[ChunkState.IN_USE]]) * count
    for row in scan.free_rows:
        codes[row] = STATE_CODE[ChunkState.FREE]
    if 0 <= scan.top_row < count:
        codes[scan.top_row] = STATE_CODE[ChunkState.TOP]
    for row, chain in zip(scan.binned_rows, scan.chains):
        if row < count:
            codes[row] = STATE_CODE[chain.kind]
    return codes


def _add_mmapped(document, snap):
    report = snap.mmapped_report()
    chunks = sorted(report.chunks, key=operator.attrgetter("address"))
    if not chunks:
        return
    band = MapSegment("mmapped chunks (%d, each its own mapping)" % len(chunks), MMAPPED,
                      chunks[0].address, chunks[-1].address + chunks[-1].size)
    band.sizes = array.array("Q", (chunk.size for chunk in chunks))
    band.states = bytearray([STATE_CODE[MMAPPED]]) * len(chunks)
    band.texts = array.array("I", bytes(4 * len(chunks)))
    band.set_addresses([chunk.address for chunk in chunks])
    document.segments.append(band)
