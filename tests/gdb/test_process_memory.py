"""Live heap segments are read with process_vm_readv (gdb/ptmalloc/memory/process_memory.py): the
bytes must be gdb's own, the fast path must really be taken on a live native target, and
anything it cannot read (an unmapped range, a core) must leave the read to gdb."""

import pytest

from conftest import ALL_VARIANTS, binary, gdb_argv, marked, require_variant, run_gdb, sections

# Compares every heap segment of every arena, read both ways, and a range that runs off the end
# of the main heap's mapping.  (One -ex line: gdb runs what follows `python` as the script.)
CHECK = r"""python
import json
from ptmalloc.memory import process_memory
inferior = gdb.selected_inferior()
arenas = json.loads(gdb.execute("heap arenas --json", to_string=True))
ranges = [(h["start"], h["end"] - h["start"]) for a in arenas["arenas"] for h in a["heaps"]]
same = taken = 0
for start, length in ranges:
    direct = process_memory.read(inferior, start, length)
    if direct is None:
        continue
    taken += 1
    same += bytes(direct) == bytes(inferior.read_memory(start, length))
mappings = gdb.execute("info proc mappings", to_string=True).split("\n")
heap_end = [int(line.split()[1], 16) for line in mappings if line.strip().endswith("[heap]")][0]
beyond = process_memory.read(inferior, heap_end - 4096, process_memory.MIN_LENGTH)
print("segments %d taken %d same %d beyond %s" % (len(ranges), taken, same, beyond))
"""


def _report(output, name):
    return sections(output).get(name, "")


@pytest.mark.parametrize("variant", ["preload", "glibc"])
def test_direct_reads_equal_gdb_reads_live(tmp_path, variant):
    require_variant(variant)
    commands = ["break sample_checkpoint", "run %s" % (tmp_path / "record.txt")] + \
        marked([("check", CHECK)]) + ["kill"]
    output = run_gdb(gdb_argv(binary("every_bin", variant), commands, ALL_VARIANTS[variant][1]),
                     str(tmp_path))
    words = _report(output, "check").split()
    assert words[:1] == ["segments"], output[-3000:]
    segments, taken, same = int(words[1]), int(words[3]), int(words[5])
    assert segments >= 4 and taken == segments and same == segments, output[-3000:]
    assert words[6:] == ["beyond", "None"], output[-3000:]


def test_no_direct_reads_from_a_core(runner):
    require_variant("preload")
    core = runner.live("every_bin", "preload").core
    check = "python from ptmalloc.memory import process_memory; print('direct', " \
            "process_memory.read(gdb.selected_inferior(), 0x1000, 1 << 20))"
    output = run_gdb(gdb_argv(binary("every_bin", "preload"), marked([("check", check)]),
                              core=core), None)
    assert _report(output, "check") == "direct None", output[-3000:]
