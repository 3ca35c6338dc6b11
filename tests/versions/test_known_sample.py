"""The known-heap samples (samples/known/: every_bin, every kind of bin in three threads,
sbrk_blocked, a main arena that went on in mmapped segments, and big_sbrk, a main arena whose one
sbrk heap is over 1 GiB) built against glibc 2.31 and 2.41, run under each and with the clone
built as that release preloaded: the extension's reading of the heap holds against the sample's
own record and mallinfo's totals, live and from a gcore'd core, with the assertions the 2.36
suites use (tests/gdb/known_heap.py)."""
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

RELEASES = {"glibc-2.31": "2.31", "clone-2.31": "2.31", "glibc-2.41": "2.41", "clone-2.41": "2.41"}
# Each sample, with the fewest chunks its record must hold (fewer: the sample did not run).
SAMPLES = {"every_bin": 60, "sbrk_blocked": 60, "big_sbrk": 60}
NONCONTIGUOUS = 2
GIB = 1 << 30
COMMANDS = [("arenas", "heap arenas --json"), ("bins", "heap bins --json"),
            ("chunks", "heap chunks --json"), ("check", "heap check --json")]


class _Run:
    """What known_heap's assertions read: `json` by command and the sample's `record`."""

    def __init__(self, outputs, record):
        self.json = {name: json_of(outputs[(1, name)], command) for name, command in COMMANDS}
        self.record = record


def _holds(reading, fewest):
    chunks = reading.json["chunks"]
    assert chunks["complete"] is True
    found = {c["address"]: c for arena in chunks["arenas"] for c in arena["chunks"]}
    found.update((c["address"], dict(c, state="mmapped")) for c in chunks["mmapped"])
    assert len(reading.record.chunks) > fewest
    for entry in reading.record.chunks:
        known_heap.assert_recorded_chunk(entry, found)
    for arena in chunks["arenas"]:
        in_order = sorted(arena["chunks"], key=lambda c: c["address"])
        for heap in arena["heaps"]:
            known_heap.assert_walk_covers(heap, in_order)
    known_heap.assert_totals_match_mallinfo2(reading)
    check = reading.json["check"]
    assert check["ok"], json.dumps(check["findings"])[:2000]


def _main_arena(reading):
    return next(a for a in reading.json["arenas"]["arenas"] if a["main"])


def _heaps_of_main_arena(reading):
    arena = _main_arena(reading)
    return arena["flags"] & NONCONTIGUOUS, [heap["kind"] for heap in arena["heaps"]]


def _one_sbrk_heap_to_top(reading):
    """big_sbrk's main heap: one contiguous sbrk segment past 1 GiB that ends where top does."""
    arena = _main_arena(reading)
    noncontiguous, kinds = _heaps_of_main_arena(reading)
    assert not noncontiguous and kinds == ["sbrk"], kinds
    heap = arena["heaps"][0]
    assert heap["end"] - heap["start"] > GIB, "the sample's heap is not over 1 GiB"
    assert arena["top"] + arena["top_size"] == heap["end"]


@pytest.mark.parametrize("sample", sorted(SAMPLES))
@pytest.mark.parametrize("allocator", sorted(RELEASES))
def test_known_sample_holds_against_its_record(sample, allocator, tmp_path):
    program = oracle_harness.BUILD / "tests" / "versions" / ("%s-%s" % (sample, RELEASES[allocator]))
    assert program.exists(), "run make test-versions"
    record, core = tmp_path / "record.txt", tmp_path / "gcore.core"
    live = run(allocator, program, [str(record)], "sample_checkpoint",
               [COMMANDS + [("gcore", "gcore %s" % core)]])
    from_core = run(allocator, program, [], "sample_checkpoint", [COMMANDS], core=core)
    parsed = gdb_suite.Record(str(record))
    assert parsed.chunks, "the sample recorded nothing"
    for outputs in (live, from_core):
        reading = _Run(outputs, parsed)
        _holds(reading, SAMPLES[sample])
        if sample == "sbrk_blocked":  # else the test would prove nothing
            noncontiguous, kinds = _heaps_of_main_arena(reading)
            assert noncontiguous and kinds[0] == "sbrk" and kinds.count("mmap") >= 3, kinds
        if sample == "big_sbrk":
            _one_sbrk_heap_to_top(reading)
