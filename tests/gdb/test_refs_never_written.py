"""`heap refs` on a live process leaves out the windows the program never wrote (private
anonymous memory none of whose pages it touched, from /proc/PID/pagemap): zeros hold no address.
The bench's sample holds 256 MiB of main heap it never writes before its chunks; live, with a
1 MiB window, refs of a small-bin chunk (which its bin neighbours' links point to) skips most of
those windows and finds exactly the references the gcore'd core gives (whose file is read
whole)."""

import json
import os
import subprocess

from conftest import BUILD, GDB, LOADER, TIMEOUT

SAMPLE = os.path.join(BUILD, "bench", "million_chunks")
CHUNKS = 8192
PADDING_MIB = 256

SCRIPT = r"""
import json
import gdb
from ptmalloc.memory import process_memory

skipped = []
_original = process_memory.never_written


def _counted(inferior, address, length):
    answer = _original(inferior, address, length)
    skipped.append(answer)
    return answer


process_memory.never_written = _counted
bins = json.loads(gdb.execute("heap bins --json", to_string=True))
target = next(chain["chunks"][0] for arena in bins["arenas"] for chain in arena["smallbins"]
              if chain["chunks"])
refs = json.loads(gdb.execute("heap refs %d --json" % target, to_string=True))
gdb.execute("gcore " + CORE, to_string=True)
print("@@" + json.dumps({"target": target, "refs": refs, "skipped": sum(skipped),
                         "asked": len(skipped)}))
"""


def _report(output):
    line = next((l for l in output.splitlines() if l.startswith("@@")), None)
    assert line is not None, output[-3000:]
    return json.loads(line[2:])


def test_live_refs_skip_never_written_windows_and_match_the_core(tmp_path):
    assert os.path.exists(SAMPLE), "build/bench/million_chunks is not built (make test builds it)"
    environment = dict(os.environ)
    environment.pop("LD_PRELOAD", None)
    process = subprocess.Popen([SAMPLE, str(CHUNKS), str(PADDING_MIB)], env=environment,
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    core = tmp_path / "heap.core"
    script = tmp_path / "refs.py"
    script.write_text("CORE = %r\n" % str(core) + SCRIPT)
    try:
        assert process.stdout.readline().split()[:1] == [b"ready"]
        gdb_env = dict(environment, PTMALLOC_GDB_WINDOW=str(1 << 20))
        live = _report(subprocess.run(
            [GDB, "-nx", "-q", "-batch", "-ex", "source " + LOADER, "-p", str(process.pid),
             "-ex", "source %s" % script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=TIMEOUT, env=gdb_env, check=False).stdout)
    finally:
        process.kill()
        process.wait()
    from_core = subprocess.run(
        [GDB, "-nx", "-q", "-batch", "-ex", "source " + LOADER, SAMPLE, str(core),
         "-ex", "heap refs %d --json" % live["target"]], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, timeout=TIMEOUT, check=False).stdout
    core_refs = json.loads(from_core[from_core.index("{"):])
    assert live["refs"]["refs"], live["refs"]  # its bin neighbours point to it
    assert live["refs"]["refs"] == core_refs["refs"]
    assert live["refs"]["chunk"] == core_refs["chunk"]
    # Most of the 256 one-MiB windows of padding were never written, and not read.
    assert live["skipped"] >= PADDING_MIB - 16, live
