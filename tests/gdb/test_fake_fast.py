"""`heap find-fake-fast` (pwndbg's find_fake_fast) against the real attack: the candidates it
finds covering a global are those a fastbin really hands out.  The program (fake_fast.c) makes
the attack after the stop and prints what calloc returned."""

import json
import os
import re
import subprocess

from conftest import GDB, LOADER, REPO, TIMEOUT, marked, sections
from json_contract import checked

SOURCE = os.path.join(REPO, "tests", "gdb", "fake_fast.c")
CLONE = os.path.join(os.environ.get("PTM_BUILD", os.path.join(REPO, "build")), "libptmalloc.so")


def _session(tmp_path, preload):
    program = str(tmp_path / "fake_fast")
    # -O0 and no builtins: gcc may drop an unused malloc or a store into freed memory.
    subprocess.run(["gcc", "-g", "-O0", "-fno-builtin", "-o", program, SOURCE], check=True)
    argv = [GDB, "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "source " + LOADER]
    if preload:
        argv += ["-ex", "set environment LD_PRELOAD=" + CLONE]
    argv += ["-ex", "break fake_fast_stop", "-ex", "run"]
    for command in marked([("json", "find_fake_fast &area[6] --all --json"),
                           ("text", "heap find-fake-fast &area[6]"),
                           ("run", "continue")]):
        argv += ["-ex", command]
    output = subprocess.run(argv + [program], cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT).stdout
    assert "Traceback" not in output
    return sections(output)


def _check(tmp_path, preload):
    parts = _session(tmp_path, preload)
    report = checked("heap find-fake-fast --json", json.loads(parts["json"].splitlines()[0]))
    printed = re.search(r"first (0x[0-9a-f]+) second (0x[0-9a-f]+) fake (0x[0-9a-f]+)", parts["run"])
    assert printed, parts["run"]
    second, fake_user = int(printed.group(2), 16), int(printed.group(3), 16)
    # The attack really hands out the fake chunk...
    assert second == fake_user
    usable = [c for c in report["candidates"] if c["usable"]]
    # ...and that chunk is the one candidate found usable, proven by the engine's malloc.
    assert [c["chunk"] + 16 for c in usable] == [fake_user], report
    assert usable[0]["returns"] == fake_user and usable[0]["size"] == 0x70
    # The header of a size no fastbin holds is not a candidate at all.
    assert all(c["size_field"] != 0x251 for c in report["candidates"])
    assert "%#x" % (fake_user - 16) in parts["text"] and "returns" in parts["text"]


def test_candidate_is_what_the_attack_gets_glibc(tmp_path):
    _check(tmp_path, preload=False)


def test_candidate_is_what_the_attack_gets_clone(tmp_path):
    _check(tmp_path, preload=True)
