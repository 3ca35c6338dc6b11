"""The prediction oracle: generated situations (predict_situations.c, clean heaps in every state
and damaged ones), each stopped before one free, malloc or realloc; the extension predicts the call
live and from a gcore of the same stop (predict_driver.py, one gdb for many cases, restarted past a
case that kills or hangs it); the program then makes the call for real in a forked copy and records
what happened; predict_truth.py compares.  Prints the exact-match rate per operation and state kind
and every miss with what reproduces it.

    python3 tests/predict/predict_harness.py --cases 2000 --seed 1 [--allocator clone|glibc|linked]
"""
import argparse
import collections
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import threading

import predict_truth

# The batch runner shared with the other oracle lives one folder up.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import gdb_batches  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
BUILD = pathlib.Path(os.environ.get("PTM_BUILD", REPO_ROOT / "build"))
PROGRAM = BUILD / "tests" / "predict" / "predict_situations"
LINKED_PROGRAM = BUILD / "tests" / "predict" / "predict_situations-linked"
CLONE = BUILD / "libptmalloc.so"
# The extension under test (PREDICT_LOADER: another tree's, to measure its engine).
LOADER = pathlib.Path(os.environ.get("PREDICT_LOADER", REPO_ROOT / "gdb" / "ptmalloc-gdb.py"))
DRIVER = HERE / "predict_driver.py"
GDB = os.environ.get("GDB", "gdb")
TARGET_RATE = 0.995
# Seconds a case may take in gdb before the host gives up on it.
CASE_SECONDS = 60
# The share of cases acted by a thread of its own (a thread arena), and predicted from a core too.
THREAD_SHARE, CORE_SHARE = 0.3, 0.25



def _other_glibc(release):
    """The program built against Debian's glibc `release` (mk/predict.mk), and what gdb needs to
    read that glibc: its debug info, and leave to load its libthread_db."""
    root = BUILD / "glibc" / release / "root"
    return (pathlib.Path("%s-%s" % (PROGRAM, release)),
            ["-iex", "set debug-file-directory %s/usr/lib/debug" % root,
             "-iex", "add-auto-load-safe-path %s" % root], ".debug")


def _clone_as(release):
    """That program with the clone built as `release` preloaded (build/libptmalloc-RELEASE.so)."""
    program, settings, _objfile = _other_glibc(release)
    return (program, settings + ["-ex", "set environment LD_PRELOAD %s" % (
        BUILD / ("libptmalloc-%s.so" % release))], "libptmalloc-%s" % release)


# Each allocator: the program, gdb's settings, the objfile holding its thread_arena and tcache.
ALLOCATORS = {
    "clone": (PROGRAM, ["-ex", "set environment LD_PRELOAD %s" % CLONE], "libptmalloc"),
    "glibc": (PROGRAM, [], ".debug"),
    "linked": (LINKED_PROGRAM, [], "predict_situations-linked"),
    "glibc-2.31": _other_glibc("2.31"),
    "clone-2.31": _clone_as("2.31"),
    "glibc-2.41": _other_glibc("2.41"),
    "clone-2.41": _clone_as("2.41"),
}
# Releases without an engine of their own would be answered by an older release's engine
# ("approximate") and their rate reported apart from the target: every release here has one.
APPROXIMATE = set()


def kinds():
    """{kind: "clean"|"damaged"}, as the program lists them."""
    listing = subprocess.run([str(PROGRAM), "--list"], stdout=subprocess.PIPE, check=True, text=True)
    return {line.split()[1]: line.split()[0] for line in listing.stdout.splitlines()}


def make_cases(seed, count, directory, only=None):
    """`count` cases, the kinds in turn, each with its own program seed, actor and modes."""
    chooser = random.Random(seed)
    names = sorted(only or kinds())
    cases = []
    for number in range(count):
        modes = ["live", "core"] if chooser.random() < CORE_SHARE else ["live"]
        cases.append({"id": number, "kind": names[number % len(names)],
                      "seed": chooser.randrange(1, 1 << 30),
                      "actor": "thread" if chooser.random() < THREAD_SHARE else "main",
                      "modes": modes, "prefix": str(pathlib.Path(directory) / ("case-%d" % number))})
    return cases


def gdb_command(allocator):
    program, settings, _objfile = ALLOCATORS[allocator]
    return ([GDB, "-nx", "-q", "-batch"] + settings +
            ["-ex", "set environment LIBC_FATAL_STDERR_ 1", "-ex", "set startup-with-shell off",
             "-ex", "set pagination off",
             "-ex", "set confirm off", "-ex", "set width 0", "-ex", "set style enabled off",
             "-ex", "source %s" % LOADER, "-ex", "break predict_stop",
             "-ex", "source %s" % DRIVER, str(program)])


