"""`heap chunks` lines written by the C helper: the whole listing of a segment (no --state,
--min-size, --max-size or --limit) as one table of distinct texts and, for each row, the number
of its text; heapwalk_format puts each row's address before its text.  A line per chunk made by
Python string operations costs more than all the rest of a ten-million-chunk listing."""

import array
import collections

from ..model import native, native_rows
from ..model.states import ChunkState

# The array typecode of the C uint32_t text numbers (see native.LIST_NUMBER_TYPECODE).
_NUMBER = native.LIST_NUMBER_TYPECODE


def whole_listing(wanted, limit):
    """Whether the C lines serve this listing: every row, and the helper is there."""
    return wanted is None and limit is None and native.available()


class _Table:
    """Distinct texts, numbered as they come."""

    def __init__(self, lead=""):
        self.lead = lead
        self.texts = []
        self._numbers = {}

    def number(self, text, bare=None):
        key = text if bare is None else (None, bare)
        number = self._numbers.get(key)
        if number is None:
            number = self._numbers[key] = len(self.texts)
            self.texts.append(self.lead + text if bare is None else bare)
        return number

    def bare(self, text):
        """The number of a text kept without the lead (one written after a row's number)."""
        return self.number(None, text)

    def fresh(self, texts):
        """Numbers of their own for texts seen once (bin positions), in order."""
        first = len(self.texts)
        self.texts.extend(map(self.lead.__add__, texts))
        return range(first, len(self.texts))


def _numbers(scan, table, in_use_text, special_text):
    """array of each row's text number: in_use_text(field) for rows in use, special_text(field,
    state, row) for free, top and binned rows (a text, or a number already in the table)."""
    fields = scan.fields
    by_field = {field: table.number(in_use_text(field)) for field in set(fields)}
    numbers = array.array(_NUMBER, map(by_field.__getitem__, fields))
    for row in scan.free_rows:
        numbers[row] = table.number(special_text(fields[row], ChunkState.FREE, row))
    if scan.top_row >= 0:
        row = scan.top_row
        numbers[row] = table.number(special_text(fields[row], ChunkState.TOP, row))
    return numbers


def text_pieces(scan, line_format, field_texts, state_text, where_of):
    """The segment's lines as `heap chunks` writes them (line_format % (address, column)), in
    pieces of whole lines, each ending with a newline; `where_of` gives a binned row's bin
    position text (its texts(scan), or around(chain): the texts either side of the entry
    number, which the C helper writes)."""
    before, after = line_format.split("%#x", 1)
    table = _Table(after.replace("%s", "", 1))
    numbers = _numbers(scan, table, lambda field: field_texts[field] + state_text[
        ChunkState.IN_USE], lambda field, state, _row: field_texts[field] + state_text[state])
    entries = scan.entry_numbers()
    rows, fields = scan.binned_rows, scan.fields
    if entries is None or native_rows.NO_NUMBER in entries[0]:
        columns = map(str.__add__, map(field_texts.__getitem__, map(fields.__getitem__, rows)),
                      where_of.texts(scan))
        _scatter(numbers, rows, table.fresh(columns))
        row_numbers = suffix_of = None
    else:
        entry_of, list_of = entries
        lists = scan.binned_lists()[2]
        around = {number: where_of.around(lists[number]) for number in set(list_of)}
        keys = list(zip(map(fields.__getitem__, rows), list_of))
        leads = {key: table.number(field_texts[key[0]] + around[key[1]][0])
                 for key in set(keys)}
        _scatter(numbers, rows, map(leads.__getitem__, keys))
        tails = {number: table.bare(texts[1]) for number, texts in around.items()}
        suffix_of = array.array(_NUMBER, bytes(4 * len(fields)))
        _scatter(suffix_of, rows, map(tails.__getitem__, list_of))
        row_numbers = array.array("Q", [native_rows.NO_NUMBER]) * len(fields)
        _scatter(row_numbers, rows, entry_of)
    for piece in native_rows.format_rows(scan.positions, scan.start, numbers, table.texts, before,
                                    "\n", numbers=row_numbers, suffix_of=suffix_of):
        yield piece + "\n"


def _scatter(values, rows, new_values):
    """values[row] = each of new_values, row by row of `rows`, in C-level loops."""
    collections.deque(map(values.__setitem__, rows, new_values), maxlen=0)


def json_pieces(scan, suffix):
    """The segment's chunk objects as `heap chunks --json` writes them ('{"address":N' and
    suffix(field, state)), in pieces of whole objects joined by commas."""
    table = _Table()
    numbers = _numbers(scan, table, lambda field: suffix(field, ChunkState.IN_USE),
                       lambda field, state, _row: suffix(field, state))
    fields = scan.fields
    # A binned row's text depends on its size field and its list's kind: one text per distinct
    # (field, list) pair, scattered over the rows in C-level loops, no statement per row.
    rows, list_of, lists = scan.binned_lists()
    keys = list(zip(map(fields.__getitem__, rows), list_of))
    texts = {key: table.number(suffix(key[0], lists[key[1]].kind)) for key in set(keys)}
    _scatter(numbers, rows, map(texts.__getitem__, keys))
    return native_rows.format_rows(scan.positions, scan.start, numbers, table.texts,
                              '{"address":', ",", decimal=True)
