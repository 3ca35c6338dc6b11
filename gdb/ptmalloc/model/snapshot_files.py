"""`heap snapshot` files: a ChunkTable (chunk_table.py) written as JSON and read back, so that two
gdb sessions, or two cores of one program, can be compared.

The file is one JSON object (docs/json.md, "Snapshot files"): what was inspected and when, whether
every chunk could be listed, the state names, and the chunks as columns.  A column is the
base64 text of its values as little-endian unsigned integers (`address`, `size`, `arena`: 8
bytes each; `state`: 1 byte, an index into `states`), so that ten million chunks are written
and read back in a few seconds and a few hundred megabytes, where lists of JSON numbers would
make a Python object of every value.  Sites, when known, are a table of their texts and a
column of 4-byte indexes into it (NO_SITE for none).  Files are read back checked: a file that
is not a snapshot, or whose columns disagree, is refused with one line."""

import array
import base64
import binascii
import json
import sys
import os
import time

import gdb

from ..errors import HeapError
from ..memory.core_file import inferior_is_core
from .chunk_table import STATE_NAMES, ChunkTable

FORMAT = "ptmalloc-heap-snapshot"
VERSION = 1
NO_SITE = 0xffffffff
_SITE_INDEX = "I" if array.array("I").itemsize == 4 else "L"

_loaded = {}  # (path, size, mtime) -> ChunkTable: a file read once per version


def describe(snap):
    """{"program", "pid", "core"} of what `snap` was read from (None where it does not apply)."""
    regions = snap.memory.core_regions() if inferior_is_core() else None
    inferior = snap.memory.inferior
    return {"program": gdb.current_progspace().filename,
            "pid": inferior.pid if regions is None and inferior.pid > 0 else None,
            "core": regions.path if regions is not None else None}


def program_of(table):
    """The file name of the program `table` was taken of, or None when not known."""
    program = (table.inferior or {}).get("program")
    return os.path.basename(program) if isinstance(program, str) and program else None


def save(table, path, name, inferior_description):
    """Write `table` to `path` (its folder made when missing)."""
    folder = os.path.dirname(path)
    try:
        if folder:
            os.makedirs(folder, exist_ok=True)
        document = {
            "format": FORMAT, "version": VERSION, "name": name,
            "inferior": inferior_description,
            "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "complete": table.complete, "problems": table.problems, "states": STATE_NAMES,
            "chunks": {"count": len(table), "address": _encoded(table.addresses),
                       "size": _encoded(table.sizes), "state": _encoded(table.states),
                       "arena": _encoded(table.arenas)},
            "sites": _encoded_sites(table.sites),
            "blocks": _encoded(table.blocks) if table.blocks is not None else None}
        with open(path + ".part", "w", encoding="utf-8") as handle:
            json.dump(document, handle, separators=(",", ":"))
        os.replace(path + ".part", path)
    except OSError as error:
        raise HeapError("cannot write the snapshot %s: %s" % (path, error.strerror or error)) \
            from None


def load(path):
    """The ChunkTable saved at `path` (HeapError when it cannot be read as a snapshot)."""
    try:
        status = os.stat(path)
    except OSError as error:
        raise HeapError("no snapshot %s: %s" % (path, error.strerror or error)) from None
    key = (path, status.st_size, status.st_mtime_ns)
    table = _loaded.get(key)
    if table is None:
        table = _read(path)
        _loaded.clear()  # two tables are all a diff needs: keep memory for them only
        _loaded[key] = table
    return table


def _read(path):
    try:
        with open(path, "rb") as handle:
            document = json.loads(handle.read())
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise HeapError("cannot read the snapshot %s: %s" % (path, error)) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise HeapError("%s is not a heap snapshot (made by `heap snapshot`)" % path)
    if document.get("version") != VERSION:
        raise HeapError("%s is a heap snapshot of version %r; this gdb reads version %d"
                        % (path, document.get("version"), VERSION))
    try:
        chunks = document["chunks"]
        names = document["states"]
        table = ChunkTable(_decoded(chunks["address"], "Q"), _decoded(chunks["size"], "Q"),
                           bytearray(_state_codes(_decoded(chunks["state"], "B"), names)),
                           _decoded(chunks["arena"], "Q"), _decoded_sites(document.get("sites")),
                           document.get("problems") or ())
        if isinstance(document.get("inferior"), dict):
            table.inferior = document["inferior"]
        if document.get("blocks") is not None:
            table.blocks = _decoded(document["blocks"], "Q")
        lengths = {chunks["count"], len(table.addresses), len(table.sizes), len(table.states),
                   len(table.arenas)}
        for column in (table.sites, table.blocks):
            if column is not None:
                lengths.add(len(column))
        if len(lengths) != 1:
            raise ValueError("its columns have different lengths")
        if any(map(int.__ge__, table.addresses[:-1], table.addresses[1:])):
            raise ValueError("its chunk addresses are not in increasing order")
    except (KeyError, TypeError, ValueError, OverflowError, IndexError,
            binascii.Error) as error:
        raise HeapError("the snapshot %s is damaged: %s" % (path, error)) from None
    return table


def _state_codes(codes, names):
    """The file's state indexes as this version's codes (a later version may order them
    otherwise; a name this version does not know is refused)."""
    ours = {name: code for code, name in enumerate(STATE_NAMES)}
    try:
        mapping = [ours[name] for name in names]
    except KeyError as error:
        raise ValueError("unknown chunk state %s" % error) from None
    return map(mapping.__getitem__, codes)


def _encoded(values):
    """A column as base64 of its little-endian bytes."""
    if sys.byteorder != "little" and not isinstance(values, (bytes, bytearray)):
        values = array.array(values.typecode, values)
        values.byteswap()
    return base64.b64encode(values).decode("ascii")


def _decoded(text, typecode):
    values = array.array(typecode)
    values.frombytes(base64.b64decode(text.encode("ascii"), validate=True))
    if sys.byteorder != "little" and values.itemsize > 1:
        values.byteswap()
    return values


def _encoded_sites(sites):
    """{"names": [site text], "index": column of indexes into names} or None."""
    if sites is None:
        return None
    numbers = {}
    index = array.array(_SITE_INDEX, (NO_SITE if site is None else
                                      numbers.setdefault(site, len(numbers)) for site in sites))
    return {"names": list(numbers), "index": _encoded(index)}


def _decoded_sites(sites):
    if sites is None:
        return None
    names = list(sites["names"]) + [None]
    if not all(isinstance(name, str) for name in names[:-1]):
        raise ValueError("a site is not a text")
    return [names[number] if number != NO_SITE else None
            for number in _decoded(sites["index"], _SITE_INDEX)]
