"""`heap refs` against the pointers a program planted: refs_planted.c puts the address of one chunk
in three other chunks, a live stack frame, .data, .bss and a second thread's __thread variable,
as the main thread's value of a thread-specific key (in its thread descriptor), and writes down
each planted word's address and value; it also holds the address in a register
at the stop.  `heap refs` must find exactly those words and that register (nothing it did not
plant) and name each one's region, live and from a gcore'd core, on
glibc and on the clone."""

import json
import os
import struct
import subprocess

import pytest

from conftest import GDB, LOADER, REPO, marked, run_gdb, sections
from json_contract import checked
from sample_records import PLANTED_REGIONS, planted

SOURCE = os.path.join(REPO, "tests", "gdb", "refs_planted.c")
CLONE = os.path.join(os.environ.get("PTM_BUILD", os.path.join(REPO, "build")), "libptmalloc.so")


# Less than a stack segment: the core loses the top of the main thread's stack, where its
# frames are.
CUT_BYTES = 16 << 10


def _notes_first(core):
    """The core laid out as the kernel writes one: notes before the memory, no section headers
    (gcore writes its notes and section headers last, so a cut gcore'd core is no core to gdb,
    while a kernel core cut by a size limit loses only memory)."""
    header = bytearray(core[:64])
    phoff, phentsize, phnum = (struct.unpack_from("<Q", header, 0x20)[0],
                               *struct.unpack_from("<HH", header, 0x36))
    entries = [bytearray(core[phoff + i * phentsize:phoff + (i + 1) * phentsize])
               for i in range(phnum)]
    body, offset = [], 64 + phnum * phentsize
    for entry in sorted(entries, key=lambda entry: struct.unpack_from("<I", entry)[0] != 4):
        old_offset, file_size = struct.unpack_from("<Q", entry, 8)[0], \
            struct.unpack_from("<Q", entry, 32)[0]
        body.append(core[old_offset:old_offset + file_size])
        struct.pack_into("<Q", entry, 8, offset)
        offset += file_size
    struct.pack_into("<Q", header, 0x20, 64)
    struct.pack_into("<Q", header, 0x28, 0)       # e_shoff
    struct.pack_into("<HH", header, 0x3c, 0, 0)   # e_shnum, e_shstrndx
    return bytes(header) + b"".join(bytes(entry) for entry in entries) + b"".join(body)


def _loads(core):
    """(program header offset, p_vaddr, p_memsz, p_offset, p_filesz) of each PT_LOAD of a core."""
    phoff, phentsize, phnum = (struct.unpack_from("<Q", core, 0x20)[0],
                               *struct.unpack_from("<HH", core, 0x36))
    for entry in range(phoff, phoff + phnum * phentsize, phentsize):
        kind, = struct.unpack_from("<I", core, entry)
        if kind == 1:
            yield (entry, *struct.unpack_from("<Q", core, entry + 16),
                   *struct.unpack_from("<Q", core, entry + 40),
                   *struct.unpack_from("<Q", core, entry + 8),
                   *struct.unpack_from("<Q", core, entry + 32))


def _left_out(core, address):
    """The core (as _notes_first lays it out) with the PT_LOAD holding `address` not dumped: its
    p_filesz 0, as the kernel writes a mapping that coredump_filter leaves out."""
    left_out = bytearray(core)
    for entry, vaddr, memory_size, _offset, _file_size in _loads(core):
        if vaddr <= address < vaddr + memory_size:
            struct.pack_into("<Q", left_out, entry + 32, 0)
            return bytes(left_out), (vaddr, vaddr + memory_size)
    raise AssertionError("no PT_LOAD holds %#x" % address)


def _with_word(core, address, value):
    """The core with the word at `address` of the program's memory made `value`."""
    changed = bytearray(core)
    for _entry, vaddr, _memory_size, offset, file_size in _loads(core):
        if vaddr <= address < vaddr + file_size:
            struct.pack_into("<Q", changed, offset + address - vaddr, value)
            return bytes(changed)
    raise AssertionError("the core holds no %#x" % address)


# A size no chunk can have (a multiple of 8 that is not of 16), written over the main heap's
# first chunk: pass one of the segment cannot reach the target past it.
_IMPOSSIBLE_SIZE = 0x414141414141414c
_FIRST_PASS = ("first_pass", "python from ptmalloc.model import core_refs_scan, snapshot; "
               "print(core_refs_scan.first_pass_bounds(snapshot.current(), "
               "int(gdb.convenience_variable('target'))))")


