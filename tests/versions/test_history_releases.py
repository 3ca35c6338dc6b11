"""The allocation history of the clone built as another glibc release: history_threads.c
(three threads, each call noted with its line, result, size and thread) run on it with
PTMALLOC_HISTORY, and `heap history --json` holding every call of the sample's record once, live
and from a gcore'd core, as tests/gdb/test_history.py holds the 2.36 clone."""
import pathlib
import sys

import pytest

from release_session import json_of, oracle_harness, run

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "gdb"))

from sample_records import read_calls  # noqa: E402

# The clones of other releases, by the release their programs are built against.
CLONES = {"clone-2.31": "2.31", "clone-2.41": "2.41"}
RING = 4096
SOURCE_NAME = "history_threads.c"
CALLS = 2 * 13 + 14  # two workers' 13 calls and main's 14


@pytest.mark.parametrize("allocator", sorted(CLONES))
def test_every_call_is_recorded_once_with_its_line(allocator, tmp_path):
    program = oracle_harness.BUILD / "tests" / "versions" / "gdb" / (
        "history_threads-%s" % CLONES[allocator])
    assert program.exists(), "run make test-versions"
    record, core = tmp_path / "record.txt", tmp_path / "history.core"
    commands = [("history", "heap history --json")]
    live = run(allocator, program, [str(record)], "history_checkpoint",
               [commands + [("gcore", "gcore %s" % core)]],
               environment=[("PTMALLOC_HISTORY", str(RING))])
    from_core = run(allocator, program, [], "history_checkpoint", [commands], core=core)
    calls = [(call.op, call.ptr, call.old_ptr, call.size, call.line, call.thread)
             for call in read_calls(str(record))]
    assert len(calls) == CALLS, "the sample's record is incomplete"
    for outputs in (live, from_core):
        history = json_of(outputs[(1, "history")], "heap history --json")
        assert history["enabled"] is True and history["capacity"] == RING
        assert history["overwritten"] == 0 and history["in_progress"] == []
        events = [(event["op"], event["ptr"],
                   event["old_ptr"] if event["op"] == "realloc" else 0, event["size"],
                   event["line"], event["thread"])
                  for event in history["events"] if (event["file"] or "").endswith(SOURCE_NAME)]
        # Once per public call, in each thread's order (events are in sequence order).
        assert sorted(events) == sorted(calls)
        for thread in {call[5] for call in calls}:
            assert [e for e in events if e[5] == thread] == [c for c in calls if c[5] == thread]
