"""How glibc 2.41's malloc differs from 2.36's, measured (`make compare-2.41`; docs/versions.md
keeps the numbers): the differential programs of tests/diff and tests/stats built against 2.41,
run under 2.41 plain and with the clone as 2.36 (build/libptmalloc.so) preloaded.  A report, not
a test: each line says how many runs were identical and shows the first difference of the first
run that was not.

Traces are replayed three ways, to tell the causes apart: with calloc and the aligned
allocations turned into mallocs of the same size, with calloc kept, and with the aligned calls
kept."""
import os
import pathlib
import subprocess
import sys

BUILD = pathlib.Path(os.environ.get("PTM_BUILD", "build")).resolve()
os.environ["PTM_GLIBC"] = "2.41"
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "diff"))
import difftools  # noqa: E402

difftools.CLONE = BUILD / "libptmalloc.so"  # the clone as 2.36 stands in for 2.41
difftools.CLONE_NAME = difftools.CLONE.name
PROGRAMS = BUILD / "diff-2.41"
SEEDS = range(1, 41)
ALIGNED_CALLS = ("A", "P", "a", "p", "v")


def as_mallocs(trace, keep):
    """The trace with calloc (unless "calloc" in keep) and the aligned calls (unless "aligned"
    in keep) made mallocs of the same size, on the same slots."""
    lines = []
    for line in trace.decode().splitlines():
        words = line.split()
        if words and words[0] == "c" and "calloc" not in keep:
            line = "m %s %d" % (words[1], int(words[2]) * int(words[3]))
        elif words and words[0] in ALIGNED_CALLS and "aligned" not in keep:
            line = "m %s %s" % (words[1], words[-1])
        lines.append(line)
    return ("\n".join(lines) + "\n").encode()


def report(title, failures, total):
    print("%-44s %3d of %3d identical" % (title, total - len(failures), total))
    if failures:
        print("    first difference: " + failures[0].replace("\n", "\n    "))


def compare_traces():
    traces = [difftools.generate_trace(seed, 2000, ["--no-mallopt"]) for seed in SEEDS]
    for keep, title in (((), "traces, no calloc, no aligned calls"),
                        (("calloc",), "traces with calloc"),
                        (("aligned",), "traces with aligned calls")):
        failures = [f for f in (difftools.replay_both(as_mallocs(t, keep)) for t in traces) if f]
        report(title, failures, len(traces))


def compare_corruptions():
    corrupt = str(PROGRAMS / "corrupt")
    names = subprocess.run([corrupt, "--list"], stdout=subprocess.PIPE, check=True).stdout.split()
    failures = []
    for name in names:
        plain = difftools.run([corrupt, name], preload=False, timeout=30)
        cloned = difftools.run([corrupt, name], preload=True, timeout=30)
        if (plain.returncode, plain.stderr) != (cloned.returncode, cloned.stderr):
            failures.append("%s: 2.41 %r, clone %r" % (name.decode(), plain.stderr[-300:],
                                                       cloned.stderr[-300:]))
    report("staged corruptions (messages)", failures, len(names))


def compare_stats():
    scenarios = str(PROGRAMS / "stats_scenarios")
    peer = str(PROGRAMS / "libtls_peer.so")
    names = subprocess.run([scenarios, "--list"], stdout=subprocess.PIPE, check=True).stdout.split()
    failures = []
    for name in names:
        plain, cloned = (subprocess.run([scenarios, name], capture_output=True, check=False,
                                        env={"LD_PRELOAD": library}, timeout=60)
                         for library in (peer, str(difftools.CLONE)))
        if (plain.stdout, plain.stderr) != (cloned.stdout, cloned.stderr):
            failures.append("%s: %s" % (name.decode(), difftools.first_difference(
                plain.stdout + plain.stderr, cloned.stdout + cloned.stderr, "2.41")))
    report("statistics scenarios (malloc_info, stats)", failures, len(names))


if __name__ == "__main__":
    compare_traces()
    compare_corruptions()
    compare_stats()