# From a core, the file is scanned on a thread for the chunk that pass one of its segment finds,
# while the whole walk runs (core_refs_scan.py).  The same command with that first guess made
# wrong, or made none, must still find exactly the planted words (the file scanned again for
# the chunk the walk found); and a command interrupted in the walk leaves no scan running.
_GUESS = "python import ptmalloc.model.core_refs_scan as s; s.first_pass_bounds = %s"
_FIRST_PASS_MISSES = [
    ("wrong_guess_set", _GUESS % "lambda snap, address: (address - 0x2000, 0x20)"),
    ("wrong_guess", "heap refs $target --json"),
    ("no_guess_set", _GUESS % "lambda snap, address: None"),
    ("no_guess", "heap refs $target --json"),
    ("guess_again", "python import importlib, ptmalloc.model.core_refs_scan as s; "
     "importlib.reload(s)"),
    ("interrupt_walk", "python import ptmalloc.model.chunk_table as t; "
     "t.ChunkFinder = lambda snap: (_ for _ in ()).throw(KeyboardInterrupt())"),
    ("interrupted", "heap refs $target"),
    ("threads_left", "python import threading; print(sorted(thread.name for thread in "
     "threading.enumerate() if thread.name.startswith('heap refs')))"),
]


def _sections(argv, cwd, env=None):
    """The marked outputs of one gdb run, which must hold no traceback."""
    output = run_gdb(argv, cwd, env)
    assert "Traceback" not in output, output
    return sections(output)


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
    # Live, every mapping is scanned a page-sized window at a time, as a mapping too big to copy
    # (PTMALLOC_GDB_WINDOW): the planted pointers must all be found that way too.
    live_parts = _sections(live + [program], str(tmp_path),
                           dict(os.environ, PTMALLOC_GDB_WINDOW="4096"))
    dead = head + ["-ex", "file " + program, "-ex", "core-file " + core, "-ex",
                   _target_setup(record)]
    sbrk_base = ("sbrk_base", "python print(int(gdb.parse_and_eval('mp_.sbrk_base')))")
    for command in marked(commands + [_FIRST_PASS, sbrk_base] + _FIRST_PASS_MISSES):
        dead += ["-ex", command]
    core_parts = _sections(dead, str(tmp_path))
    # The same core cut short: it ends before its last segments (the main thread's stack).
    cut = str(tmp_path / "cut.core")
    with open(core, "rb") as whole, open(cut, "wb") as part:
        kernel_like = _notes_first(whole.read())
        part.write(kernel_like[:len(kernel_like) - CUT_BYTES])
    cut_run = head + ["-ex", "file " + program, "-ex", "core-file " + cut, "-ex",
                      _target_setup(record)]
    for command in marked([("json", "heap refs $target --json"), ("text", "heap refs $target")]):
        cut_run += ["-ex", command]
    core_parts["cut"] = _sections(cut_run, str(tmp_path))
    words, registers = planted(record)
    # The same core with the segment of the planted .data word left out (not dumped).
    data_word = [address for kind, address, _value in words if kind == "data"][0]
    left_out = str(tmp_path / "left_out.core")
    with open(left_out, "wb") as handle:
        image, core_parts["left_out_segment"] = _left_out(kernel_like, data_word)
        handle.write(image)
    left_out_run = head + ["-ex", "file " + program, "-ex", "core-file " + left_out, "-ex",
                           _target_setup(record)]
    for command in marked([("json", "heap refs $target --json")]):
        left_out_run += ["-ex", command]
    core_parts["left_out"] = _sections(left_out_run, str(tmp_path))
    # The same core with an impossible size in the main heap's first chunk.
    damaged = str(tmp_path / "damaged.core")
    with open(damaged, "wb") as handle:
        handle.write(_with_word(kernel_like, int(core_parts["sbrk_base"]) + 8, _IMPOSSIBLE_SIZE))
    damaged_run = head + ["-ex", "file " + program, "-ex", "core-file " + damaged, "-ex",
                          _target_setup(record)]
    for command in marked([_FIRST_PASS, ("json", "heap refs $target --json")]):
        damaged_run += ["-ex", command]
    core_parts["damaged"] = _sections(damaged_run, str(tmp_path))
    return {"live": live_parts, "core": core_parts}, words, registers


@pytest.fixture(scope="module", params=["glibc", "clone"])
def planted_runs(request, tmp_path_factory):
    return _runs(tmp_path_factory.mktemp("refs-" + request.param), request.param == "clone")


