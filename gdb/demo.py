#!/usr/bin/env python3
"""`make demo`: the heap inspector on a heap with every kind of bin and four threads.

Runs build/samples/known/every_bin-linked (the sample linked with the clone) under gdb to its
checkpoint, prints `heap`, `heap arenas`, `heap bins` and `heap chunks --summary`, writes a core
with gcore, then opens that core and prints the same four commands from it."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "build", "samples", "known", "every_bin-linked")
OUT = os.path.join(ROOT, "build", "demo")
COMMANDS = ["heap", "heap arenas", "heap bins", "heap chunks --summary"]


def gdb_run(arguments):
    """gdb loads the extension the way a user's would: the library's .debug_gdb_scripts entry
    names ptmalloc-gdb.py, found on the source path and allowed by the auto-load safe path."""
    style = "on" if sys.stdout.isatty() else "off"
    extension = os.path.join(ROOT, "gdb")
    argv = ["gdb", "-nx", "-q", "-batch", "-iex", "add-auto-load-safe-path " + extension,
            "-iex", "directory " + extension, "-ex", "set pagination off",
            "-ex", "set style enabled " + style] + arguments
    run = subprocess.run(argv, cwd=OUT, check=False, stderr=subprocess.PIPE, text=True)
    noise = [line for line in run.stderr.splitlines() if not _is_gcore_noise(line)]
    if noise:
        sys.stderr.write("\n".join(noise) + "\n")
    return run.returncode


# gcore's own remarks on a healthy process: the vsyscall page cannot be read (the kernel
# emulates it) and /proc/PID/cmdline holds the sample's arguments separated by NULs.
_GCORE_NOISE = ("Memory read failed for corefile section", "contained unexpected null characters")


def _is_gcore_noise(line):
    return line.startswith("warning: ") and any(text in line for text in _GCORE_NOISE)


def shown(commands):
    argv = []
    for command in commands:
        argv += ["-ex", "echo \\n(gdb) %s\\n" % command, "-ex", command]
    return argv


def main():
    if not os.path.exists(SAMPLE):
        print("demo: %s is missing; run `make build-all` first" % os.path.relpath(SAMPLE, ROOT))
        return 1
    os.makedirs(OUT, exist_ok=True)
    core = os.path.join(OUT, "every_bin.core")
    record = os.path.join(OUT, "every_bin.record")
    print("=== live: %s stopped at sample_checkpoint ===" % os.path.relpath(SAMPLE, ROOT))
    status = gdb_run(["-ex", "file " + SAMPLE, "-ex", "break sample_checkpoint",
                      "-ex", "run " + record] + shown(COMMANDS)
                     + ["-ex", "gcore " + core, "-ex", "kill"])
    if status or not os.path.exists(core):
        print("demo: the live run failed")
        return 1
    print("\n=== the same heap from the core %s ===" % os.path.relpath(core, ROOT))
    return gdb_run(["-ex", "file " + SAMPLE, "-ex", "core-file " + core] + shown(COMMANDS))


if __name__ == "__main__":
    sys.exit(main())
