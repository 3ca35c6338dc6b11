"""`heap snapshot` files: a ChunkTable (chunk_table.py) written as JSON and read back, so that two
gdb sessions, or two cores of one program, can be compared.

The file is one JSON object (docs/json.md, "Snapshot files"): what was inspected and when, whether
every chunk could be listed, the state names, and the chunks as columns.  A column is the
base64 text of its values as little-endian unsigned integers (`address`, `size`, `arena`: 8
bytes each; `state`: 1 byte, an index into `states`), so that ten million chunks are written
and read back in a few seconds and a few hundred megabytes, where lists of JSON numbers would
make a Python object of every value.  Sites, when known, are a table of their texts and a
column of 4-byte indexes into it (NO_SITE for none).  The columns are written and read in bulk
(json_columns.py).  Files are read back checked: a file that is not a snapshot, or whose
columns disagree, is refused with one line."""

import array
import binascii
import itertools
import os
import time

import gdb

from ..errors import HeapError
from ..memory.core_file import inferior_is_core
from . import json_columns, native, native_scans
from .chunk_table import STATE_NAMES, ChunkTable
from .json_columns import Column

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
    if os.path.exists(path) and not os.path.isfile(path):
        # Written beside it and renamed over it, a device or a pipe would be replaced by a file.
        raise HeapError("cannot write the snapshot %s: it is not a regular file" % path)
    try:
        if folder:
            os.makedirs(folder, exist_ok=True)
        document = {
            "format": FORMAT, "version": VERSION, "name": name,
            "inferior": inferior_description,
            "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "complete": table.complete, "problems": table.problems, "states": STATE_NAMES,
            "chunks": {"count": len(table), "address": Column(table.addresses),
                       "size": Column(table.sizes), "state": Column(table.states),
                       "arena": Column(table.arenas)},
            "sites": _encoded_sites(table.sites),
            "blocks": Column(table.blocks) if table.blocks is not None else None}
        with open(path + ".part", "wb") as handle:
            json_columns.write(handle, document)
        os.replace(path + ".part", path)
    except OSError as error:
        raise HeapError("cannot write the snapshot %s: %s" % (path, error.strerror or error)) \
            from None


def require(path):
    """The os.stat of the snapshot file `path` (HeapError when there is none): a missing
    snapshot is said before a walk that would be wasted."""
    try:
        return os.stat(path)
    except OSError as error:
        raise HeapError("no snapshot %s: %s" % (path, error.strerror or error)) from None


def load(path):
    """The ChunkTable saved at `path` (HeapError when it cannot be read as a snapshot)."""
    status = require(path)
    key = (path, status.st_size, status.st_mtime_ns)
    table = _loaded.get(key)
    if table is None:
        table = _read(path)
        _loaded.clear()  # two tables are all a diff needs: keep memory for them only
        _loaded[key] = table
    return table


def _read(path):
    try:
        with json_columns.Columns(path) as columns:
            return _table(path, columns)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise HeapError("cannot read the snapshot %s: %s" % (path, error)) from None


def _table(path, columns):
    """The ChunkTable of the snapshot document `columns` (a json_columns.Columns)."""
    document = columns.document
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise HeapError("%s is not a heap snapshot (made by `heap snapshot`)" % path)
    if document.get("version") != VERSION:
        raise HeapError("%s is a heap snapshot of version %r; this gdb reads version %d"
                        % (path, document.get("version"), VERSION))
    try:
        chunks = document["chunks"]
        names = document["states"]
        table = ChunkTable(columns.values(chunks["address"], "Q"),
                           columns.values(chunks["size"], "Q"),
                           _state_codes(columns.values(chunks["state"], "B"), names),
                           columns.values(chunks["arena"], "Q"),
                           _decoded_sites(columns, document.get("sites")),
                           document.get("problems") or ())
        if isinstance(document.get("inferior"), dict):
            table.inferior = document["inferior"]
        if document.get("blocks") is not None:
            table.blocks = columns.values(document["blocks"], "Q")
        lengths = {chunks["count"], len(table.addresses), len(table.sizes), len(table.states),
                   len(table.arenas)}
        for column in (table.sites, table.blocks):
            if column is not None:
                lengths.add(len(column))
        if len(lengths) != 1:
            raise ValueError("its columns have different lengths")
        if _first_unordered(table.addresses) != len(table.addresses):
            raise ValueError("its chunk addresses are not in increasing order")
    except (KeyError, TypeError, ValueError, OverflowError, IndexError,
            binascii.Error) as error:
        raise HeapError("the snapshot %s is damaged: %s" % (path, error)) from None
    return table


def _first_unordered(addresses):
    """The first row whose address is not below the next one's, len(addresses) when none."""
    if native.available():
        return native_scans.first_unordered(addresses)
    return next(itertools.compress(itertools.count(), map(int.__ge__, addresses[:-1],
                                                          addresses[1:])), len(addresses))


def _state_codes(codes, names):
    """The file's state indexes (array('B')) as this version's codes, a bytearray (a later
    version may order them otherwise; a name this version does not know is refused)."""
    ours = {name: code for code, name in enumerate(STATE_NAMES)}
    try:
        mapping = bytes(ours[name] for name in names[:256])
    except KeyError as error:
        raise ValueError("unknown chunk state %s" % error) from None
    codes = codes.tobytes()
    if codes.translate(None, bytes(range(len(mapping)))):
        raise ValueError("a chunk state index is past the state names")
    return bytearray(codes.translate(mapping.ljust(256, b"\0")))


def _encoded_sites(sites):
    """{"names": [site text], "index": column of indexes into names} or None (the loops over
    the rows are map's and dict's, not a Python statement per row)."""
    if sites is None:
        return None
    names = [site for site in dict.fromkeys(sites) if site is not None]
    numbers = dict(zip(names, range(len(names))))
    numbers[None] = NO_SITE
    return {"names": names, "index": Column(array.array(_SITE_INDEX,
                                                        map(numbers.__getitem__, sites)))}


def _decoded_sites(columns, sites):
    if sites is None:
        return None
    names = list(sites["names"])
    if not all(isinstance(name, str) for name in names):
        raise ValueError("a site is not a text")
    texts = dict(enumerate(names))
    texts[NO_SITE] = None  # an index neither names is a KeyError: the file is damaged
    return list(map(texts.__getitem__, columns.values(sites["index"], _SITE_INDEX)))
