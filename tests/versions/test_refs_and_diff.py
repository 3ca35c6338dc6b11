"""`heap refs` and `heap diff` on glibc 2.31 and 2.41 and the clone built as 2.31, against the
programs' own records, as tests/gdb/test_refs.py and test_heap_diff.py hold them on 2.36:
refs_planted.c plants one chunk's address in three chunks, a live frame, .data, .bss, a second
thread's TLS, the main thread's descriptor (a thread-specific value) and register r15, and
`heap refs` must find exactly those, live and from a gcore'd core; leaky_loop.c writes down every
block it holds at each of its two stops, and `heap diff` between the two must be what those
records say."""
import json
import pathlib
import sys

import pytest

from release_session import json_of, oracle_harness, run

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "gdb"))

from sample_records import PLANTED_REGIONS, held_blocks, planted  # noqa: E402

RELEASES = {"glibc-2.31": "2.31", "clone-2.31": "2.31", "glibc-2.41": "2.41", "clone-2.41": "2.41"}


def _program(name, allocator):
    program = oracle_harness.BUILD / "tests" / "versions" / "gdb" / (
        "%s-%s" % (name, RELEASES[allocator]))
    assert program.exists(), "run make test-versions"
    return program


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
    words, registers = planted(str(record))
    for outputs in (live, from_core):
        report = json_of(outputs[(1, "json")], "heap refs --json")
        found = {(ref["address"], ref["value"]): ref["region"] for ref in report["refs"]}
        assert set(found) == {(address, value) for _kind, address, value in words}, report
        for kind, address, value in words:
            assert found[(address, value)].startswith(PLANTED_REGIONS[kind]), (kind, found)
        assert {(ref["thread"], ref["register"], ref["value"])
                for ref in report["registers"]} == registers, report
        assert report["complete"], report


@pytest.mark.parametrize("allocator", sorted(RELEASES))
def test_diff_is_what_the_program_did(allocator, tmp_path):
    record = tmp_path / "held"
    folder = tmp_path / "snapshots"
    outputs = run(allocator, _program("leaky_loop", allocator), [str(record)], "leaky_loop_stop",
                  [[("folder", "set heap snapshot-directory %s" % folder),
                    ("first", "heap snapshot first")],
                   [("diff", "heap diff first --json")]])
    diff = json_of(outputs[(2, "diff")], "heap diff --json")
    before, after = held_blocks(str(record) + "1"), held_blocks(str(record) + "2")
    # Without history, chunks match by address: a block freed and another of its size given out
    # at its address between the stops is no change, and one of another size is a resize.
    allocated = {(a, size) for a, (size, _site, _block) in after.items() if a not in before}
    freed = {(a, size) for a, (size, _site, _block) in before.items() if a not in after}
    resized = {(a, before[a][0], size) for a, (size, _site, _block) in after.items()
               if a in before and before[a][0] != size}
    assert {(e["address"], e["size"]) for e in diff["allocated"]} == allocated
    assert {(e["address"], e["size"]) for e in diff["freed"]} == freed
    assert {(e["address"], e["old_size"], e["size"]) for e in diff["resized"]} == resized
    assert allocated and freed and diff["complete"], json.dumps(diff)[:2000]
