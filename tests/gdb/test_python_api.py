"""The Python API of docs/python-api.md, run as written: its example is taken from the page and
executed inside gdb at a sample's checkpoint, and what it reads is held against the commands'
own JSON (the same chunks, the same arenas, an empty audit on a healthy heap)."""

import json
import os
import re

import pytest

from conftest import REPO, VARIANTS, binary, gdb_argv, marked, require_variant, run_gdb, sections

PAGE = os.path.join(REPO, "docs", "python-api.md")

CHECKS = '''
import json as _json
_chunks = [(chunk.address, chunk.size, str(chunk.state)) for _a, _s, chunk in snap.iter_chunks()]
_first = _chunks[0][0] + 0x18
_place = snap.locate(_first)
from ptmalloc.model import chunk_table as _chunk_table
_table = _chunk_table.of_stop(snap)
print("@@" + _json.dumps({
    "table": list(zip(_table.addresses, _table.sizes,
                      map(_chunk_table.STATE_NAMES.__getitem__, _table.states))),
    "arenas": [arena.address for arena in snap.arenas],
    "chunks": len(_chunks), "in_use": sum(1 for c in _chunks if c[2] == "in-use"),
    "located": _place.chunk.address if _place.chunk else None, "first": _chunks[0][0],
    "threads": len(snap.threads), "findings": [str(f.rule) for f in findings]}))
'''


def _page_example():
    blocks = re.findall(r"```python\n(.*?)```", open(PAGE, encoding="utf-8").read(), re.S)
    return next(block for block in blocks if "snapshot.current()" in block)


@pytest.mark.parametrize("variant", ["glibc", "preload"])
def test_the_documented_calls_read_the_heap_the_commands_show(tmp_path, variant):
    require_variant(variant)
    script = tmp_path / "api.py"
    script.write_text(_page_example() + CHECKS)
    commands = ["break sample_checkpoint", "run %s" % (tmp_path / "record.txt")] + marked([
        ("api", "source %s" % script), ("arenas", "heap arenas --json"),
        ("chunks", "heap chunks --json")])
    output = run_gdb(gdb_argv(binary("every_bin", variant), commands, VARIANTS[variant][1]),
                     str(tmp_path))
    parts = sections(output)
    assert "Traceback" not in output, output[-3000:]
    answer = json.loads(next(line[2:] for line in parts["api"].splitlines()
                             if line.startswith("@@")))
    arenas = json.loads(parts["arenas"].splitlines()[-1])
    chunks = json.loads(parts["chunks"].splitlines()[-1])
    assert answer["arenas"] == [arena["address"] for arena in arenas["arenas"]]
    listed = [chunk for arena in chunks["arenas"] for chunk in arena["chunks"]]
    assert answer["chunks"] == len(listed)
    assert answer["in_use"] == sum(1 for chunk in listed if chunk["state"] == "in-use")
    assert answer["located"] == answer["first"]
    assert answer["threads"] >= 1
    assert answer["findings"] == []
    # The chunk table holds every chunk `heap chunks` lists, in address order; mmapped chunks
    # in a state of their own.
    every = [[chunk["address"], chunk["size"], chunk["state"]] for chunk in listed]
    every += [[chunk["address"], chunk["size"], "mmapped"] for chunk in chunks["mmapped"]]
    assert answer["table"] == sorted(every)
