#!/usr/bin/python3
"""The heap audit (`make audit`): every bug and attack sample, live and from a core, on both
allocators.

For each sample (a C program calling audit_point() before its fatal operation, with
NAME.expect.json beside it) and each allocator (the clone preloaded, and the system glibc read
through libc6-dbg):
  1. gdb runs it to audit_point() and records `heap check --json` (gdb_live.py), lets it carry
     on into its crash and takes a core there (or at audit_point() when it should not crash, or
     when NAME.expect.json says "core_at": "mark": the abort fires after the operation already
     took the damage out of the bins);
  2. a fresh `gdb -batch` loads the core and runs `heap check --json` again;
  3. both verdicts (ok, and which rules fired) must equal the expected one, every predicted
     abort must be the message the program really died with (read from its stderr), a program
     expected to abort must die of SIGABRT and one that should not must exit 0, and the core
     run's exit status must be non-zero exactly when there are findings.
Reports: build/audit/report.json and build/audit/junit.xml.  Exit status 1 on any mismatch.

Usage: run_audit.py [--allocator clone|glibc]... [--jobs N] [--mark FUNCTION]
                    [SAMPLE.c | PROGRAM | DIRECTORY ...]
A program given as an executable (your own, built by your CI) needs PROGRAM.expect.json beside
it, or --expect FILE when only one program is given.  A directory stands for every NAME.c in it
that has NAME.expect.json beside it, built with that directory on the include path.  --mark names
the function the program calls just before its fatal operation (audit_point by default; the
attack catalogue in samples/attacks/ uses attack_staged)."""

import argparse
import concurrent.futures
import glob
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

# Run on its own (make audit, a user's CI) as well as imported by the gdb suites: the shared test
# modules are found beside this folder either way.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import json_contract  # noqa: E402 - the --json contract every report must keep

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
LOADER = os.path.join(REPO, "gdb", "ptmalloc-gdb.py")
SAMPLES = os.path.join(REPO, "samples", "bugs")
GDB_TIMEOUT = 300
# No builtin malloc/free: the compiler must not fold or drop the very calls the audit judges.
SAMPLE_CFLAGS = ["-std=gnu11", "-O0", "-g3", "-gdwarf-5", "-fno-omit-frame-pointer", "-Wall",
                 "-Wextra", "-Werror", "-pthread", "-D_GNU_SOURCE", "-fno-builtin-malloc",
                 "-fno-builtin-free", "-fno-builtin-calloc", "-fno-builtin-realloc"]


class Sample:
    def __init__(self, name, binary, expect):
        self.name = name
        self.binary = binary
        self.expect = expect


def load_expect(path):
    with open(path, encoding="utf-8") as handle:
        expect = json.load(handle)
    expect.setdefault("check_args", "")
    expect["rules"] = sorted(set(expect.get("rules", [])))
    expect.setdefault("abort", None)
    # "crash" (default): the core is the one the program dies with.  "mark": taken at the marked
    # function instead, for an abort that fires halfway through an operation that has already
    # unlinked the damage (the heap in such a core no longer shows what the live audit saw).
    expect.setdefault("core_at", "crash")
    return expect


def build_sample(source, out_dir, cc):
    """Builds a sample next to the others of its directory; the headers beside it are its
    dependencies (audit_point.h, attack.h)."""
    name = os.path.basename(source)[:-2]
    source_dir = os.path.dirname(os.path.abspath(source))
    binary = os.path.join(out_dir, name)
    inputs = [source] + glob.glob(os.path.join(source_dir, "*.h"))
    if not os.path.exists(binary) or os.path.getmtime(binary) < max(
            os.path.getmtime(path) for path in inputs):
        subprocess.run([cc] + SAMPLE_CFLAGS + ["-I", source_dir, source, "-o", binary],
                       check=True)
    return binary


def expand_directories(paths):
    expanded = []
    for path in paths:
        if os.path.isdir(path):
            expanded += [source for source in sorted(glob.glob(os.path.join(path, "*.c")))
                         if os.path.exists(source[:-2] + ".expect.json")]
        else:
            expanded.append(path)
    return expanded


