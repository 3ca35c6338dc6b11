"""The chunk walk of one heap segment, done in two passes so a million chunks cost well under a
second of Python.

Pass one (pass_one.py) follows the size fields through the segment's bulk-read words with the
least possible work per chunk (append the position, add the size): it cannot run forever,
because every step moves forward (a zero size jumps past the end) and the loop ends at the
segment's last word. Pass two judges the result in bulk with C-level tools (array,
bytes.translate, itertools.compress) instead of a Python test per chunk: the first size with bit
3 set, the top chunk, the last chunk's size, and which chunks a clear PREV_INUSE bit in their
successor marks as free. The verdicts are the same as a chunk-by-chunk walk that checks each
header in order: top ends the walk, a zero size ends it quietly (the 0|PREV_INUSE fencepost), an
impossible size or a header past the end stops it with a reason."""

import array
import bisect
import collections
import itertools
import operator

from ..errors import HeapReadError
from . import native_classify, native_live, native_rows, resync
from .pass_one import (first_impossible_size, low_byte_tables, low_bytes_of, pass_one,
                       walked_length)
from .states import ROW_CODE, ROW_STATES, ChunkState

# The segment is read as 8-byte words: positions are word indexes.
_EIGHT = 8
_SEVEN = 7
_THREE = 3
_IN_USE = (ChunkState.IN_USE, None)


class SegmentScan:
    """The chunks of one heap segment, as columns.

    `start` (segment start address), `words` (the segment as 8-byte words), `positions` (word
    index of each chunk header, in address order), `fields` (each chunk's raw size field),
    `top_row` (row of the top chunk, or -1), `binned_rows` and `chains` (rows listed in a bin and
    the BinList of each), `free_rows` (rows in no bin whose successor says they are free).
    Every other row is in use.  The C scan also leaves `codes` (one ROW_* or list kind code per
    row) and finds `chains` only when asked."""

    __slots__ = ("geometry", "start", "words", "positions", "fields", "top_row", "binned_rows",
                 "_chains", "free_rows", "codes", "_chain_numbers", "_chain_table", "_listed",
                 "prev_sizes")

    def __init__(self, geometry, start, words=None):
        self.geometry = geometry
        self.start = start
        self.words = words
        self.positions = []
        self.fields = []
        self.top_row = -1
        self.binned_rows = []
        self._chains = []
        self.free_rows = []
        self.codes = None
        self._chain_numbers = None
        self._chain_table = None
        self._listed = None
        self.prev_sizes = None  # array('Q'), each row's: a segment walked a window at a time

    def __len__(self):
        return len(self.positions)

    @property
    def chains(self):
        if self._chains is None:
            self._chains = list(map(self._chain_table.__getitem__, self._chain_numbers))
        return self._chains

    def chain_at(self, number):
        """The BinList of the `number`th binned row, without making the whole chains list."""
        if self._chains is not None:
            return self._chains[number]
        return self._chain_table[self._chain_numbers[number]]

    def entry_numbers(self):
        """(for each binned row, how many entries precede it in the list naming it first, as
        array('Q'); the number of that list in `binned_lists`'s table), from the C helper, or
        None without it."""
        listed = self._listed
        if listed is None or self._chain_numbers is None or listed.native_listed is None:
            return None
        lengths = (len(chain.packed if chain.packed is not None else chain.chunks)
                   for chain in listed.table)
        first = array.array("Q", itertools.accumulate(lengths, initial=0))
        return native_rows.entry_numbers(self.positions, self.start, listed.native_listed, first,
                                    self.binned_rows), self._chain_numbers

    def binned_lists(self):
        """(binned rows, the number of the list naming each, the BinLists by number)."""
        if self._chains is None:
            return self.binned_rows, self._chain_numbers, self._chain_table
        table = list({id(chain): chain for chain in self._chains}.values())
        numbers = {id(chain): number for number, chain in enumerate(table)}
        return self.binned_rows, [numbers[id(chain)] for chain in self._chains], table

    def addresses(self, first=0, last=None):
        """Header addresses of rows first..last-1, without a Python statement per row."""
        rows = self.positions[first:last]
        return list(map(self.start.__add__, map(_EIGHT.__mul__, rows)))

    def states(self):
        """{row: (state, BinList or None)} for every row that is not in use."""
        special = dict(zip(self.binned_rows, zip(map(_KIND, self.chains), self.chains)))
        for row in self.free_rows:
            special[row] = (ChunkState.FREE, None)
        if self.top_row >= 0:
            special[self.top_row] = (ChunkState.TOP, None)
        return special

    def rows(self, prev_size_index):
        """Yield (address, size field, prev_size, state, BinList or None) row by row."""
        special = self.states()
        words, start = self.words, self.start
        in_use = _IN_USE
        prev_sizes = self.prev_sizes if self.prev_sizes is not None else \
            (words[word + prev_size_index] for word in self.positions)
        for row, (word, field, prev_size) in enumerate(zip(self.positions, self.fields,
                                                           prev_sizes)):
            yield (start + (word << 3), field, prev_size) + special.get(row, in_use)

    def state_codes(self):
        """One ROW_CODE per row (a bytes-like), as the C helper's classification leaves them."""
        if self.codes is not None:
            return self.codes
        codes = bytearray((ROW_CODE[ChunkState.IN_USE],)) * len(self.positions)
        for row, (state, _chain) in self.states().items():
            codes[row] = ROW_CODE[state]
        return codes

    def binned_addresses(self):
        """Header addresses of the binned rows, in row order."""
        return self.addresses_of(self.binned_rows)

    def addresses_of(self, rows):
        """Header addresses of the given rows."""
        return list(map(self.start.__add__, map(_EIGHT.__mul__,
                                                map(self.positions.__getitem__, rows))))

    def add_to_histogram(self, histogram):
        """Count the rows into {(size, state): count}."""
        size_mask = self.geometry.size_mask
        if self.codes is not None:
            # A key is the size with the row's code in the flag bits the size does not use.
            code_bits = ~size_mask
            for key, count in native_classify.histogram(self.fields, self.codes, len(self.codes),
                                               size_mask).items():
                size_state = (key & size_mask, ROW_STATES[key & code_bits])
                histogram[size_state] = histogram.get(size_state, 0) + count
            return
        fields = self.fields
        field_of = fields.__getitem__
        special = collections.Counter(zip(map(field_of, self.binned_rows),
                                          map(_KIND, self.chains)))
        special.update(zip(map(field_of, self.free_rows), itertools.repeat(ChunkState.FREE)))
        if self.top_row >= 0:
            special[(fields[self.top_row], ChunkState.TOP)] += 1
        in_use = collections.Counter(fields)
        for (field, state), count in special.items():
            in_use[field] -= count
            key = (field & size_mask, state)
            histogram[key] = histogram.get(key, 0) + count
        for field, count in in_use.items():
            if count:
                key = (field & size_mask, ChunkState.IN_USE)
                histogram[key] = histogram.get(key, 0) + count


