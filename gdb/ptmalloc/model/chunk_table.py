"""Every chunk of one stop as columns: the record `heap snapshot` keeps and `heap diff` compares,
and the place `heap refs` finds the chunk around an address in.

A million-chunk heap is a million rows, so nothing here makes an object per chunk: each heap
segment's fast walk (scan.py) gives its header positions, size fields and state codes, and they
are appended to arrays whole.  The table holds, in address order: `addresses` (chunk headers),
`sizes`, `states` (one index into STATE_NAMES per row), `arenas` (the arena's address, 0 for an
mmapped chunk), `sites` (None, or one allocation site text or None per row, from
`site_provider`) and `blocks` (None, or per row the sequence number of the recorded call that
allocated the chunk's block, 0 when not known: history_sites.allocations).

Sites come from the allocation history when one is recorded (history_sites.allocation_sites):
the site provider takes the chunk header addresses and sizes (array('Q') each) and answers one
site text (or None) for each.  `site_provider`, when set, stands in for the history (the tests
set one from a program's own record)."""

import array
import bisect
import collections

from . import history_sites
from .objects import WalkStatus
from .states import ROW_STATES, ChunkState

# The chunk states a table stores, by index: the walk's states, then mmapped chunks.
MMAPPED = "mmapped"
STATE_NAMES = tuple(str(state) for state in ROW_STATES) + (MMAPPED,)
_MMAPPED_CODE = len(ROW_STATES)
# The states in which the program holds a chunk: what `heap diff` calls allocated.  A chunk a
# tcache or fastbin holds is in use for the allocator but freed by the program.
HELD_BY_PROGRAM = frozenset((str(ChunkState.IN_USE), MMAPPED))

# A stand-in for the allocation history's sites: (addresses, sizes) -> [site text or None].
site_provider = None


class ChunkTable:
    """The chunks of one stop (see the module docstring); `complete` and `problems` say whether
    every chunk could be listed."""

    def __init__(self, addresses=None, sizes=None, states=None, arenas=None, sites=None,
                 problems=(), blocks=None):
        self.addresses = addresses if addresses is not None else array.array("Q")
        self.sizes = sizes if sizes is not None else array.array("Q")
        self.states = states if states is not None else bytearray()
        self.arenas = arenas if arenas is not None else array.array("Q")
        self.sites = sites
        self.blocks = blocks
        self.problems = list(problems)
        # {"program", "pid", "core"} of what the table was taken of, when known
        # (snapshot_files.describe).
        self.inferior = None

    def __len__(self):
        return len(self.addresses)

    @property
    def complete(self):
        return not self.problems

    def state_name(self, row):
        return STATE_NAMES[self.states[row]]

    def row_holding(self, address):
        """The row of the chunk whose bytes [header, header + size) hold `address`, or -1."""
        row = bisect.bisect_right(self.addresses, address) - 1
        if row >= 0 and address < self.addresses[row] + max(self.sizes[row], 1):
            return row
        return -1


def of_stop(snap, with_sites=True):
    """The ChunkTable of a HeapSnapshot: every heap segment's chunks and the mmapped chunks."""
    scans, problems = _walked(snap)
    pieces = []
    size_mask = snap.geometry.size_mask
    for arena_address, scan in scans:
        start = scan.start
        addresses = array.array("Q", map(start.__add__, map((8).__mul__, scan.positions)))
        sizes = array.array("Q", map(size_mask.__and__, scan.fields))
        pieces.append((start, addresses, sizes, bytes(scan.state_codes()[:len(scan)]),
                       arena_address))
    mmapped = sorted(snap.mmapped_chunks(), key=lambda chunk: chunk.address)
    if mmapped:
        pieces.append((mmapped[0].address, array.array("Q", (c.address for c in mmapped)),
                       array.array("Q", (c.size for c in mmapped)),
                       bytes((_MMAPPED_CODE,)) * len(mmapped), 0))
    table = ChunkTable()
    pieces.sort(key=lambda piece: piece[0])
    for _start, addresses, sizes, codes, arena_address in pieces:
        table.addresses.extend(addresses)
        table.sizes.extend(sizes)
        table.states.extend(codes)
        table.arenas.extend(array.array("Q", (arena_address,)) * len(addresses))
    if not _pieces_in_order(pieces):
        order = sorted(range(len(table)), key=table.addresses.__getitem__)
        table = ChunkTable(array.array("Q", map(table.addresses.__getitem__, order)),
                           array.array("Q", map(table.sizes.__getitem__, order)),
                           bytearray(map(table.states.__getitem__, order)),
                           array.array("Q", map(table.arenas.__getitem__, order)))
    table.problems += problems
    if with_sites and len(table):
        if site_provider is not None:
            table.sites = list(site_provider(table.addresses, table.sizes))
        else:
            table.sites, table.blocks = history_sites.allocations(table.addresses, table.sizes)
        if table.sites is not None and not any(table.sites):
            table.sites = table.blocks = None
    return table


