"""The link words a live heap's window pass keeps for the list walks (gdb/native/link_words.c,
native_live.link_words): on the bench's heap of 60,000 chunks, its every heap walked a 64 KiB
window at a time, the lists read from the live process are those read from its gcore'd core
(whose segments are read whole from the file), and they cost a page read only where the pass
kept no word (a chunk at each window's end, each list's last link), where the same walk with
room for a hundred words reads a page for most steps.  Clone and glibc."""

import json
import os
import subprocess

import pytest

from conftest import BUILD, GDB, LIBRARY, LOADER, TIMEOUT

SAMPLE = os.path.join(BUILD, "bench", "million_chunks")
CHUNKS = 60_000
WINDOW = 65536

SCRIPT = r"""
import json
import gdb
from ptmalloc.model import native, native_live, snapshot

native_live.LINK_WORDS_BUDGET = BUDGET
snap = snapshot.current()
snap.threads
remote = native_live.remote_pages(snap.memory)
windows = sum((segment.end - segment.start + native_live.WINDOW_BYTES - 1)
              // native_live.WINDOW_BYTES for arena in snap.arenas for segment in arena.heaps)
lists = sum(len(thread.tcache_bins) for thread in snap.threads) + sum(
    len(arena.all_bins()) for arena in snap.arenas)
print("@@" + json.dumps({"native": native.available(), "pages": remote.pages_read(),
                         "windows": windows, "lists": lists,
                         "bins": gdb.execute("heap bins --json", to_string=True)}))
if GCORE:
    gdb.execute("gcore " + GCORE, to_string=True)
"""


def _gdb(arguments, script=None, env=None):
    argv = [GDB, "-nx", "-q", "-batch", "-ex", "source " + LOADER] + arguments
    if script is not None:
        argv += ["-ex", "source " + script]
    output = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=TIMEOUT, env=env, check=False).stdout
    return output


def _listed(value):
    """How many chunks `heap bins --json` lists, in every list of every kind."""
    if isinstance(value, dict):
        return sum(len(item) if key == "chunks" else _listed(item) for key, item in value.items())
    if isinstance(value, list):
        return sum(map(_listed, value))
    return 0


def _report(output):
    line = next((l for l in output.splitlines() if l.startswith("@@")), None)
    assert line is not None, output[-3000:]
    return json.loads(line[2:])


@pytest.mark.parametrize("allocator", ["clone", "glibc"])
def test_live_lists_read_kept_words_and_match_the_core(allocator, tmp_path):
    assert os.path.exists(SAMPLE), "build/bench/million_chunks is not built (make test builds it)"
    environment = dict(os.environ)
    environment.pop("LD_PRELOAD", None)
    if allocator == "clone":
        environment["LD_PRELOAD"] = LIBRARY
    process = subprocess.Popen([SAMPLE, str(CHUNKS)], env=environment,
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    core = tmp_path / "heap.core"
    try:
        assert process.stdout.readline().split()[:1] == [b"ready"]
        gdb_env = dict(os.environ, PTMALLOC_GDB_WINDOW=str(WINDOW))
        gdb_env.pop("LD_PRELOAD", None)
        reports = {}
        for budget, gcore in (("1 << 23", str(core)), ("100", "")):
            script = tmp_path / ("budget-%d.py" % len(reports))
            script.write_text("BUDGET = %s\nGCORE = %r\n" % (budget, gcore) + SCRIPT)
            reports[budget] = _report(_gdb(["-p", str(process.pid)], str(script), gdb_env))
    finally:
        process.kill()
        process.wait()
    kept, starved = reports["1 << 23"], reports["100"]
    assert kept["native"], "the C helper is not built (make test builds it)"
    from_core = _gdb([SAMPLE, str(core), "-ex", "heap bins --json"])
    core_bins = json.loads(from_core[from_core.index("{"):])
    listed = _listed(core_bins)
    assert json.loads(kept["bins"]) == core_bins
    assert json.loads(starved["bins"]) == core_bins
    # A page for a chunk at each window's end and for each list's end, at most; with room for
    # a hundred words, most of the thousands of steps read a page.
    assert kept["pages"] <= kept["windows"] + kept["lists"], kept
    assert starved["pages"] > 2 * (kept["windows"] + kept["lists"]), starved
    assert kept["windows"] > 10 and listed > 5000, (kept, listed)