def run_in_gdb(cases, allocator, directory):
    """({case id: answer}, {case id: why gdb gave no answer}); gdb starts again past a lost case."""
    answers = {}

    def take_answer(line):
        answers[line["case"]] = line
        return True

    def environment_for(cases_file, out_file):
        return dict(os.environ, PREDICT_CASES=str(cases_file), PREDICT_OUT=str(out_file),
                    PREDICT_OBJFILE=ALLOCATORS[allocator][2])

    lost = gdb_batches.run_cases(gdb_command(allocator), environment_for, cases, directory,
                                 take_answer, CASE_SECONDS)
    return answers, lost


def evaluate(cases, allocator, directory):
    """[(case, mode, op, verdict, why)]: verdict "match", "miss" or "skip" (not staged)."""
    answers, lost = run_in_gdb(cases, allocator, directory)
    rows = []
    for case in cases:
        answer = answers.get(case["id"])
        if answer is None:
            rows += [(case, mode, "?", "miss", lost.get(case["id"], "no answer")) for mode in case["modes"]]
            continue
        if answer.get("staged") is False:
            rows += [(case, mode, "-", "skip", "not staged") for mode in case["modes"]]
            continue
        call = answer["call"]
        truth = predict_truth.read_truth(case["prefix"])
        for mode in case["modes"]:
            if truth is None:
                rows.append((case, mode, call["op"], "miss", "the program left no truth"))
                continue
            prediction, why = predict_truth.read_prediction(answer.get(mode) or {})
            if prediction is None:
                rows.append((case, mode, call["op"], "miss", why))
                continue
            verdict, why = predict_truth.judge(call, truth, prediction)
            if verdict == "match" and prediction.get("approximate") and allocator not in APPROXIMATE:
                verdict, why = "miss", "right, but answered by another release's engine (approximate)"
            rows.append((case, mode, call["op"], verdict, why))
    return rows


def table(rows, kind_classes):
    """The per operation × state kind table, and the totals."""
    counts = collections.defaultdict(lambda: [0, 0])
    for case, _mode, op, verdict, _why in rows:
        if verdict == "skip":
            continue
        for key in ((op, case["kind"]), (op, "all " + kind_classes.get(case["kind"], "?")),
                    ("all", "all")):
            counts[key][0] += verdict == "match"
            counts[key][1] += 1
    lines = ["%-8s %-22s %6s %6s %8s" % ("op", "state kind", "match", "cases", "rate")]
    for (op, kind), (matched, total) in sorted(counts.items(), key=lambda item: (
            item[0][0] == "all", item[0][1].startswith("all"), str(item[0]))):
        lines.append("%-8s %-22s %6d %6d %7.2f%%" % (op, kind, matched, total, 100.0 * matched / total))
    return "\n".join(lines)


def rate(rows):
    judged = [row for row in rows if row[3] != "skip"]
    return sum(row[3] == "match" for row in judged) / len(judged) if judged else 0.0


def run_allocators(allocators, cases_for, workers=2):
    """{allocator: rows}, the allocators' gdbs run side by side (`workers` at a time)."""
    results, gate = {}, threading.Semaphore(workers)

    def one(allocator):
        with gate, tempfile.TemporaryDirectory(prefix="heap-predict-") as directory:
            results[allocator] = evaluate(cases_for(directory), allocator, directory)

    threads = [threading.Thread(target=one, args=(name,)) for name in allocators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def report(results, kind_classes):
    """The text of the report: a table per allocator, then every miss; and the overall rate of
    the allocators whose release has an engine of its own."""
    lines, every = [], []
    for allocator, rows in results.items():
        apart = allocator in APPROXIMATE
        lines.append("== %s: %d cases, %.2f%% exact%s" % (
            allocator, len(rows), 100 * rate(rows),
            " (approximate: an older release's engine; apart from the target)" if apart else ""))
        lines.append(table(rows, kind_classes))
        if not apart:
            every += rows
    for allocator, rows in results.items():
        for case, mode, op, verdict, why in rows:
            if verdict == "miss":
                lines.append("MISS %s %s %s case %d: %s seed %d %s: %s" % (
                    allocator, mode, op, case["id"], case["kind"], case["seed"], case["actor"], why))
    return "\n".join(lines), rate(every)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--allocator", choices=list(ALLOCATORS), action="append")
    parser.add_argument("--kind", action="append")
    parser.add_argument("--jobs", type=int, default=2)
    arguments = parser.parse_args()
    kind_classes = kinds()
    results = run_allocators(arguments.allocator or ["clone", "glibc"],
                             lambda directory: make_cases(arguments.seed, arguments.cases, directory,
                                                          arguments.kind), arguments.jobs)
    text, overall = report(results, kind_classes)
    print(text)
    print("predict oracle: %.2f%% exact (target %.1f%%)" % (100 * overall, 100 * TARGET_RATE))
    return 0 if overall >= TARGET_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
