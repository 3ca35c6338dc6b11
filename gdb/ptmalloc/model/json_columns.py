"""JSON documents that carry columns of numbers as base64 strings (`heap snapshot` files), written
and read without the whole text ever being a Python string.

A ten-million-chunk snapshot is a third of a gigabyte of base64.  Through `json.dump` and
`json.loads` each column would be made as text, escaped or unescaped and encoded or decoded
again, several copies of it at once.  Here a column goes out as base64 encoded a few megabytes
at a time from the array's own bytes (a thread of its own writes one piece while the next is
encoded), and comes back read from the file a block at a time into one buffer and decoded into
a column made once (by the C helper when it is there, else by binascii): the rest of the
document, a few kilobytes, is the only part the json module parses.

What is read is any JSON document: a long string is decoded from the file only when it has no
escape in it (any other is left to the json module), and what stands for it in the parsed
document is a marker no file can spell (it holds a random number drawn for each read), which
`Columns.values` turns into the column."""

import array
import binascii
import bisect
import json
import os
import queue
import sys
import threading

from ..memory import process_memory
from . import native, native_scans

# Bytes of a column encoded per write: a multiple of 3, so each piece's base64 ends whole.
_PIECE = 3 << 20
# Bytes of the file read at a time: a multiple of 4, so each block of a column decodes whole.
_BLOCK = 4 << 20
# A JSON string this long is decoded from the file, not parsed by the json module.
_LONG = 4096


