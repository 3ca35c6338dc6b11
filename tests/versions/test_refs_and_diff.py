"""`heap refs` and `heap diff` on glibc 2.31 and 2.41 and the clone built as 2.31, against the
programs' own records, as tests/gdb/test_refs.py and test_heap_diff.py hold them on 2.36:
refs_planted.c plants one chunk's address in three chunks, a live frame, .data, .bss, a second
thread's TLS, the main thread's descriptor (a thread-specific value) and register r15, and
`heap refs` must find exactly those, live and from a gcore'd core; leaky_loop.c writes down every
block it holds at each of its two stops, and `heap diff` between the two must be what those
records say."""
import json
import pathlib

import pytest

from release_session import json_of, oracle_harness, run

RELEASES = {"glibc-2.31": "2.31", "clone-2.31": "2.31", "glibc-2.41": "2.41", "clone-2.41": "2.41"}
# The region each kind of planted word must be named by.
REGIONS = {"heap": "heap arena ", "data": ".data of refs_planted",
           "bss": ".bss of refs_planted", "tls": "TLS of thread 2",
           "stack": "stack of thread 1", "descriptor": "thread descriptor of thread 1"}
REGISTER_KIND = "register-"
MAIN_THREAD = 1
# A chunk's header is two words before the pointer; an in-use chunk's size is its usable size
# plus the one word of the next chunk's header it does not lend.
HEADER, NOT_LENT = 16, 8


def _program(name, allocator):
    program = oracle_harness.BUILD / "tests" / "versions" / "gdb" / (
        "%s-%s" % (name, RELEASES[allocator]))
    assert program.exists(), "run make test-versions"
    return program


def _planted(record):
    """([(kind, address, value)] of the planted words, {(thread, register, value)})."""
    words, registers = [], set()
    for line in pathlib.Path(record).read_text().splitlines():
        kind, address, value = line.split()
        if kind.startswith(REGISTER_KIND):
            registers.add((MAIN_THREAD, kind[len(REGISTER_KIND):], int(value, 16)))
        elif kind != "target":
            words.append((kind, int(address, 16), int(value, 16)))
    return words, registers


@pytest.mark.parametrize("allocator", sorted(RELEASES))
def test_refs_finds_every_planted_pointer_and_nothing_else(allocator, tmp_path):
    record, core = tmp_path / "record", tmp_path / "refs.core"
    target = ("python gdb.set_convenience_variable('target', int(open(%r).read().split()[2], 16))"
              % str(record))
    commands = [("target", target), ("json", "heap refs $target --json")]
    program = _program("refs_planted", allocator)
    live = run(allocator, program, [str(record)], "refs_planted_stop",
               [commands + [("gcore", "gcore %s" % core)]])
    from_core = run(allocator, program, [], "refs_planted_stop", [commands], core=core)
    words, registers = _planted(record)
    for outputs in (live, from_core):
        report = json_of(outputs[(1, "json")], "heap refs --json")
        found = {(ref["address"], ref["value"]): ref["region"] for ref in report["refs"]}
        assert set(found) == {(address, value) for _kind, address, value in words}, report
        for kind, address, value in words:
            assert found[(address, value)].startswith(REGIONS[kind]), (kind, found)
        assert {(ref["thread"], ref["register"], ref["value"])
                for ref in report["registers"]} == registers, report
        assert report["complete"], report


def _blocks(path):
    """{chunk header: (size, block number)} of what leaky_loop held at one stop."""
    held = {}
    for line in pathlib.Path(path).read_text().splitlines():
        address, usable, _site, block = line.split()
        held[int(address, 16) - HEADER] = (int(usable) + NOT_LENT, int(block))
    return held


@pytest.mark.parametrize("allocator", sorted(RELEASES))
def test_diff_is_what_the_program_did(allocator, tmp_path):
    record = tmp_path / "held"
    folder = tmp_path / "snapshots"
    outputs = run(allocator, _program("leaky_loop", allocator), [str(record)], "leaky_loop_stop",
                  [[("folder", "set heap snapshot-directory %s" % folder),
                    ("first", "heap snapshot first")],
                   [("diff", "heap diff first --json")]])
    diff = json_of(outputs[(2, "diff")], "heap diff --json")
    before, after = _blocks(str(record) + "1"), _blocks(str(record) + "2")
    # Without history, chunks match by address: a block freed and another of its size given out
    # at its address between the stops is no change, and one of another size is a resize.
    allocated = {(a, size) for a, (size, _block) in after.items() if a not in before}
    freed = {(a, size) for a, (size, _block) in before.items() if a not in after}
    resized = {(a, before[a][0], size) for a, (size, _block) in after.items()
               if a in before and before[a][0] != size}
    assert {(e["address"], e["size"]) for e in diff["allocated"]} == allocated
    assert {(e["address"], e["size"]) for e in diff["freed"]} == freed
    assert {(e["address"], e["old_size"], e["size"]) for e in diff["resized"]} == resized
    assert allocated and freed and diff["complete"], json.dumps(diff)[:2000]
