"""A command interrupted (Ctrl-C) must leave nothing half-built: the next commands of the same
stop give the same answers as without the interruption, and heap check stays ok.  Interrupted
at a chosen read (a KeyboardInterrupt raised from inside the second arena's bins, or the second
thread's thread-locals), and by SIGINT from a timer at random moments on a bigger heap, its
segments read whole and walked a window at a time."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import oracle_harness  # noqa: E402

SCRIPT = r'''
import json
import os
import gdb
from ptmalloc.model import snapshot
from ptmalloc.target import thread_locals

def answer(command):
    return json.loads(gdb.execute(command, to_string=True).splitlines()[-1])

reference = {command: answer(command) for command in COMMANDS}
snapshot._cache = (None, None)
snap = snapshot.current()
# The read interrupted: the second arena's bins, or the second thread's thread-locals (read
# with each thread selected in turn for glibc, where `thread apply -c` would go on past it).
owner, name = (snap._lists, "_read_bins") if WHERE == "bins" else (thread_locals, "_read_thread")
original = getattr(owner, name)
reads = []

def interrupted(*arguments):
    reads.append(arguments)
    if len(reads) == 2:
        raise KeyboardInterrupt
    return original(*arguments)

setattr(owner, name, interrupted)
try:
    gdb.execute("heap check --json", to_string=True)
    outcome = "not interrupted"
except BaseException as error:
    outcome = type(error).__name__
setattr(owner, name, original)
after = {command: answer(command) for command in COMMANDS}
print("@@" + json.dumps({"outcome": outcome, "reads": len(reads),
                         "same": [after[c] == reference[c] for c in COMMANDS],
                         "check": after["heap check --json"]}))
'''
COMMANDS = ["heap bins --json", "heap tcache --json", "heap check --json", "heap chunks --json"]


@pytest.mark.parametrize("where", ["bins", "thread-locals"])
@pytest.mark.parametrize("allocator", ["clone", "glibc"])
def test_interrupted_read_leaves_nothing_half_built(allocator, where, tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text("COMMANDS = %r\nWHERE = %r\n" % (COMMANDS, where) + SCRIPT)
    program, settings = oracle_harness.ALLOCATORS[allocator]
    command = [oracle_harness.GDB, "-nx", "-q", "-batch"] + settings + [
        "-ex", "source %s" % oracle_harness.LOADER, "-ex", "break oracle_stop",
        "-ex", "run %s 5 none 2" % (tmp_path / "record"), "-ex", "source %s" % script,
        str(program)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=180,
                            check=False).stdout
    line = next((l for l in output.splitlines() if l.startswith("@@")), None)
    assert line is not None, output[-2000:]
    result = json.loads(line[2:])
    assert result["reads"] == 2 and result["outcome"] != "not interrupted", result
    assert all(result["same"]), result
    assert result["check"]["ok"], result["check"]


# SIGINT from a timer, as Ctrl-C would arrive: at a moment drawn at random within each command's
# own running time, on a heap big enough for the commands to take a while.  Before each
# interrupted command the stop's caches are dropped, so the interruption falls while they are
# built; the answers after it, at the same stop, must be those of an uninterrupted run.
TIMER_SCRIPT = r'''
import json, os, random, signal, threading, time
import gdb
from ptmalloc.memory import cache

def answer(command):
    return json.loads(gdb.execute(command, to_string=True).splitlines()[-1])

chooser = random.Random(SEED)
reference = {}
for command in COMMANDS:
    cache.invalidate()
    started = time.monotonic()
    reference[command] = answer(command)
    reference[command + " seconds"] = time.monotonic() - started
report = []
for command in COMMANDS:
    for _round in range(ROUNDS):
        cache.invalidate()
        timer = threading.Timer(chooser.uniform(0, reference[command + " seconds"]),
                                os.kill, (os.getpid(), signal.SIGINT))
        try:
            timer.start()  # a short delay may fire before start() returns: inside the try
            gdb.execute(command, to_string=True)
            outcome = "finished"
        except KeyboardInterrupt:
            outcome = "KeyboardInterrupt"
        except gdb.error as error:
            outcome = str(error)
        try:
            timer.join()
            time.sleep(0.05)  # a signal sent as the command ended lands here, not below
        except KeyboardInterrupt:
            pass  # the command had finished before the signal came
        answers = {other: answer(other) for other in COMMANDS}
        report.append({"command": command, "outcome": outcome,
                       "same": [answers[other] == reference[other] for other in COMMANDS]})
        for other in COMMANDS:
            if answers[other] != reference[other]:
                print("DIFF after %s: %s" % (command, other))
print("@@" + json.dumps(report))
'''
TIMER_COMMANDS = ["heap check --json", "heap chunks --json", "heap chunks --summary --json",
                  "heap bins --json"]
TIMER_ROUNDS = 3
TIMER_HEAP_CHUNKS = 100_000


# The heap's segments (about 3.6 MB an arena) read whole, and walked as a heap too big to copy:
# a window of 64 KiB at a time, the lists through the link words a window pass keeps.
WINDOWS = {"whole": None, "windows": "65536"}


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("allocator", ["clone", "glibc"])
def test_sigint_at_random_moments_leaves_the_stop_as_it_was(allocator, window, tmp_path):
    sample = oracle_harness.BUILD / "bench" / "million_chunks"
    gdb_environment = dict(os.environ)
    gdb_environment.pop("PTMALLOC_GDB_WINDOW", None)
    if WINDOWS[window]:
        gdb_environment["PTMALLOC_GDB_WINDOW"] = WINDOWS[window]
    environment = dict(os.environ)
    if allocator == "clone":
        environment["LD_PRELOAD"] = str(oracle_harness.CLONE)
    process = subprocess.Popen([str(sample), str(TIMER_HEAP_CHUNKS)], env=environment,
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert process.stdout.readline().split()[:1] == [b"ready"]
        script = tmp_path / "timer.py"
        seed = int(os.environ.get("ORACLE_TIMER_SEED", "7"))
        script.write_text("COMMANDS = %r\nROUNDS = %d\nSEED = %d\n" % (
            TIMER_COMMANDS, TIMER_ROUNDS, seed) + TIMER_SCRIPT)
        output = subprocess.run(
            [oracle_harness.GDB, "-nx", "-q", "-batch", "-ex", "source %s" % oracle_harness.LOADER,
             "-p", str(process.pid), "-ex", "source %s" % script],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
            env=gdb_environment, check=False).stdout
    finally:
        process.kill()
        process.wait()
    line = next((l for l in output.splitlines() if l.startswith("@@")), None)
    assert line is not None, output[-2000:]
    report = json.loads(line[2:])
    assert len(report) == len(TIMER_COMMANDS) * TIMER_ROUNDS
    for entry in report:
        assert entry["outcome"] in ("finished", "KeyboardInterrupt", "heap: interrupted"), entry
        assert all(entry["same"]), (entry, [l for l in output.splitlines() if l.startswith("DIFF")])
    assert any(entry["outcome"] != "finished" for entry in report), report
