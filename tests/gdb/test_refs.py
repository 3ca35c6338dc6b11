"""`heap refs` against the pointers a program planted: refs_planted.c puts the address of one chunk
in three other chunks, a live stack frame, .data, .bss and a second thread's __thread variable,
and writes down each planted word's address and value.  `heap refs` must find exactly those
words (nothing it did not plant) and name each one's region, live and from a gcore'd core, on
glibc and on the clone."""

import json
import os
import subprocess

import pytest

from conftest import GDB, LOADER, REPO, TIMEOUT, marked, sections

SOURCE = os.path.join(REPO, "tests", "gdb", "refs_planted.c")
CLONE = os.path.join(os.environ.get("PTM_BUILD", os.path.join(REPO, "build")), "libptmalloc.so")
# The region each kind of planted word must be named by (the program's name is its file's).
REGIONS = {"heap": "heap arena ", "data": ".data of refs_planted",
           "bss": ".bss of refs_planted", "tls": "TLS of thread 2",
           "stack": "stack of thread 1"}


def _gdb(argv, cwd):
    output = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=TIMEOUT).stdout
    assert "Traceback" not in output, output
    return output


def _target_setup(record):
    """A gdb command setting $target to the planted chunk's user pointer, read from the record."""
    return ("python gdb.set_convenience_variable('target', int(open(%r).read().split()[2], 16))"
            % record)


def _runs(tmp_path, preload):
    program = str(tmp_path / "refs_planted")
    # -O0: every variable in memory, so no callee-saved register keeps a copy of the address.
    subprocess.run(["gcc", "-g", "-O0", "-pthread", "-o", program, SOURCE], check=True)
    record, core = str(tmp_path / "record"), str(tmp_path / "refs.core")
    head = [GDB, "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "source " + LOADER]
    commands = [("json", "heap refs $target --json"), ("inside", "heap refs $target+100 --json"),
                ("text", "heap refs $target"), ("nowhere", "heap refs 16")]
    live = head + (["-ex", "set environment LD_PRELOAD=" + CLONE] if preload else [])
    live += ["-ex", "break refs_planted_stop", "-ex", "run " + record, "-ex", _target_setup(record)]
    for command in marked(commands) + ["gcore " + core]:
        live += ["-ex", command]
    live_parts = sections(_gdb(live + [program], str(tmp_path)))
    dead = head + ["-ex", "file " + program, "-ex", "core-file " + core, "-ex",
                   _target_setup(record)]
    for command in marked(commands):
        dead += ["-ex", command]
    core_parts = sections(_gdb(dead, str(tmp_path)))
    planted = []
    with open(record, encoding="utf-8") as handle:
        for line in handle:
            kind, address, value = line.split()
            if kind != "target":
                planted.append((kind, int(address, 16), int(value, 16)))
    return {"live": live_parts, "core": core_parts}, planted


@pytest.fixture(scope="module", params=["glibc", "clone"])
def planted_runs(request, tmp_path_factory):
    return _runs(tmp_path_factory.mktemp("refs-" + request.param), request.param == "clone")


@pytest.mark.parametrize("source", ["live", "core"])
def test_finds_every_planted_pointer_and_nothing_else(planted_runs, source):
    parts, planted = planted_runs
    for name in ("json", "inside"):
        report = json.loads(parts[source][name].splitlines()[-1])
        found = {(ref["address"], ref["value"]): ref["region"] for ref in report["refs"]}
        assert set(found) == {(address, value) for _kind, address, value in planted}, report
        for kind, address, value in planted:
            assert found[(address, value)].startswith(REGIONS[kind]), (kind, found)
        assert report["complete"] and not report["unread"], report
        heap_holders = {ref["chunk"] for ref in report["refs"] if ref["chunk"] is not None}
        assert len(heap_holders) == 3


@pytest.mark.parametrize("source", ["live", "core"])
def test_text_and_errors(planted_runs, source):
    parts, planted = planted_runs
    text = parts[source]["text"]
    for _kind, address, _value in planted:
        assert "%#x" % address in text
    assert "TLS of thread 2" in text and "stack of thread 1" in text
    assert parts[source]["nowhere"] == "heap: 0x10 is in no chunk of the heap (see `heap chunks`)"