_KIND = operator.attrgetter("kind")


def scan_segment(mem, geometry, start, end, top, listed, status, whole=False):
    """The SegmentScan of the heap segment [start, end) whose arena's top chunk is `top`.

    `listed` (free_lists.ListedChunks) says which chunk addresses a bin lists.  A walk that stops early
    records why in `status` (a WalkStatus).  A big live segment is walked a window at a time
    (native_live.py) unless `whole`: the walk past damage looks at the whole segment."""
    limit = max(end - start, 0)
    length = walked_length(start, end)
    if length == 0:
        return SegmentScan(geometry, start)
    # A size field steps by size >> 3 words: the flag bits lie below a word's 8 bytes, so the
    # shift drops them (Geometry checks that they do).
    size_index, size_mask = geometry.size_offset >> 3, geometry.size_mask
    data = offset = prev_sizes = None
    try:
        if not whole and native_live.windowed(mem, start, length):
            words, positions, fields, prev_sizes, header_past_end = native_live.scan_windows(
                mem, start, length, size_index, geometry.prev_size_offset >> 3)
        else:
            data, offset = mem.read_segment_buffer(start, length)
    except HeapReadError as error:
        if not error.missing:
            status.stop(start, str(error))
            return SegmentScan(geometry, start)
        return _scan_held_part(mem, geometry, start, end, top, listed, status, error)
    if data is not None:
        words = memoryview(data)[offset:offset + length].cast("Q")
        positions, fields, header_past_end = pass_one(data, offset, words, 0, size_index)
    scan = SegmentScan(geometry, start, words)
    scan.positions, scan.fields, scan.prev_sizes = positions, fields, prev_sizes
    count = len(fields)
    low_bytes = low_bytes_of(fields)
    previous_free = low_byte_tables(geometry)[1]

    cut = count
    first_bad = first_impossible_size(low_bytes, geometry)
    top_row = row_of(positions, top, start, end)
    resumed_rows = ()
    if start <= top < end and (top_row < 0 or 0 <= first_bad < top_row):
        if data is None:  # walked a window at a time: the damage is looked at in the whole
            return scan_segment(mem, geometry, start, end, top, listed, status, whole=True)
        resumed = _resume_past_damage(scan, data, offset, geometry, top, listed, first_bad)
        if resumed is not None:
            _note_damage(status, resumed, start, geometry)
            positions, fields, header_past_end = resumed.positions, resumed.fields, None
            scan.positions, scan.fields = positions, fields
            count = cut = len(fields)
            low_bytes = low_bytes_of(fields)
            first_bad = first_impossible_size(low_bytes, geometry)
            top_row = row_of(positions, top, start, end)
            resumed_rows = resumed.resumed
    if top_row >= 0 and (first_bad < 0 or top_row <= first_bad):
        cut = top_row + 1
        scan.top_row = top_row
    elif first_bad >= 0:
        cut = first_bad
        _stop_invalid(status, start, positions[cut], fields[cut])
    elif header_past_end is not None:
        address = start + (header_past_end << 3)
        status.stop(address, "chunk header at %#x runs past the heap end %#x" % (address, end))
    elif count:
        last = count - 1
        offset = positions[last] << 3
        size = fields[last] & size_mask
        if not size:
            cut = last
            if offset + geometry.header_size > limit:
                status.stop(start + offset, "zero size at %#x" % (start + offset))
        elif offset + size > limit:
            cut = last
            _stop_invalid(status, start, positions[last], fields[last])
        elif start <= top < end:
            status.stop(start + offset + size, "the walk did not reach top %#x" % top)
    # A row is free when its successor's PREV_INUSE is clear, also when that successor is the
    # header the walk stopped at: the header was read, as a chunk-by-chunk walk would.  So the
    # rows are judged before the rows from the cut on are dropped.
    # The header a walk resumed at speaks of its own predecessor, which lies in the gap (or is
    # the overrunning chunk): it says nothing of the row before it in the list.
    judged = fields
    if resumed_rows:
        judged = array.array("Q", fields)
        for row in resumed_rows:
            if row < len(judged):
                judged[row] |= geometry.prev_inuse
        low_bytes = low_bytes_of(judged)
    if listed.native_listed is not None:
        scan.codes, scan.binned_rows, scan._chain_numbers, scan.free_rows = native_classify.classify(
            positions, judged, cut, scan.top_row, start, listed.native_listed, listed.kind_codes,
            geometry.prev_inuse)
        scan._chain_table = listed.table
        scan._listed = listed
        scan._chains = None
    else:
        _classify(scan, low_bytes.translate(previous_free), cut, len(words), listed)
    if cut < count:
        # Slices, not deletions: the C scan's columns are views of its own buffers.
        scan.positions, scan.fields = positions[:cut], fields[:cut]
        if prev_sizes is not None:
            scan.prev_sizes = prev_sizes[:cut]
    return scan