def _walked(snap):
    """([(arena address, SegmentScan)] of every heap segment holding chunks, the problems that
    keep the walk from listing every chunk)."""
    status = WalkStatus()
    scans = []
    for arena in snap.arenas:
        for segment in arena.heaps:
            scan = snap.scan(arena, segment, status)
            if len(scan):
                scans.append((arena.address, scan))
        if arena.heap_problem and status.complete:
            status.stop(arena.address, arena.heap_problem)
    problems = [] if status.complete else [status.problem]
    for start, end, why in status.unheld:
        problem = "chunks from %#x to %#x cannot be listed: %s" % (start, end, why)
        if problem not in problems:
            problems.append(problem)
    missing = snap.mmapped_report().missing()
    if missing > 0:
        problems.append("mp_.n_mmaps counts %d more mmapped chunk(s) than were found" % missing)
    return scans, problems


# A chunk as ChunkFinder names it: header address, size, state name, arena address (0 for an
# mmapped chunk).
Chunk = collections.namedtuple("Chunk", "address size state arena")


class ChunkFinder:
    """The chunk around an address, as the ChunkTable's row_holding finds it, looked up in the
    walk's own columns (each segment's header positions, bisected) instead of a table: for
    `heap refs`, which asks about a few addresses, so that ten million rows are never copied
    into a table.  `problems` as a table's."""

    def __init__(self, snap):
        scans, self.problems = _walked(snap)
        self._size_mask = snap.geometry.size_mask
        self._scans = scans
        self._codes = [None] * len(scans)  # each scan's state codes, made when first asked
        mmapped = sorted(snap.mmapped_chunks(), key=lambda chunk: chunk.address)
        self._mmapped_addresses = [chunk.address for chunk in mmapped]
        self._mmapped_sizes = [chunk.size for chunk in mmapped]

    def chunk_holding(self, address):
        """The Chunk whose bytes [header, header + size) hold `address`, or None: the chunk
        with the highest header at or below it, of any segment or mmapped chunk, if it reaches
        that far."""
        best = None
        for number, (arena_address, scan) in enumerate(self._scans):
            if address < scan.start:
                continue
            row = bisect.bisect_right(scan.positions, (address - scan.start) >> 3) - 1
            if row >= 0:
                header = scan.start + (scan.positions[row] << 3)
                if best is None or header > best.address:
                    if self._codes[number] is None:
                        self._codes[number] = scan.state_codes()
                    best = Chunk(header, scan.fields[row] & self._size_mask,
                                 STATE_NAMES[self._codes[number][row]], arena_address)
        row = bisect.bisect_right(self._mmapped_addresses, address) - 1
        if row >= 0 and (best is None or self._mmapped_addresses[row] > best.address):
            best = Chunk(self._mmapped_addresses[row], self._mmapped_sizes[row], MMAPPED, 0)
        if best is not None and address < best.address + max(best.size, 1):
            return best
        return None


def _pieces_in_order(pieces):
    """Whether the pieces, each in address order, follow one another without interleaving (the
    mmapped chunks, one piece, may lie between heap segments: then the table is sorted whole)."""
    return all(earlier[1][-1] < later[1][0] for earlier, later in zip(pieces, pieces[1:]))
