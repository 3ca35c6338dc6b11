"""Allocation history (PTMALLOC_HISTORY=N): `heap history`, `heap history ADDR` and the history
lines of `heap chunk`, live and from a gcore'd core, against the record the sample keeps of its
own calls (tests/gdb/history_threads.c: the line, result, size and thread of each call).

Also: a small ring (set through the tunable) keeps exactly the last N calls; history off, and
glibc, say so; and every address the program got, mmapped chunks included, is the same with
history on as with it off."""

import json
import os
import subprocess

import pytest

from conftest import GDB, LIBRARY, REPO, TIMEOUT, clone_available, gdb_argv, marked, sections
from json_contract import checked
from sample_records import read_calls

SOURCE = os.path.join(REPO, "tests", "gdb", "history_threads.c")
SOURCE_NAME = os.path.basename(SOURCE)
RING = 4096
SMALL_RING = 8

JSON_COMMANDS = {
    "history": "heap history --json",
    "freed": "heap history probe_freed --json",
    "moved": "heap history probe_moved --json",
    "chunk_freed": "heap chunk probe_freed --json",
    "chunk_moved": "heap chunk probe_moved --json",
    "chunk_live": "heap chunk probe_live --json",
    "chunk_mmapped": "heap chunk probe_mmapped --json",
}
TEXT_COMMANDS = {
    "text_history": "heap history --limit 3",
    "text_freed": "heap history probe_freed",
    "text_chunk": "heap chunk probe_freed",
    "probes": "printf \"%lu %lu %lu %lu\\n\", probe_freed, probe_moved, probe_live, probe_mmapped",
    # The module function scripts (and `heap diff`) use, as docs/python-api.md shows it.
    "python_api": "python from ptmalloc.model import history, snapshot; s = snapshot.current(); "
                  "h = history.read_history(s.allocator, s.memory); "
                  "p = int(gdb.parse_and_eval('probe_freed')); "
                  "print(h.recorded, len(h.events), [(e.op, e.ptr == p) for e in "
                  "history.events_for_chunk(h, p - 16, p + 32)])",
}

pytestmark = pytest.mark.skipif(not clone_available(), reason="build/libptmalloc.so is not built")


class HistoryRun:
    """One gdb run of the sample stopped at history_checkpoint (or over its core)."""

    def __init__(self, output, record):
        self.output = output
        parts = sections(output)
        self.text = {name: parts.get(name, "") for name in TEXT_COMMANDS}
        self.json = {}
        for name, command in JSON_COMMANDS.items():
            raw = parts.get(name, "")
            try:
                value = json.loads(raw.splitlines()[-1])
            except (ValueError, IndexError):
                raise AssertionError("%s printed no JSON:\n%s" % (command, output[-3000:])) from None
            self.json[name] = checked(command, value)
        self.calls = read_calls(record) if os.path.exists(record) else []
        probes = self.text["probes"].split()
        self.probes = dict(zip(("freed", "moved", "live", "mmapped"), map(int, probes)))


def _commands():
    return marked(list(JSON_COMMANDS.items()) + list(TEXT_COMMANDS.items()))


def _gdb(argv, folder):
    return subprocess.run(argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=TIMEOUT, errors="replace").stdout


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    path = str(folder / "history_threads")
    subprocess.run(["gcc", "-g", "-O0", "-pthread", SOURCE, "-o", path], check=True)
    return path


def _live(program, folder, environment, commands, preload=LIBRARY):
    record = os.path.join(folder, "record.txt")
    setup = ["set environment %s" % setting for setting in environment]
    argv = gdb_argv(program, setup + ["break history_checkpoint", "run " + record] + commands,
                    preload)
    return _gdb(argv, folder), record


@pytest.fixture(scope="module")
def live(program, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("history-live"))
    core = os.path.join(folder, "history.core")
    output, record = _live(program, folder, ["PTMALLOC_HISTORY %d" % RING],
                           _commands() + ["gcore " + core, "kill"])
    run = HistoryRun(output, record)
    run.core = core
    return run


