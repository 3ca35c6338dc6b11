"""A command interrupted while it reads the bins (Ctrl-C; here a KeyboardInterrupt raised from
inside the read of the second arena's bins) must leave nothing half-built: the next commands of
the same stop give the same answers as before the interruption, and heap check stays ok."""
import json
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import oracle_harness  # noqa: E402

SCRIPT = r'''
import json
import gdb
from ptmalloc.model import snapshot

def answer(command):
    return json.loads(gdb.execute(command, to_string=True).splitlines()[-1])

reference = {command: answer(command) for command in COMMANDS}
snapshot._cache = (None, None)
snap = snapshot.current()
lists = snap._lists
original = lists._read_bins
reads = []

def interrupted(arena, asked):
    reads.append(arena.address)
    if len(reads) == 2:
        raise KeyboardInterrupt
    return original(arena, asked)

lists._read_bins = interrupted
try:
    gdb.execute("heap check --json", to_string=True)
    outcome = "not interrupted"
except BaseException as error:
    outcome = type(error).__name__
lists._read_bins = original
after = {command: answer(command) for command in COMMANDS}
print("@@" + json.dumps({"outcome": outcome, "reads": len(reads),
                         "same": [after[c] == reference[c] for c in COMMANDS],
                         "check": after["heap check --json"]}))
'''
COMMANDS = ["heap bins --json", "heap tcache --json", "heap check --json", "heap chunks --json"]


@pytest.mark.parametrize("allocator", ["clone", "glibc"])
def test_interrupted_bin_read_leaves_nothing_half_built(allocator, tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text("COMMANDS = %r\n" % COMMANDS + SCRIPT)
    program, settings = oracle_harness.ALLOCATORS[allocator]
    command = [oracle_harness.GDB, "-nx", "-q", "-batch"] + settings + [
        "-ex", "source %s" % oracle_harness.LOADER, "-ex", "break oracle_stop",
        "-ex", "run %s 5 none 2" % (tmp_path / "record"), "-ex", "source %s" % script,
        str(program)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=180,
                            check=False).stdout
    line = next((l for l in output.splitlines() if l.startswith("@@")), None)
    assert line is not None, output[-2000:]
    result = json.loads(line[2:])
    assert result["reads"] == 2 and result["outcome"] != "not interrupted", result
    assert all(result["same"]), result
    assert result["check"]["ok"], result["check"]