def collect_samples(paths, expect_override, out_dir, cc):
    paths = expand_directories(paths or [SAMPLES])
    samples = []
    for path in paths:
        if path.endswith(".c"):
            binary = build_sample(path, out_dir, cc)
            expect_path = path[:-2] + ".expect.json"
        else:
            binary = os.path.abspath(path)
            expect_path = path + ".expect.json"
        if expect_override and len(paths) == 1:
            expect_path = expect_override
        name = os.path.basename(path)
        name = name[:-2] if name.endswith(".c") else name
        samples.append(Sample(name, binary, load_expect(expect_path)))
    return samples


def gdb_base(preload):
    argv = ["gdb", "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "set width 0",
            "-ex", "set confirm off", "-ex", "set style enabled off", "-ex", "source " + LOADER]
    if preload:
        argv += ["-ex", "set environment LD_PRELOAD " + preload]
    return argv


def parse_report(text):
    """The JSON object `heap check --json` printed, or None."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith('{"ok"'):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def _between_markers(text):
    begin = text.find("@@CHECK-BEGIN")
    end = text.find("@@CHECK-END")
    return text[begin:end] if 0 <= begin < end else ""


def verdict_of(report):
    if report is None:
        return None
    return sorted({finding["rule"] for finding in report["findings"]})


def abort_message(stderr_path):
    try:
        with open(stderr_path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return None
    return lines[-1] if lines else None


def audit_one(sample, allocator, library, work_dir, mark):
    """Run one sample on one allocator; a dict with everything seen and the list of mismatches."""
    stem = os.path.join(work_dir, "%s.%s" % (sample.name, allocator))
    paths = {"AUDIT_RESULT": stem + ".live.json", "AUDIT_STDERR": stem + ".stderr",
             "AUDIT_CORE": stem + ".core"}
    for path in paths.values():
        if os.path.exists(path):
            os.remove(path)
    environment = dict(os.environ, AUDIT_CHECK_ARGS=sample.expect["check_args"],
                       AUDIT_MARK=mark,
                       AUDIT_CORE_AT_POINT="1" if not sample.expect["abort"] or
                       sample.expect["core_at"] == "mark" else "0", **paths)
    preload = library if allocator == "clone" else None
    started = time.monotonic()
    live_argv = gdb_base(preload) + ["-ex", "file " + sample.binary, "-x",
                                     os.path.join(HERE, "gdb_live.py")]
    problems = []
    live_output = ""
    result = {"sample": sample.name, "allocator": allocator, "expected": sample.expect}
    try:
        live_run = subprocess.run(live_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace", timeout=GDB_TIMEOUT, env=environment)
        result["live_gdb_output"] = live_run.stdout[-4000:]
        live_output = live_run.stdout
    except subprocess.TimeoutExpired:
        problems.append("live gdb run timed out")
    live = {}
    try:
        with open(paths["AUDIT_RESULT"], encoding="utf-8") as handle:
            live = json.load(handle)
    except (OSError, ValueError):
        problems.append("the live gdb run left no result")
    if live.get("driver_error"):
        problems.append("live gdb run failed: " + live["driver_error"])
    if live and not live.get("stopped_at_audit_point"):
        problems.append("the program never reached %s()" % mark)
    live_report = parse_report(_between_markers(live_output))
    result["live"] = live_report
    result["live_check_error"] = live.get("check_error")
    message = abort_message(paths["AUDIT_STDERR"])
    result["abort"] = message if live.get("signal") == signal.SIGABRT else None
    result["signal"] = live.get("signal")
    result["exit_code"] = live.get("exit_code")

    core_report = None
    core_status = None
    if live.get("core") and os.path.exists(paths["AUDIT_CORE"]):
        core_argv = gdb_base(None) + ["-ex", "file " + sample.binary, "-ex",
                                      "core-file " + paths["AUDIT_CORE"], "-ex",
                                      ("heap check --json " + sample.expect["check_args"]).strip()]
        try:
            core_run = subprocess.run(core_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, errors="replace", timeout=GDB_TIMEOUT)
            core_report = parse_report(core_run.stdout)
            core_status = core_run.returncode
            result["core_gdb_output"] = core_run.stdout[-4000:]
        except subprocess.TimeoutExpired:
            problems.append("core gdb run timed out")
        os.remove(paths["AUDIT_CORE"])
    else:
        problems.append("no core was taken")
    result["core"] = core_report
    result["core_exit_status"] = core_status

    expected_rules = sample.expect["rules"]
    for phase, report in (("live", live_report), ("core", core_report)):
        if report is None:
            problems.append("%s: heap check printed no JSON report" % phase)
            continue
        problems += ["%s: %s" % (phase, broken) for broken in
                     json_contract.problems("heap check --json", report)]
        rules = verdict_of(report)
        if rules != expected_rules or report["ok"] != (not expected_rules):
            problems.append("%s: verdict %s, expected %s" % (
                phase, rules or "ok", expected_rules or "ok"))
        actual = result["abort"]
        predictions = [f["predicted_abort"] for f in report["findings"] if f["predicted_abort"]]
        for predicted in predictions:
            if predicted != actual:
                problems.append("%s: predicted abort %r, the program died with %r" % (
                    phase, predicted, actual))
        if actual is not None and expected_rules and actual not in predictions:
            problems.append("%s: no finding predicted the real abort %r" % (phase, actual))
    if core_report is not None and (core_status != 0) != (not core_report["ok"]):
        problems.append("core: gdb -batch exit status %s does not match ok=%s" % (
            core_status, core_report["ok"]))
    if sample.expect["abort"] is not None:
        if live.get("signal") != signal.SIGABRT:
            problems.append("expected the program to abort, it did not (signal %s, exit %s)" % (
                live.get("signal"), live.get("exit_code")))
        elif result["abort"] != sample.expect["abort"]:
            problems.append("abort message %r, expected %r" % (result["abort"],
                                                             sample.expect["abort"]))
    elif live and (live.get("signal") is not None or live.get("exit_code") != 0):
        problems.append("expected a normal exit, got signal %s exit %s" % (
            live.get("signal"), live.get("exit_code")))
    result["problems"] = problems
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def write_junit(results, path):
    failures = sum(1 for result in results if result["problems"])
    suite = ElementTree.Element("testsuite", name="heap-audit", tests=str(len(results)),
                                failures=str(failures), errors="0",
                                time=str(sum(result["seconds"] for result in results)))
    for result in results:
        case = ElementTree.SubElement(suite, "testcase", classname="audit.%s" % result["allocator"],
                                      name=result["sample"], time=str(result["seconds"]))
        if result["problems"]:
            failure = ElementTree.SubElement(case, "failure",
                                             message="; ".join(result["problems"])[:500])
            failure.text = "\n".join(result["problems"])
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("programs", nargs="*",
                        help="sample sources (.c), built programs or sample directories")
    parser.add_argument("--mark", default="audit_point",
                        help="the function called just before the fatal operation")
    parser.add_argument("--allocator", action="append", choices=("clone", "glibc"))
    parser.add_argument("--library", default=os.path.join(REPO, "build", "libptmalloc.so"))
    parser.add_argument("--report-dir", default=os.path.join(REPO, "build", "audit"))
    parser.add_argument("--expect", help="expected verdict file (one program only)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    args = parser.parse_args()
    allocators = args.allocator or ["clone", "glibc"]
    if "clone" in allocators and not os.path.exists(args.library):
        print("audit: %s is missing (make build/libptmalloc.so)" % args.library)
        return 2
    work_dir = os.path.join(args.report_dir, "work")
    binary_dir = os.path.join(args.report_dir, "bin")
    os.makedirs(work_dir, exist_ok=True)
    os.makedirs(binary_dir, exist_ok=True)
    samples = collect_samples(args.programs, args.expect, binary_dir, args.cc)
    library = os.path.abspath(args.library)
    jobs = [(sample, allocator) for sample in samples for allocator in allocators]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda job: audit_one(job[0], job[1], library, work_dir,
                                                         args.mark), jobs))
    for result in results:
        status = "ok  " if not result["problems"] else "FAIL"
        verdict = verdict_of(result["live"]) if result["live"] else None
        print("%s %-26s %-6s verdict %-22s abort %s (%.1fs)" % (
            status, result["sample"], result["allocator"],
            ",".join(verdict) if verdict else ("ok" if verdict == [] else "?"),
            result["abort"] or "-", result["seconds"]))
        for problem in result["problems"]:
            print("       " + problem)
    with open(os.path.join(args.report_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
    write_junit(results, os.path.join(args.report_dir, "junit.xml"))
    failed = sum(1 for result in results if result["problems"])
    print("audit: %d runs, %d passed, %d failed (reports in %s)" % (
        len(results), len(results) - failed, failed, os.path.relpath(args.report_dir)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