def _scan_held_part(mem, geometry, start, end, top, listed, status, error):
    """The scan of the part of a segment a core holds, when it lacks the rest: the walk goes
    as far as whole chunks are held and says the rest is not in the core.  The chunk the hole
    cuts through is left out with the rest: its successor's PREV_INUSE, which tells its
    state, is not there to read."""
    held = mem.held_length(start, end - start) & ~(geometry.alignment - 1)
    inner = type(status)()
    if held >= 2 * geometry.header_size:
        scan = scan_segment(mem, geometry, start, start + held,
                            top if start <= top < start + held else 0, listed, inner)
    else:
        scan = SegmentScan(geometry, start)
    walked_end = start
    if scan.fields:
        walked_end = start + (scan.positions[-1] << 3) + (scan.fields[-1] & geometry.size_mask)
    if scan.top_row >= 0:
        # Top is held: the missing bytes are inside top's own body, no chunk is lost.
        return scan
    status.missing(walked_end, end, error.why)
    return scan


def _resume_past_damage(scan, data, offset, geometry, top, listed, first_bad):
    """The walk of a top segment that broke before top, resumed past each break (resync.py),
    or None when no header past the damage can be proved."""
    words, start = scan.words, scan.start
    word_count = len(words)
    size_index, size_mask = geometry.size_offset >> 3, geometry.size_mask
    top_word = (top - start) >> 3
    rules = resync.ChainRules.of_segment(words, start, geometry)
    anchors = {top_word, word_count}
    listed_addresses = (listed.native_listed.addresses if listed.native_listed is not None
                        else listed.sorted_keys or ())
    end = start + (word_count << 3)
    anchors.update((address - start) >> 3 for address in listed_addresses
                   if start <= address < end and not (address - start) & 7)

    def bad_row_of(positions, fields, first_bad):
        """The row where a run went wrong, or None when it reached top."""
        top_row = bisect.bisect_left(positions, top_word)
        if top_row < len(positions) and positions[top_row] == top_word and \
                (first_bad < 0 or first_bad > top_row):
            del positions[top_row + 1:]
            del fields[top_row + 1:]
            return None
        if first_bad >= 0:
            return min(first_bad, top_row)
        if fields and (not fields[-1] & size_mask or
                       positions[-1] + ((fields[-1] & size_mask) >> 3) > word_count):
            # A zero size, or one past the segment's end: that header is not a chunk's.
            return min(len(fields) - 1, top_row)
        return min(len(fields), top_row)

    def follow(position):
        positions, fields, _ = pass_one(data, offset, words, position, size_index)
        positions, fields = list(positions), list(fields)
        return positions, fields, bad_row_of(
            positions, fields, first_impossible_size(low_bytes_of(fields), geometry))

    positions, fields = list(scan.positions), list(scan.fields)
    return resync.resume_walk(rules, positions, fields,
                              bad_row_of(positions, fields, first_bad), anchors, follow)


