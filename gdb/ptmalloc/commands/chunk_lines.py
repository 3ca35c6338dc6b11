"""`heap chunks` lines written by the C helper: the whole listing of a segment (no --state,
--min-size, --max-size or --limit) as one table of distinct texts and, for each row, the number
of its text; heapwalk_format puts each row's address before its text.  A line per chunk made by
Python string operations costs more than all the rest of a ten-million-chunk listing."""

import array
import collections

from ..model import native, native_classify, native_rows
from ..model.states import ROW_STATES, ChunkState

# The array typecode of the C uint32_t text numbers (see native_classify.LIST_NUMBER_TYPECODE).
_NUMBER = native_classify.LIST_NUMBER_TYPECODE
# A text number that names no text (heapwalk_format writes no suffix after such a row's number).
_NO_TEXT = (1 << 32) - 1
# A pair key from here on is a binned row's list (see native_rows.text_keys).
_ROW_CODE_COUNT = len(ROW_STATES)


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
    entries = scan.entry_numbers()
    if scan.codes is not None and entries is not None and native_rows.NO_NUMBER not in entries[0]:
        pieces = _numbered_pieces(scan, table, before, field_texts, state_text, where_of, entries)
    else:
        pieces = _scattered_pieces(scan, table, before, field_texts, state_text, where_of)
    for piece in pieces:
        yield piece + "\n"


def _numbered_pieces(scan, table, before, field_texts, state_text, where_of, entries):
    """text_pieces when the C helper knows each row's state and each binned row's place in its
    list: one text per (size field, state or list), numbered in C."""
    entry_of, list_of = entries
    lists = scan.binned_lists()[2]
    around = {number: where_of.around(lists[number]) for number in set(list_of)}
    numbers, pairs = native_rows.text_keys(scan.fields, scan.codes, len(table.texts),
                                           scan.binned_rows, list_of)
    texts, tails = [], []
    for field, key in pairs:
        if key >= _ROW_CODE_COUNT:  # a binned row's: its list's texts either side of its place
            lead, tail = around[key - _ROW_CODE_COUNT]
            texts.append(field_texts[field] + lead)
            tails.append(tail)
        else:
            texts.append(field_texts[field] + state_text[ROW_STATES[key]])
            tails.append(None)
    table.fresh(texts)  # in the order of the C numbers, each its own: a tail goes by its text
    suffix_of = array.array(_NUMBER, [_NO_TEXT if tail is None else table.bare(tail)
                                      for tail in tails])
    suffix_of.extend([_NO_TEXT] * (len(table.texts) - len(suffix_of)))  # the tails' own
    return native_rows.format_rows(scan.positions, scan.start, numbers, table.texts, before,
                                   "\n", numbered=(scan.binned_rows, entry_of, suffix_of))


def _scattered_pieces(scan, table, before, field_texts, state_text, where_of):
    """text_pieces with each binned row's whole text made in Python."""
    numbers = _numbers(scan, table, lambda field: field_texts[field] + state_text[
        ChunkState.IN_USE], lambda field, state, _row: field_texts[field] + state_text[state])
    rows, fields = scan.binned_rows, scan.fields
    columns = map(str.__add__, map(field_texts.__getitem__, map(fields.__getitem__, rows)),
                  where_of.texts(scan))
    _scatter(numbers, rows, table.fresh(columns))
    return native_rows.format_rows(scan.positions, scan.start, numbers, table.texts, before,
                                   "\n")


def _scatter(values, rows, new_values):
    """values[row] = each of new_values, row by row of `rows`, in C-level loops."""
    collections.deque(map(values.__setitem__, rows, new_values), maxlen=0)


def json_pieces(scan, suffix):
    """The segment's chunk objects as `heap chunks --json` writes them ('{"address":N' and
    suffix(field, state)), in pieces of whole objects joined by commas."""
    table = _Table()
    if scan.codes is not None:
        # A row's text depends on its size field and its code (its state, or its list's kind):
        # the C helper numbers the distinct pairs and each row's, no statement per row.
        numbers, pairs = native_rows.text_keys(scan.fields, scan.codes, 0)
        table.fresh(suffix(field, ROW_STATES[code]) for field, code in pairs)
        return native_rows.format_rows(scan.positions, scan.start, numbers, table.texts,
                                       '{"address":', ",", decimal=True)
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
