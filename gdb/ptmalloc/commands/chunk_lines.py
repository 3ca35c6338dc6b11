"""`heap chunks` lines written by the C helper: the whole listing of a segment (no --state,
--min-size, --max-size or --limit) as one table of distinct texts and, for each row, the number
of its text; heapwalk_format puts each row's address before its text.  A line per chunk made by
Python string operations costs more than all the rest of a ten-million-chunk listing."""

import array

from ..model import native
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

    def number(self, text):
        number = self._numbers.get(text)
        if number is None:
            number = self._numbers[text] = len(self.texts)
            self.texts.append(self.lead + text)
        return number

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


def text_pieces(scan, line_format, field_texts, state_text, where_texts):
    """The segment's lines as `heap chunks` writes them (line_format % (address, column)), in
    pieces of whole lines, each ending with a newline."""
    before, after = line_format.split("%#x", 1)
    table = _Table(after.replace("%s", "", 1))
    numbers = _numbers(scan, table, lambda field: field_texts[field] + state_text[
        ChunkState.IN_USE], lambda field, state, _row: field_texts[field] + state_text[state])
    rows = scan.binned_rows
    columns = map(str.__add__, map(field_texts.__getitem__, map(scan.fields.__getitem__, rows)),
                  where_texts)
    for row, number in zip(rows, table.fresh(columns)):
        numbers[row] = number
    for piece in native.format_rows(scan.positions, scan.start, numbers, table.texts, before,
                                    "\n"):
        yield piece + "\n"


def json_pieces(scan, suffix):
    """The segment's chunk objects as `heap chunks --json` writes them ('{"address":N' and
    suffix(field, state)), in pieces of whole objects joined by commas."""
    table = _Table()
    numbers = _numbers(scan, table, lambda field: suffix(field, ChunkState.IN_USE),
                       lambda field, state, _row: suffix(field, state))
    fields = scan.fields
    kinds = {}
    for row, chain in zip(scan.binned_rows, scan.chains):
        key = (fields[row], chain.kind)
        number = kinds.get(key)
        if number is None:
            number = kinds[key] = table.number(suffix(*key))
        numbers[row] = number
    return native.format_rows(scan.positions, scan.start, numbers, table.texts,
                              '{"address":', ",", decimal=True)
