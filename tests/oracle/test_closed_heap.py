"""A thread arena that moved to a second heap with less than MINSIZE left in its first: glibc's
sysmalloc (and the clone's) closes the first heap with the remainder as a chunk without
NON_MAIN_ARENA before the fencepost.  The program prints where that remainder is; the audit must
call the heap healthy, on glibc and on the clone, live."""
import json
import pathlib
import re
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import oracle_harness  # noqa: E402

PROGRAM = oracle_harness.BUILD / "tests" / "oracle" / "closed_heap"


@pytest.mark.parametrize("allocator", ["clone", "glibc"])
def test_closing_remainder_is_no_damage(allocator):
    settings = ["-ex", "set environment LD_PRELOAD %s" % oracle_harness.CLONE] \
        if allocator == "clone" else []
    command = [oracle_harness.GDB, "-nx", "-q", "-batch"] + settings + [
        "-ex", "source %s" % oracle_harness.LOADER, "-ex", "break closed_heap_stop",
        "-ex", "run", "-ex", "heap chunks --json", "-ex", "heap check --json", str(PROGRAM)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=180,
                            check=False).stdout
    remainder = int(re.search(r"remainder (0x[0-9a-f]+)", output).group(1), 16)
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    listing, check = documents
    rows = {row["address"]: row for arena in listing["arenas"] for row in arena["chunks"]}
    assert remainder in rows, "the closing remainder %#x is not listed" % remainder
    assert "NON_MAIN_ARENA" not in rows[remainder]["flags"]
    assert check["ok"], check["findings"]
