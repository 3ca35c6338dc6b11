"""Snapshot files' JSON (gdb/ptmalloc/model/json_columns.py, no gdb): what the bulk writer writes
is byte for byte what json.dumps writes of the same document with the columns as base64 text,
and the bulk reader gives back what json.loads and base64 give of any JSON file, also one
another program wrote (indented, with escaped characters inside a column or a quote in a long
text); a column that is not base64 of whole numbers is refused, and a write that fails (a full
disk) fails the whole writing."""

import array
import base64
import binascii
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "gdb"))

from ptmalloc.model import json_columns  # noqa: E402 - found through the path above

# Long enough that each column is read a few blocks at a time, the last one short.
ROWS = 1200000
ADDRESSES = array.array("Q", range(0x555555559000, 0x555555559000 + 16 * ROWS, 16))
STATES = bytes(number % 7 for number in range(ROWS))


def _document(column):
    return {"format": "test", "name": "a \"quoted\" name \\ with a backslash",
            "long_text": "x\"" * 5000, "chunks": {"count": ROWS, "address": column(ADDRESSES),
                                                   "state": column(STATES)},
            "empty": column(b""), "list": [1, None, "two"]}


def _base64(values):
    return base64.b64encode(values).decode("ascii")


def _read(path):
    with json_columns.Columns(str(path)) as columns:
        document = columns.document
        chunks = document["chunks"]
        return (document, columns.values(chunks["address"], "Q"),
                columns.values(chunks["state"], "B"), columns.values(document["empty"], "Q"))


def test_the_writer_writes_what_json_dumps_writes(tmp_path):
    path = tmp_path / "bulk.json"
    with open(path, "wb") as handle:
        json_columns.write(handle, _document(json_columns.Column))
    assert path.read_bytes() == json.dumps(_document(_base64), separators=(",", ":")).encode()


@pytest.fixture(params=["C helper", "Python"])
def decoder(request, monkeypatch):
    """Columns decoded by the C helper (when built) and by binascii."""
    if request.param == "Python":
        monkeypatch.setattr(json_columns.native, "available", lambda: False)
    elif not json_columns.native.available():
        pytest.skip("the C helper is not built")


@pytest.mark.parametrize("style", ["compact", "indented", "escaped"])
def test_the_reader_reads_what_json_loads_reads(tmp_path, style, decoder):
    text = json.dumps(_document(_base64), separators=(",", ":"),
                      indent=1 if style == "indented" else None)
    if style == "escaped":  # JSON may escape a slash: such a column is left to the json module
        text = text.replace("/", "\\/")
    path = tmp_path / "file.json"
    path.write_text(text)
    document, addresses, states, empty = _read(path)
    expected = json.loads(text)
    assert addresses == ADDRESSES and states == array.array("B", STATES) and not empty
    assert document["name"] == expected["name"] and document["list"] == expected["list"]
    assert document["long_text"] == expected["long_text"]


@pytest.mark.parametrize("damage", ["padding inside", "padding late", "not base64",
                                    "part of a number"])
def test_a_damaged_column_is_refused(tmp_path, damage, decoder):
    column = _base64(ADDRESSES)
    if damage == "padding inside":
        column = column[:4000] + "AA==" + column[4000:]
    elif damage == "padding late":  # in the last block, not in its last four characters
        column = column[:-8] + "AA==" + column[-8:-4]
    elif damage == "not base64":
        column = column[:4000] + "!!!!" + column[4000:]
    else:
        column = _base64(ADDRESSES.tobytes()[:-4])
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps({"column": column}))
    with json_columns.Columns(str(path)) as columns:
        with pytest.raises((ValueError, binascii.Error)):
            columns.values(columns.document["column"], "Q")


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"column": "%s' % _base64(ADDRESSES))
    with pytest.raises(ValueError):
        json_columns.Columns(str(path))


class _FullDisk:
    """A file that takes `room` bytes, then fails as a full disk does."""

    def __init__(self, room):
        self.room = room

    def write(self, data):
        if len(data) > self.room:
            raise OSError(28, "No space left on device")
        self.room -= len(data)
        return len(data)


def test_a_failed_write_is_raised_when_the_writing_ends():
    with pytest.raises(OSError) as failure:
        json_columns.write(_FullDisk(5 << 20), _document(json_columns.Column))
    assert failure.value.errno == 28
