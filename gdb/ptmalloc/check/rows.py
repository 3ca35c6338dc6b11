"""The heap check's view of one walked segment: which chunks need the per-chunk rules at all.

On a healthy heap almost every chunk passes every chunk rule, and a Python statement per chunk
is what makes a million-chunk audit slow.  The rules (heap.HeapRules._check_chunk) can only fire on
a chunk that is below MINSIZE, carries the wrong NON_MAIN_ARENA bit, says PREV_INUSE after a
chunk filed in a bin, or says !PREV_INUSE without the binned predecessor and matching prev_size
that make that legal; `Rows.suspicious` finds those from the SegmentScan's columns with bulk
operations, and only they become Chunk objects."""

import bisect
import itertools

from ..model import native, native_classify
from ..model.objects import Chunk
from ..model.pass_one import low_byte_tables, low_bytes_of
from ..model.states import BINNED, CACHED_OR_IN_USE, ROW_STATES, ChunkState

_IN_USE = (ChunkState.IN_USE, None)
# A C scan row code -> 1 when it stands for a chunk filed in the unsorted, a small or a large bin.
_IN_BIN_CODES = bytes(1 if code < len(ROW_STATES) and ROW_STATES[code] in BINNED else 0
                      for code in range(256))

# 1 for a code that stands for a chunk cached in a tcache or fastbin, or in use.
_CACHED_OR_IN_USE_CODES = bytes(1 if code < len(ROW_STATES) and ROW_STATES[code] in
                                CACHED_OR_IN_USE else 0 for code in range(256))


class Rows:
    """A SegmentScan with each row's state at hand."""

    def __init__(self, snap, scan, arena_address):
        self.scan = scan
        self.arena = arena_address
        self.geometry = snap.geometry
        self.prev_index = snap.prev_size_offset >> 3
        # {row: (state, BinList)} of the rows not in use; the C scan's row codes say the same
        # without a dict of every free and listed row (hundreds of thousands on a big heap).
        self._special = None if scan.codes is not None else scan.states()

    def state(self, row):
        codes = self.scan.codes
        if codes is not None:
            return ROW_STATES[codes[row]] if 0 <= row < len(codes) else _IN_USE[0]
        return self._special.get(row, _IN_USE)[0]

    def _state_and_chain(self, row):
        if self._special is not None:
            return self._special.get(row, _IN_USE)
        state = self.state(row)
        scan = self.scan
        listed = bisect.bisect_left(scan.binned_rows, row)
        if listed < len(scan.binned_rows) and scan.binned_rows[listed] == row:
            return state, scan.chain_at(listed)
        return state, None

    def chunk(self, row):
        """The Chunk of `row`, or None outside the walk."""
        scan = self.scan
        if not 0 <= row < len(scan.positions):
            return None
        state, chain = self._state_and_chain(row)
        word = scan.positions[row]
        prev_size = scan.words[word + self.prev_index] if scan.prev_sizes is None else \
            scan.prev_sizes[row]
        return Chunk(self.geometry, scan.start + (word << 3), scan.fields[row], prev_size, state,
                     chain, self.arena)

    def chunk_ending_at(self, address):
        """The Chunk of the row that ends exactly at `address`, or None."""
        scan = self.scan
        word = (address - scan.start) >> 3
        row = bisect.bisect_left(scan.positions, word) - 1
        chunk = self.chunk(row)
        return chunk if chunk is not None and chunk.address + chunk.size == address else None

    def record_walked(self, walked):
        """Hand the scan to `walked` (walked.WalkedChunks), which answers for every chunk a bin,
        a tcache or a thread points at from the scan's columns."""
        walked.add_scan(self.scan, self.arena, self.geometry.size_mask)

    def _top_address(self):
        scan = self.scan
        if scan.top_row < 0:
            return None
        return scan.start + (scan.positions[scan.top_row] << 3)

    def _in_bin_marks(self, count):
        """1 for each row filed in the unsorted, a small or a large bin, else 0."""
        scan = self.scan
        if scan.codes is not None:
            return scan.codes.translate(_IN_BIN_CODES)
        marks = bytearray(count)
        for row, chain in zip(scan.binned_rows, scan.chains):
            if chain.kind in BINNED:
                marks[row] = 1
        return marks

    def suspicious(self, is_main):
        """Rows, in walk order, on which some chunk rule may fire."""
        scan = self.scan
        geometry = self.geometry
        fields = scan.fields
        count = len(fields)
        if scan.codes is not None and scan.words is not None and native.available() and \
                len(scan.codes) >= count:
            words = scan.prev_sizes if scan.prev_sizes is not None else scan.words
            return native_classify.suspicious(
                fields, scan.positions, words, self.prev_index, self._in_bin_marks(count),
                scan.codes.translate(_CACHED_OR_IN_USE_CODES), scan.top_row,
                (geometry.min_chunk_size, geometry.non_main_arena, is_main,
                 geometry.prev_inuse, geometry.size_mask))
        rows = set(itertools.compress(range(count), map(geometry.min_chunk_size.__gt__, fields)))
        rows.discard(scan.top_row)
        arena_bit = geometry.non_main_arena
        arena_bits = map(arena_bit.__and__, fields)
        if not is_main:
            arena_bits = map(arena_bit.__xor__, arena_bits)
        state = self.state
        # Chunks whose NON_MAIN_ARENA bit free() relies on; a chunk filed in a bin has lost it.
        rows.update(row for row in itertools.compress(range(count), arena_bits)
                    if state(row) in CACHED_OR_IN_USE)
        in_bin = self._in_bin_marks(count)
        prev_inuse = geometry.prev_inuse
        for row in itertools.compress(range(count), in_bin):
            if row + 1 < count and fields[row + 1] & prev_inuse:
                rows.add(row + 1)
        low_bytes = low_bytes_of(fields)
        _misaligned, previous_free = low_byte_tables(geometry)
        words, positions, prev_index = scan.words, scan.positions, self.prev_index
        size_mask = geometry.size_mask
        for row in itertools.compress(range(count), low_bytes.translate(previous_free)):
            if row and in_bin[row - 1] and \
                    words[positions[row] + prev_index] == fields[row - 1] & size_mask:
                continue  # a binned chunk and a successor that agrees: nothing to check
            rows.add(row)
        return sorted(rows)