@pytest.fixture(scope="module")
def from_core(program, live):
    assert os.path.exists(live.core), live.output[-3000:]
    output = _gdb(gdb_argv(program, _commands(), core=live.core), os.path.dirname(live.core))
    return HistoryRun(output, os.path.join(os.path.dirname(live.core), "record.txt"))


@pytest.fixture(params=["live", "core"])
def run(request, live, from_core):
    return live if request.param == "live" else from_core


def _sample_events(events):
    """The events whose call site is in the sample's source (libc allocates too)."""
    return [event for event in events if (event["file"] or "").endswith(SOURCE_NAME)]


def _matches(event, call):
    return (event["op"], event["ptr"], event["size"], event["thread"], event["line"]) == \
        (call.op, call.ptr, call.size, call.thread, call.line) and \
        (call.op != "realloc" or event["old_ptr"] == call.old_ptr)


def test_every_call_is_recorded_once_with_its_line(run):
    history = run.json["history"]
    assert history["enabled"] is True and history["capacity"] == RING
    assert history["overwritten"] == 0 and history["in_progress"] == []
    assert len(run.calls) == 2 * 13 + 14, "the sample's record is incomplete"
    events = _sample_events(history["events"])
    # Once per public call: realloc's and memalign's inner malloc and free are not recorded.
    assert len(events) == len(run.calls)
    unmatched = list(events)
    for call in run.calls:
        found = next((event for event in unmatched if _matches(event, call)), None)
        assert found is not None, "no event for %s at line %d" % (call.op, call.line)
        unmatched.remove(found)
        assert found["function"] in ("main", "worker", "aligned_calls")
    seqs = [event["seq"] for event in history["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # Each thread's calls are numbered in the order it made them.
    for thread in {call.thread for call in run.calls}:
        lines = [event["line"] for event in events if event["thread"] == thread]
        assert lines == [call.line for call in run.calls if call.thread == thread]


def test_threads_are_named_by_gdb_number(run):
    events = _sample_events(run.json["history"]["events"])
    numbers = {event["thread"]: event["thread_num"] for event in events}
    assert sorted(numbers.values()) == [1, 2, 3]
    assert numbers[run.calls[-1].thread] == 1


def _call(run, op, ptr):
    return [call for call in run.calls if call.op == op and ptr in (call.ptr, call.old_ptr)]


def test_history_of_a_freed_chunk(run):
    pointer = run.probes["freed"]
    malloc_call, = _call(run, "malloc", pointer)
    free_call, = _call(run, "free", pointer)
    value = run.json["freed"]
    assert value["address"] == pointer and value["chunk"] == pointer - 16
    lines = [(event["op"], event["line"]) for event in value["events"]]
    assert lines == [("malloc", malloc_call.line), ("free", free_call.line)]
    text = run.text["text_freed"]
    # Files are named as gdb names them (here the absolute path the sample was compiled from).
    assert "allocated by malloc(40) = %#x in thread 1 (LWP %d) at %s:%d (main)" % (
        pointer, malloc_call.thread, SOURCE, malloc_call.line) in text
    assert "freed by free in thread 1 (LWP %d) at %s:%d (main)" % (
        free_call.thread, SOURCE, free_call.line) in text
    chunk = run.json["chunk_freed"]["history"]
    assert (chunk["allocated"]["line"], chunk["freed"]["line"]) == (malloc_call.line, free_call.line)
    assert "last free: freed by free in thread 1" in run.text["text_chunk"]


def test_a_realloc_that_moved_is_the_last_free(run):
    pointer = run.probes["moved"]
    malloc_call, = _call(run, "malloc", pointer)
    realloc_call, = _call(run, "realloc", pointer)
    assert realloc_call.ptr != pointer, "the sample's realloc was meant to move"
    chunk = run.json["chunk_moved"]["history"]
    assert chunk["allocated"]["line"] == malloc_call.line
    assert (chunk["freed"]["op"], chunk["freed"]["line"]) == ("realloc", realloc_call.line)
    assert [event["op"] for event in run.json["moved"]["events"]] == ["malloc", "realloc"]


def test_live_and_mmapped_chunks(run):
    live = run.json["chunk_live"]["history"]
    assert live["freed"] is None and live["allocated"]["size"] == 72
    mmapped = run.json["chunk_mmapped"]
    assert mmapped["mmapped"] is True
    assert mmapped["history"]["allocated"]["size"] == 300000


def test_the_python_reader(run):
    history = run.json["history"]
    assert run.text["python_api"] == "%d %d [('malloc', True), ('free', True)]" % (
        history["recorded"], len(history["events"]))


def test_text_says_how_much_was_recorded(run):
    text = run.text["text_history"]
    recorded = run.json["history"]["recorded"]
    assert "allocation history: %d calls recorded, ring of %d: none overwritten" % (
        recorded, RING) in text
    assert "(%d older ones left out: --limit 3)" % (len(run.json["history"]["events"]) - 3) in text


def test_a_small_ring_keeps_the_last_calls(program, tmp_path):
    output, record = _live(program, str(tmp_path),
                           ["GLIBC_TUNABLES glibc.malloc.history=%d" % SMALL_RING],
                           marked([("history", "heap history --json")] + BAD_INPUT) + ["kill"])
    parts = sections(output)
    history = checked("heap history --json", json.loads(parts["history"]))
    calls = read_calls(record)
    assert history["capacity"] == SMALL_RING and history["recorded"] > len(calls)
    assert history["overwritten"] == history["recorded"] - SMALL_RING
    assert [event["seq"] for event in history["events"]] == list(
        range(history["recorded"] - SMALL_RING + 1, history["recorded"] + 1))
    # The sample's last calls (main's aligned_calls) are all there, in order.
    tail = calls[-len(_sample_events(history["events"])):]
    assert [(e["op"], e["line"]) for e in _sample_events(history["events"])] == \
        [(call.op, call.line) for call in tail]


    # Bad input: one line each, never a traceback.
    assert parts["bad_expression"].startswith("heap: cannot evaluate 'no_such_symbol'")
    assert parts["bad_limit"].startswith("heap: heap history: argument --limit: not a size")
    assert parts["nowhere"].startswith("allocation history: ")
    assert parts["nowhere"].endswith("0x10 (in no chunk now: calls whose pointer is there): 0 "
                                     "calls of the %d in the ring touched it" % SMALL_RING)
    assert parts["damaged"] == "heap: the history ring at %#x says it has 0 slots: damaged" % (
        int(parts["ring"].split()[-1], 16))
    assert "Traceback" not in output


BAD_INPUT = [("bad_expression", "heap history no_such_symbol"),
             ("bad_limit", "heap history --limit x"),
             ("nowhere", "heap history 16"),
             ("ring", "output/x ptmalloc_history"),
             ("set", "set var ptmalloc_history->capacity = 0"),
             ("damaged", "heap history")]


def test_history_off_says_so_and_moves_nothing(program, live, tmp_path):
    output, record = _live(program, str(tmp_path), [],
                           marked([("text", "heap history"), ("json", "heap history --json"),
                                   ("chunk", "heap chunk probe_freed --json")]) + ["kill"])
    parts = sections(output)
    assert parts["text"].startswith("allocation history is off: history is off in this run; run "
                                    "the program with PTMALLOC_HISTORY=N")
    assert checked("heap history --json", json.loads(parts["json"])) == {
        "enabled": False, "events": [], "reason": json.loads(parts["json"])["reason"]}
    assert checked("heap chunk --json", json.loads(parts["chunk"]))["history"] is None
    # Every pointer the program got, heap and mmapped, is the one it got with history on.
    off = [(call.op, call.ptr, call.old_ptr, call.size) for call in read_calls(record)]
    on = [(call.op, call.ptr, call.old_ptr, call.size) for call in live.calls]
    assert off == on


def test_glibc_has_no_history(program, tmp_path):
    output, _record = _live(program, str(tmp_path), ["PTMALLOC_HISTORY 64"],
                            marked([("text", "heap history")]) + ["kill"], preload=None)
    assert sections(output)["text"].startswith("allocation history is off: glibc's malloc records "
                                               "no history")
    assert GDB
