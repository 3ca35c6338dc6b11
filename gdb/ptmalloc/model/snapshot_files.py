"""`heap snapshot` files: a ChunkTable (chunk_table.py) written as JSON and read back, so that two
gdb sessions, or two cores of one program, can be compared.

The file is one JSON object (docs/json.md, "Snapshot files"): what was inspected and when, whether
every chunk could be listed, the state names, and the chunks as columns (`address`, `size`,
`state` as indexes into `states`, `arena`, `site` or null), so that a million chunks cost a few
lists of numbers, not a million objects.  Files are read back checked: a file that is not a
snapshot, or whose columns disagree, is refused with one line."""

import array
import json
import os
import time

import gdb

from ..errors import HeapError
from ..memory.core_file import inferior_is_core
from .chunk_table import STATE_NAMES, ChunkTable

FORMAT = "ptmalloc-heap-snapshot"
VERSION = 1

_loaded = {}  # (path, size, mtime) -> ChunkTable: a file read once per version


def describe(snap):
    """{"program", "pid", "core"} of what `snap` was read from (None where it does not apply)."""
    regions = snap.memory.core_regions() if inferior_is_core() else None
    inferior = snap.memory.inferior
    return {"program": gdb.current_progspace().filename,
            "pid": inferior.pid if regions is None and inferior.pid > 0 else None,
            "core": regions.path if regions is not None else None}


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
            "chunks": {"address": table.addresses.tolist(), "size": table.sizes.tolist(),
                       "state": list(table.states), "arena": table.arenas.tolist(),
                       "site": table.sites}}
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
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
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
        table = ChunkTable(array.array("Q", chunks["address"]), array.array("Q", chunks["size"]),
                           bytearray(_state_codes(chunks["state"], names)),
                           array.array("Q", chunks["arena"]), chunks.get("site"),
                           document.get("problems") or ())
        lengths = {len(table.addresses), len(table.sizes), len(table.states), len(table.arenas)}
        if table.sites is not None:
            lengths.add(len(table.sites))
        if len(lengths) != 1:
            raise ValueError("its columns have different lengths")
        if any(map(int.__ge__, table.addresses[:-1], table.addresses[1:])):
            raise ValueError("its chunk addresses are not in increasing order")
    except (KeyError, TypeError, ValueError, OverflowError) as error:
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