@pytest.mark.parametrize("source", ["live", "core"])
def test_finds_every_planted_pointer_and_nothing_else(planted_runs, source):
    parts, planted, registers = planted_runs
    for name in ("json", "inside"):
        report = checked("heap refs --json", json.loads(parts[source][name].splitlines()[-1]))
        found = {(ref["address"], ref["value"]): ref["region"] for ref in report["refs"]}
        assert set(found) == {(address, value) for _kind, address, value in planted}, report
        assert {(ref["thread"], ref["register"], ref["value"])
                for ref in report["registers"]} == registers, report
        for kind, address, value in planted:
            assert found[(address, value)].startswith(PLANTED_REGIONS[kind]), (kind, found)
        assert report["complete"] and not report["unread"], report
        heap_holders = {ref["chunk"] for ref in report["refs"] if ref["chunk"] is not None}
        assert len(heap_holders) == 3


def test_a_first_guess_that_misses_is_scanned_again(planted_runs):
    parts, planted, registers = planted_runs
    truth = {(address, value) for _kind, address, value in planted}
    for name in ("wrong_guess", "no_guess"):
        report = checked("heap refs --json", json.loads(parts["core"][name].splitlines()[-1]))
        assert {(ref["address"], ref["value"]) for ref in report["refs"]} == truth, name
        assert report["complete"] and not report["unread"], report


def test_the_first_guess_is_the_walks_chunk_and_never_past_damage(planted_runs):
    parts, planted, _registers = planted_runs
    report = json.loads(parts["core"]["json"].splitlines()[-1])
    assert parts["core"]["first_pass"] == "(%d, %d)" % (report["chunk"]["address"],
                                                         report["chunk"]["size"])
    # Past an impossible size pass one guesses nothing (the thread scans nothing for it), and
    # the walk, which resumes past the damage, still finds every planted word.
    damaged = parts["core"]["damaged"]
    assert damaged["first_pass"] == "None"
    report = checked("heap refs --json", json.loads(damaged["json"].splitlines()[-1]))
    assert {(ref["address"], ref["value"]) for ref in report["refs"]} == \
        {(address, value) for _kind, address, value in planted}, report


def test_an_interrupted_core_scan_leaves_no_thread(planted_runs):
    parts = planted_runs[0]["core"]
    assert parts["interrupted"] == "heap: interrupted"
    assert parts["threads_left"] == "[]"


@pytest.mark.parametrize("source", ["live", "core"])
def test_text_and_errors(planted_runs, source):
    parts, planted, registers = planted_runs
    text = parts[source]["text"]
    for _kind, address, _value in planted:
        assert "%#x" % address in text
    for thread, register, value in registers:
        assert "register %s of thread %d  %#x" % (register, thread, value) in text
    assert "TLS of thread 2" in text and "stack of thread 1" in text
    assert parts[source]["nowhere"] == "heap: 0x10 is in no chunk of the heap (see `heap chunks`)"


def test_a_core_cut_short_says_what_it_could_not_scan(planted_runs):
    parts, planted, registers = planted_runs
    cut = parts["core"]["cut"]
    report = checked("heap refs --json", json.loads(cut["json"].splitlines()[-1]))
    found = {(ref["address"], ref["value"]) for ref in report["refs"]}
    # Every planted word but the stack's is still found, and the stack's is not made up...
    assert found == {(address, value) for kind, address, value in planted if kind != "stack"}
    # (the registers are in the core's notes, which the cut keeps)
    assert {(ref["thread"], ref["register"], ref["value"])
            for ref in report["registers"]} == registers
    stack_word = [address for kind, address, _value in planted if kind == "stack"][0]
    # ...it is said to be in memory the core does not hold.
    assert not report["complete"]
    assert any(lost["start"] <= stack_word < lost["end"] and "cut short" in lost["why"]
               for lost in report["unread"]), report["unread"]
    assert "not scanned: " in cut["text"] and "cut short" in cut["text"]


def test_a_segment_the_core_left_out_is_said_to_be_unread(planted_runs):
    parts, planted, _registers = planted_runs
    start, end = parts["core"]["left_out_segment"]
    report = checked("heap refs --json", json.loads(
        parts["core"]["left_out"]["json"].splitlines()[-1]))
    found = {(ref["address"], ref["value"]) for ref in report["refs"]}
    # Every planted word outside the segment is found, none inside it...
    assert found == {(address, value) for _kind, address, value in planted
                     if not start <= address < end}
    # ...and the whole segment is said to be unread, as the core leaves it out.
    assert not report["complete"]
    assert any(lost["start"] == start and lost["end"] == end and "leaves out" in lost["why"]
               for lost in report["unread"]), report["unread"]