def _note_damage(status, resumed, start, geometry):
    for first, resume, bad in resumed.gaps:
        bad_address = start + (bad << 3)
        status.gap(start + (first << 3), start + (resume << 3),
                   "the chunk header at %#x is not one (the walk resumes at %#x, the first "
                   "header whose chain of sizes reaches top or a listed chunk)"
                   % (bad_address, start + (resume << 3)), bad_address)
    for row, resume in resumed.overruns:
        status.overrun(start + (resumed.positions[row] << 3),
                       geometry.chunk_size(resumed.fields[row]), start + (resume << 3))
    if resumed.stopped is not None:
        status.stop(start + (resumed.stopped << 3),
                    "no chunk header could be proved past %#x" % (start + (resumed.stopped << 3)))


def _classify(scan, previous_free_marks, cut, word_count, listed):
    """Pass two's row verdicts in Python (native_classify.classify is the same in C): binned rows and
    their lists, and free rows, among rows 0..cut-1.  `previous_free_marks` has 1 for each row
    whose PREV_INUSE is clear."""
    positions, start = scan.positions, scan.start
    previous_free = previous_free_marks[1:cut + 1]
    binned = _binned_selector(positions[:cut], start, start + (word_count << 3), word_count,
                              listed.sorted_keys)
    if binned is not None:
        if scan.top_row >= 0:
            binned[scan.top_row] = 0
        scan.binned_rows = list(itertools.compress(range(cut), binned))
        scan._chains = list(map(listed.by_address.__getitem__, scan.binned_addresses()))
        free = itertools.compress(range(cut), previous_free)
        scan.free_rows = [row for row in free if not binned[row] and row != scan.top_row]
    else:
        scan.free_rows = [row for row in itertools.compress(range(cut), previous_free)
                          if row != scan.top_row]


def _stop_invalid(status, start, word, field):
    address = start + (word << 3)
    status.stop(address, "invalid size %#x at %#x" % (field, address))


def row_of(positions, address, start, end):
    """Row of the chunk header at `address`, or -1 when the walk did not land on it."""
    if not start <= address < end or (address - start) & 7:
        return -1
    word = (address - start) >> 3
    row = bisect.bisect_left(positions, word)
    return row if row < len(positions) and positions[row] == word else -1


def _binned_selector(positions, start, end, word_count, free_index_keys):
    """A bytearray with 1 for each row listed in a bin, or None when no bin lists any address
    of the segment."""
    first = bisect.bisect_left(free_index_keys, start)
    last = bisect.bisect_left(free_index_keys, end)
    if first == last:
        return None
    marks = bytearray(word_count)
    offsets = map(start.__rsub__, itertools.islice(free_index_keys, first, last))
    words = map(_THREE.__rrshift__, itertools.filterfalse(_SEVEN.__and__, offsets))
    collections.deque(map(marks.__setitem__, words, itertools.repeat(1)), maxlen=0)
    return bytearray(map(marks.__getitem__, positions))
