"""The C helper's loops that give each listed chunk row its words (heapwalk_format,
heapwalk_entry_numbers in gdb/native/heapwalk.c), beside native.py's loops of the walk, whose
library and arrays they share: `heap chunks` hands gdb its listing a piece of whole rows at a
time.  Callers check native.available() first and run their Python loop without it."""

import array
import ctypes
import itertools

from . import native, native_classify


# How much text heapwalk_format writes per call: a piece of a listing handed to gdb at once.
_FORMAT_PIECE = 4 << 20


def format_rows(positions, start, text_of, table, prefix, separator, decimal=False,
                numbered=None):
    """Yield a listing of every row (see heapwalk_format) in pieces of whole rows, joined by
    `separator` within a piece: each row `prefix`, its header address (hex, or decimal) and
    table[text_of[row]]; with `numbered` (rows, their numbers: array('Q')s, the rows
    increasing; suffix_of: for each text, the number of the text written after a row's number,
    an array of 32-bit unsigned ints), those rows go on with their number and that text."""
    positions = native._as_array(positions)
    count = min(len(positions), len(text_of))
    if not count:
        return
    lengths = list(map(len, table))
    texts = "".join(table).encode()
    if len(texts) != sum(lengths):  # a text beyond ASCII: its bytes, not its characters
        encoded = [text.encode() for text in table]
        lengths, texts = list(map(len, encoded)), b"".join(encoded)
    offsets = array.array("Q", itertools.accumulate(lengths, initial=0))
    prefix, separator = prefix.encode(), separator.encode()
    capacity = _FORMAT_PIECE + len(prefix) + len(separator) + 32 + 2 * max(lengths)
    out = ctypes.create_string_buffer(capacity)
    next_row = ctypes.c_size_t(0)
    rows, numbers, suffix_of = numbered if numbered is not None else (None, None, None)
    if rows is not None:
        rows, numbers = native._as_array(rows), native._as_array(numbers)
        if len(rows) != len(numbers) or len(suffix_of) < len(table):
            raise ValueError("numbered rows without a number or texts without a suffix")
    while next_row.value < count:
        written = native._library.heapwalk_format(
            native._address_of(positions), ctypes.byref(next_row), count, start,
            native._address_of(text_of), len(lengths), texts, native._address_of(offsets),
            prefix, len(prefix), separator, len(separator), 1 if decimal else 0,
            native._address_of(rows) if rows is not None else None,
            native._address_of(numbers) if rows is not None else None,
            len(rows) if rows is not None else 0,
            native._address_of(suffix_of) if rows is not None else None, out, capacity)
        yield ctypes.string_at(out, written).decode()


def text_keys(fields, codes, base, keyed_rows=(), keys=()):
    """Each row's text number (see heapwalk_text_keys): (numbers, an array of 32-bit unsigned
    ints from `base` on; the distinct (size field, key) pairs in the order of their numbers),
    a pair's key being the row's code, or ROW_CODE_COUNT + keys[k] for the row keyed_rows[k]."""
    fields = native._as_array(fields)
    keyed_rows, keys = native._as_array(keyed_rows), native._as_array(keys)
    count = min(len(fields), len(codes))
    numbers = array.array(native_classify.LIST_NUMBER_TYPECODE, bytes(4 * count))
    pair_fields, pair_keys = native._Words(), native._Words()
    keyed = min(len(keyed_rows), len(keys))
    status = native._library.heapwalk_text_keys(
        native._address_of(fields), bytes(codes[:count]), count, native._address_of(keyed_rows),
        native._address_of(keys), keyed, base, native._address_of(numbers),
        ctypes.byref(pair_fields), ctypes.byref(pair_keys))
    pairs = list(zip(native._take(pair_fields), native._take(pair_keys)))
    if status != 0:
        raise MemoryError("the native text numbering ran out of memory")
    return numbers, pairs


NO_NUMBER = (1 << 64) - 1


def entry_numbers(positions, start, listed, list_first, binned_rows):
    """For each binned row, how many entries precede its first listing in the list naming it
    (see heapwalk_entry_numbers), as array('Q'), NO_NUMBER where no list names it: `listed` a
    ListedAddresses, `list_first` (array('Q')) where each list's entries begin in it."""
    positions, binned_rows = native._as_array(positions), native._as_array(binned_rows)
    list_first = native._as_array(list_first)
    out = array.array("Q", bytes(8 * len(binned_rows)))
    if not len(binned_rows):
        return out
    status = native._library.heapwalk_entry_numbers(
        native._address_of(positions), len(positions), start, native._address_of(listed.addresses),
        native._address_of(listed.numbers), len(listed), native._address_of(list_first), len(list_first),
        native._address_of(binned_rows), len(binned_rows), native._address_of(out))
    if status == -2:
        raise ValueError("chunk positions handed to the native entry numbers do not increase")
    if status != 0:
        raise MemoryError("the native entry numbers ran out of memory")
    return out

