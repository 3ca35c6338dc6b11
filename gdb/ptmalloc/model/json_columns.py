"""JSON documents that carry columns of numbers as base64 strings (`heap snapshot` files), written
and read without the whole text ever being a Python string.

A ten-million-chunk snapshot is a third of a gigabyte of base64.  Through `json.dump` and
`json.loads` each column would be made as text, escaped or unescaped and encoded or decoded
again, several copies of it at once; here a column goes out as base64 written a few megabytes
at a time from the array's own bytes, and comes back decoded straight from the file's pages,
mapped: the rest of the document, a few kilobytes, is the only part the json module parses.

What is read is any JSON document: a long string is decoded from the file only when it has no
escape in it (any other is left to the json module), and what stands for it in the parsed
document is a marker no file can spell (it holds a random number drawn for each read), which
`Columns.values` turns into the column."""

import array
import binascii
import json
import mmap
import os
import sys

# Bytes of a column encoded per write: a multiple of 3, so each piece's base64 ends whole.
_PIECE = 3 << 20
# A JSON string this long is taken from the file's pages, not parsed by the json module.
_LONG = 4096
_BACKSLASH = ord("\\")


class Column:
    """A column of numbers (an array, bytes or bytearray) to be written as the base64 text of
    its little-endian bytes."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values


def write(handle, value):
    """Write `value` (dicts, lists and scalars as json.dumps writes them with separators ","
    and ":", Columns as base64 strings) to the binary file `handle`."""
    if isinstance(value, Column):
        handle.write(b'"')
        data = memoryview(_little_endian(value.values)).cast("B")
        for start in range(0, len(data), _PIECE):
            handle.write(binascii.b2a_base64(data[start:start + _PIECE], newline=False))
        handle.write(b'"')
    elif isinstance(value, dict):
        handle.write(b"{")
        for number, (key, item) in enumerate(value.items()):
            handle.write(b"," if number else b"")
            handle.write(json.dumps(key).encode("ascii") + b":")
            write(handle, item)
        handle.write(b"}")
    else:
        handle.write(json.dumps(value, separators=(",", ":")).encode("ascii"))


def _little_endian(values):
    if sys.byteorder == "little" or isinstance(values, (bytes, bytearray)) or \
            values.itemsize == 1:
        return values
    swapped = array.array(values.typecode, values)
    swapped.byteswap()
    return swapped


class Columns:
    """A JSON document read from a file (`read`): `document` the parsed value, whose long
    strings are markers until `values` decodes them.  Use it in a `with` block: the file stays
    mapped until it ends."""

    def __init__(self, path):
        self.document = None
        self._spans = {}
        self._mapped = None
        self._handle = open(path, "rb")
        try:
            size = os.fstat(self._handle.fileno()).st_size
            if size:
                self._mapped = mmap.mmap(self._handle.fileno(), 0, access=mmap.ACCESS_READ)
            self.document = json.loads(self._skeleton() if self._mapped is not None else b"")
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *_exception):
        self.close()

    def close(self):
        if self._mapped is not None:
            self._mapped.close()
            self._mapped = None
        self._handle.close()

    def _skeleton(self):
        """The file's text with each long string without escapes replaced by a marker."""
        mapped, pieces, copied = self._mapped, [], 0
        nonce = os.urandom(8).hex()
        position = mapped.find(b'"')
        while position >= 0:
            end = _string_end(mapped, position)
            if end < 0:
                break  # no closing quote: the json module says where
            if end - position > _LONG and mapped.find(b"\\", position, end) < 0:
                marker = "\0%s:%d" % (nonce, len(self._spans))
                self._spans[marker] = (position + 1, end)
                pieces += [mapped[copied:position], json.dumps(marker).encode("ascii")]
                copied = end + 1
            position = mapped.find(b'"', end + 1)
        pieces.append(mapped[copied:])
        return b"".join(pieces)

    def values(self, text, typecode):
        """The array(typecode) of the little-endian numbers whose base64 is `text`, a string of
        the document (ValueError or binascii.Error when it is not base64 of whole numbers)."""
        values = array.array(typecode)
        span = self._spans.get(text) if isinstance(text, str) else None
        if span is None:
            values.frombytes(binascii.a2b_base64(text, strict_mode=True))
        else:
            start, end = span
            # Padding ends the text: in its last four characters only, as one decode would say.
            if self._mapped.find(b"=", start, max(end - 4, start)) >= 0:
                raise ValueError("base64 padding before the end of a column")
            with memoryview(self._mapped) as view:
                for piece in range(start, end, 4 * (_PIECE // 3)):
                    values.frombytes(binascii.a2b_base64(
                        view[piece:min(piece + 4 * (_PIECE // 3), end)], strict_mode=True))
        if sys.byteorder != "little" and values.itemsize > 1:
            values.byteswap()
        return values


def _string_end(mapped, opening):
    """The offset of the quote closing the JSON string that opens at `opening`, or -1."""
    end = mapped.find(b'"', opening + 1)
    while end >= 0:
        backslashes = 0
        while mapped[end - 1 - backslashes] == _BACKSLASH:
            backslashes += 1
        if backslashes % 2 == 0:
            return end
        end = mapped.find(b'"', end + 1)
    return end
