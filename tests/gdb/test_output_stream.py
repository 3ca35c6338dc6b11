"""A heap listing written straight to gdb's standard output (gdb/ptmalloc/render/stream.py):
only when that output is a regular file gdb writes to unaltered, and then byte for byte what
gdb.write gives.  From the core of the bench's heap of 20,000 chunks, `heap chunks --json` and
`heap chunks` are run with gdb's output in a file (written directly), and captured by
`to_string`, through a pipe, by gdb's `pipe` command and by `set logging` (all through gdb):
every one of them holds exactly the listing `to_string` captures."""

import json
import os
import subprocess

import pytest

from conftest import BUILD, GDB, LOADER, TIMEOUT

SAMPLE = os.path.join(BUILD, "bench", "million_chunks")
CHUNKS = 20_000

# Run in gdb after the extension: the listing of COMMAND goes where the test put gdb's output;
# the same listing captured with to_string, and whether each Stream wrote directly, go to files.
SCRIPT = r"""
import gdb
from ptmalloc.render import stream

made = []
_original = stream.Stream.__init__


def _kept(self):
    _original(self)
    made.append(self)


stream.Stream.__init__ = _kept
for line in BEFORE.splitlines():
    gdb.execute(line)
gdb.write("@@LISTING\n")  # what gdb wrote on loading the core comes before it
gdb.execute(COMMAND)
gdb.execute("set logging enabled off", to_string=True)
directly = [each.direct for each in made]
captured = gdb.execute(COMMAND.replace("pipe ", "").split(" | ")[0], to_string=True)
with open(RESULT, "w") as handle:
    handle.write(repr({"direct": directly, "captured_direct": made[-1].direct}))
with open(CAPTURED, "w") as handle:
    handle.write(captured)
"""


@pytest.fixture(scope="module")
def heap_core(tmp_path_factory):
    assert os.path.exists(SAMPLE), "build/bench/million_chunks is not built (make test builds it)"
    folder = tmp_path_factory.mktemp("stream")
    environment = dict(os.environ)
    environment.pop("LD_PRELOAD", None)
    process = subprocess.Popen([SAMPLE, str(CHUNKS)], env=environment,
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    core = folder / "heap.core"
    try:
        assert process.stdout.readline().split()[:1] == [b"ready"]
        subprocess.run([GDB, "-nx", "-batch", "-p", str(process.pid), "-ex", "gcore %s" % core],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT,
                       check=True)
    finally:
        process.kill()
        process.wait()
    return folder, core


def _listing(heap_core, command, where, before=""):
    """Run `command` from the core with gdb's output `where` ("file", "pipe"); (what reached
    that output, what to_string captured, the Streams' direct flags)."""
    folder, core = heap_core
    name = "%s-%s" % (where, len(os.listdir(folder)))
    result, captured = folder / (name + ".result"), folder / (name + ".captured")
    script = folder / (name + ".py")
    script.write_text("COMMAND = %r\nBEFORE = %r\nRESULT = %r\nCAPTURED = %r\n" % (
        command, before, str(result), str(captured)) + SCRIPT)
    argv = [GDB, "-nx", "-q", "-batch", SAMPLE, str(core), "-ex", "source " + LOADER,
            "-ex", "source %s" % script]
    if where == "file":
        out = folder / (name + ".out")
        with open(out, "wb") as handle:
            subprocess.run(argv, stdout=handle, stderr=subprocess.DEVNULL, timeout=TIMEOUT,
                           check=False)
        written = out.read_text()
    else:
        written = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, timeout=TIMEOUT, check=False).stdout
    assert "@@LISTING\n" in written, written[-2000:]
    written = written.split("@@LISTING\n", 1)[1]
    flags = eval(result.read_text())  # noqa: S307 - the repr the script above wrote
    return written, captured.read_text(), flags


@pytest.mark.parametrize("command", ["heap chunks --json", "heap chunks"])
def test_a_file_gets_the_listing_written_directly(heap_core, command):
    written, captured, flags = _listing(heap_core, command, "file")
    assert flags["direct"][0] is True and flags["captured_direct"] is False, flags
    assert written == captured
    if command.endswith("--json"):
        assert len(json.loads(written)["arenas"]) == 4
    assert len(captured) > 20 * CHUNKS


def test_a_pipe_gets_the_listing_through_gdb(heap_core):
    written, captured, flags = _listing(heap_core, "heap chunks --json", "pipe")
    assert flags["direct"][0] is False, flags
    assert written == captured and len(captured) > 20 * CHUNKS


def test_gdb_pipe_command_gets_the_listing(heap_core, tmp_path):
    target = tmp_path / "piped.json"
    written, captured, flags = _listing(heap_core, "pipe heap chunks --json | cat > %s" % target,
                                        "file")
    assert flags["direct"][0] is False, flags
    assert target.read_text() == captured and written == ""


def test_a_log_file_gets_the_listing(heap_core, tmp_path):
    log = tmp_path / "gdb.log"
    written, captured, flags = _listing(
        heap_core, "heap chunks --json", "file",
        before="set logging file %s\nset logging enabled on" % log)
    assert flags["direct"][0] is False, flags
    assert written == captured
    assert log.read_text().split("@@LISTING\n", 1)[-1] == captured