class Column:
    """A column of numbers (an array, bytes or bytearray) to be written as the base64 text of
    its little-endian bytes."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values


def write(handle, value):
    """Write `value` (dicts, lists and scalars as json.dumps writes them with separators ","
    and ":", Columns as base64 strings) to the binary file `handle`."""
    with _WrittenBehind(handle) as out:
        _write(out, value)


def _write(out, value):
    if isinstance(value, Column):
        out.write(b'"')
        data = memoryview(_little_endian(value.values)).cast("B")
        for start in range(0, len(data), _PIECE):
            out.write(binascii.b2a_base64(data[start:start + _PIECE], newline=False))
        out.write(b'"')
    elif isinstance(value, dict):
        out.write(b"{")
        for number, (key, item) in enumerate(value.items()):
            out.write((b"," if number else b"") + json.dumps(key).encode("ascii") + b":")
            _write(out, item)
        out.write(b"}")
    else:
        out.write(json.dumps(value, separators=(",", ":")).encode("ascii"))


class _WrittenBehind:
    """A binary file written by a thread of its own, so that the next piece of a column is
    encoded while the kernel copies the last one into the file (a file write lets go of the
    GIL, the encoder does not).  At most two pieces wait; the first error of a write is raised
    when the `with` block ends."""

    def __init__(self, handle):
        self._handle = handle
        self._pieces = queue.Queue(2)
        self._error = None
        self._thread = threading.Thread(target=self._run, name="snapshot writer", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def write(self, piece):
        if self._error is None:
            self._pieces.put(piece)

    def _run(self):
        while True:
            piece = self._pieces.get()
            if piece is None:
                return
            if self._error is None:
                try:
                    self._handle.write(piece)
                except OSError as error:
                    self._error = error

    def __exit__(self, kind, _error, _trace):
        self._pieces.put(None)
        self._thread.join()
        if self._error is not None and kind is None:
            raise self._error


def _little_endian(values):
    if sys.byteorder == "little" or isinstance(values, (bytes, bytearray)) or \
            values.itemsize == 1:
        return values
    swapped = array.array(getattr(values, "typecode", None) or values.format, values)
    swapped.byteswap()
    return swapped


class Columns:
    """A JSON document read from a file: `document` the parsed value, whose long strings are
    markers until `values` decodes them.  Use it in a `with` block: the file stays open until
    it ends."""

    def __init__(self, path):
        self.document = None
        self._spans = {}
        self._handle = open(path, "rb", buffering=0)
        try:
            self.document = json.loads(self._skeleton())
        except BaseException:
            self._handle.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *_exception):
        self._handle.close()

    def _skeleton(self):
        """The file's text with each long string without escapes replaced by a marker."""
        quotes, backslashes = _delimiters(self._handle)
        pieces, copied = [], 0
        nonce = os.urandom(8).hex()
        for opening, closing in zip(quotes[0::2], quotes[1::2]):
            if closing - opening > _LONG and \
                    bisect.bisect(backslashes, opening) == bisect.bisect(backslashes, closing):
                marker = "\0%s:%d" % (nonce, len(self._spans))
                self._spans[marker] = (opening + 1, closing)
                pieces += [self._bytes(copied, opening), json.dumps(marker).encode("ascii")]
                copied = closing + 1
        pieces.append(self._bytes(copied, None))
        return b"".join(pieces)

    def _bytes(self, start, end):
        self._handle.seek(start)
        return self._handle.read(end - start) if end is not None else self._handle.readall()

    def values(self, text, typecode):
        """The array(typecode), or memoryview of that format, of the little-endian numbers whose
        base64 is `text`, a string of the document (ValueError or binascii.Error when it is not
        base64 of whole numbers)."""
        span = self._spans.get(text) if isinstance(text, str) else None
        if span is None:
            values = array.array(typecode)
            values.frombytes(binascii.a2b_base64(text, strict_mode=True))
        else:
            values = self._decoded(span[0], span[1], typecode)
        if sys.byteorder != "little" and values.itemsize > 1:
            values = array.array(typecode, values)
            values.byteswap()
        return values

    def _decoded(self, start, end, typecode):
        """The base64 text at [start, end) of the file decoded into a column of `typecode`
        made once (process_memory.zeroed), a block at a time (padding only in the last four
        characters, as one decode of the whole text would say)."""
        self._handle.seek(max(end - 2, start))
        padding = self._handle.read(2).count(b"=")
        length = (end - start) // 4 * 3 - padding
        values = process_memory.zeroed(typecode, length // array.array(typecode).itemsize)
        if len(values) * values.itemsize != length or (end - start) % 4:
            raise ValueError("a column of %d characters is not base64 of whole numbers"
                             % (end - start))
        block = bytearray(_BLOCK)
        written = 0
        self._handle.seek(start)
        with memoryview(values).cast("B") as out:
            for offset in range(start, end, _BLOCK):
                count = self._handle.readinto(memoryview(block)[:min(_BLOCK, end - offset)])
                if offset + count < end and block.find(b"=", 0, count) >= 0:
                    raise ValueError("base64 padding before the end of a column")
                if native.available():  # straight into the column, at twice the speed
                    written += native_scans.base64_decode(block, count, values, written)
                    continue
                decoded = binascii.a2b_base64(memoryview(block)[:count], strict_mode=True)
                out[written:written + len(decoded)] = decoded
                written += len(decoded)
        if written != length:
            raise ValueError("a column ends before its %d characters" % (end - start))
        return values


def _delimiters(handle):
    """(the offsets of the quotes that open and close the JSON strings of the file `handle`,
    the offsets of its backslashes), read a block at a time."""
    quotes, backslashes = [], []
    block = bytearray(_BLOCK)
    offset = 0
    while True:
        count = handle.readinto(block)
        if not count:
            return quotes, backslashes
        position = block.find(b"\\", 0, count)
        while position >= 0:
            backslashes.append(offset + position)
            position = block.find(b"\\", position + 1, count)
        position = block.find(b'"', 0, count)
        while position >= 0:
            if not _escaped(offset + position, backslashes):
                quotes.append(offset + position)
            position = block.find(b'"', position + 1, count)
        offset += count


def _escaped(quote, backslashes):
    """Whether the quote at offset `quote` is escaped: an odd number of backslashes right
    before it (outside strings JSON has none, so this holds inside strings only)."""
    before = bisect.bisect(backslashes, quote)
    run = 0
    while run < before and backslashes[before - 1 - run] == quote - 1 - run:
        run += 1
    return run % 2 == 1
