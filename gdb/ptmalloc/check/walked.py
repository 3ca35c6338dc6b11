"""What the heap check's walks met, for the rules that ask about chunks a list or a thread
points at: `walked.get(address)` is (arena address, size) of the walked chunk whose header is at
`address`, else None.

A dict of every listed chunk (millions on a big heap) would cost seconds to build and hundreds
of megabytes to hold, while the walk's columns already say it: each segment's scan is kept and
an address is looked up in its positions.  The bin-membership rule asks about whole lists at
once (`list_tallies`): how many of each list's entries the walk met, and the smallest and
largest of their sizes, counted from the scans' binned rows (in C when the helper is there)."""

import array
import bisect

from ..model import native, native_classify
from ..model.scan import row_of


class ListTally:
    """One list's entries as the walks met them: `count` rows in the segments of `arenas`
    ({arena address: rows}), sizes from `low` to `high`."""

    __slots__ = ("count", "arenas", "low", "high")

    def __init__(self):
        self.count = 0
        self.arenas = {}
        self.low = None
        self.high = None

    def add(self, arena, count, low, high):
        self.count += count
        self.arenas[arena] = self.arenas.get(arena, 0) + count
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)


class WalkedChunks:
    """The walked segments' scans, looked up by chunk address (a read-only mapping to
    (arena address, size)), and the few chunks recorded one by one (`record`)."""

    def __init__(self):
        self._starts = []
        self._scans = []  # (start, end, scan, arena address), sorted by start
        self._recorded = {}

    def add_scan(self, scan, arena, size_mask):
        end = scan.start + (len(scan.words or ()) << 3)
        position = bisect.bisect_right(self._starts, scan.start)
        self._starts.insert(position, scan.start)
        self._scans.insert(position, (scan.start, end, scan, arena, size_mask))

    def record(self, address, arena, size):
        self._recorded[address] = (arena, size)

    def get(self, address, default=None):
        facts = self._recorded.get(address)
        if facts is not None:
            return facts
        # The last segment starting at or below the address that holds it (segments do not
        # overlap; were two to, the one walked last would answer, as a dict written in walk
        # order would).
        index = bisect.bisect_right(self._starts, address) - 1
        while index >= 0:
            start, end, scan, arena, size_mask = self._scans[index]
            if address < end:
                row = row_of(scan.positions, address, start, end)
                if row >= 0:
                    return arena, scan.fields[row] & size_mask
            index -= 1
        return default

    def __contains__(self, address):
        return self.get(address) is not None

    def __getitem__(self, address):
        facts = self.get(address)
        if facts is None:
            raise KeyError(address)
        return facts

    def list_tallies(self):
        """{id(BinList): ListTally} of the lists that name some walked row (the first list
        naming a row is the one it counts for)."""
        tallies = {}
        for _start, _end, scan, arena, size_mask in self._scans:
            rows, listed, table = scan.binned_lists()
            count = len(table)
            if not len(rows):
                continue
            if native.available():
                counts = array.array("Q", bytes(8 * count))
                low = array.array("Q", [(1 << 64) - 1]) * count
                high = array.array("Q", bytes(8 * count))
                native_classify.tally(scan.fields, rows, listed, size_mask, counts, low, high)
                found = ((number, counts[number], low[number], high[number])
                         for number in range(count) if counts[number])
            else:
                found = _tally_in_python(scan.fields, rows, listed, size_mask, count)
            for number, rows_named, smallest, largest in found:
                tally = tallies.get(id(table[number]))
                if tally is None:
                    tally = tallies[id(table[number])] = ListTally()
                tally.add(arena, rows_named, smallest, largest)
        return tallies


def _tally_in_python(fields, rows, listed, size_mask, count):
    tallies = {}
    for row, number in zip(rows, listed):
        if row >= len(fields) or number >= count:
            continue
        size = fields[row] & size_mask
        entry = tallies.get(number)
        if entry is None:
            tallies[number] = [1, size, size]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], size)
            entry[2] = max(entry[2], size)
    return ((number, *entry) for number, entry in sorted(tallies.items()))
