"""The known-heap sample every_bin (samples/known/) built against glibc 2.31 and 2.41, run
under each and with the clone built as 2.31 preloaded: the extension's reading of its heap
holds against the sample's own record and mallinfo's totals, live and from a gcore'd core,
with the assertions the 2.36 suites use (tests/gdb/known_heap.py)."""
import importlib.util
import json
import pathlib
import sys

import pytest

from release_session import json_of, oracle_harness, run

GDB_TESTS = pathlib.Path(__file__).resolve().parents[1] / "gdb"
sys.path.insert(0, str(GDB_TESTS))

# The gdb suites' record reader, loaded under a name of its own (it is their conftest), before
# known_heap, whose assertions it has pytest rewrite.
_spec = importlib.util.spec_from_file_location("known_sample_conftest", GDB_TESTS / "conftest.py")
gdb_suite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gdb_suite)

import known_heap  # noqa: E402

SAMPLES = {"glibc-2.31": "every_bin-2.31", "clone-2.31": "every_bin-2.31",
           "glibc-2.41": "every_bin-2.41"}
COMMANDS = [("arenas", "heap arenas --json"), ("bins", "heap bins --json"),
            ("chunks", "heap chunks --json"), ("check", "heap check --json")]


class _Run:
    """What known_heap's assertions read: `json` by command and the sample's `record`."""

    def __init__(self, outputs, record):
        self.json = {name: json_of(outputs[(1, name)], command) for name, command in COMMANDS}
        self.record = record


def _holds(reading):
    chunks = reading.json["chunks"]
    assert chunks["complete"] is True
    found = {c["address"]: c for arena in chunks["arenas"] for c in arena["chunks"]}
    found.update((c["address"], dict(c, state="mmapped")) for c in chunks["mmapped"])
    assert len(reading.record.chunks) > 60
    for entry in reading.record.chunks:
        known_heap.assert_recorded_chunk(entry, found)
    for arena in chunks["arenas"]:
        in_order = sorted(arena["chunks"], key=lambda c: c["address"])
        for heap in arena["heaps"]:
            known_heap.assert_walk_covers(heap, in_order)
    known_heap.assert_totals_match_mallinfo2(reading)
    check = reading.json["check"]
    assert check["ok"], json.dumps(check["findings"])[:2000]


@pytest.mark.parametrize("allocator", sorted(SAMPLES))
def test_known_sample_holds_against_its_record(allocator, tmp_path):
    program = oracle_harness.BUILD / "tests" / "versions" / SAMPLES[allocator]
    assert program.exists(), "run make test-versions"
    record, core = tmp_path / "record.txt", tmp_path / "gcore.core"
    live = run(allocator, program, [str(record)], "sample_checkpoint",
               [COMMANDS + [("gcore", "gcore %s" % core)]])
    from_core = run(allocator, program, [], "sample_checkpoint", [COMMANDS], core=core)
    parsed = gdb_suite.Record(str(record))
    assert parsed.chunks, "the sample recorded nothing"
    for outputs in (live, from_core):
        _holds(_Run(outputs, parsed))
