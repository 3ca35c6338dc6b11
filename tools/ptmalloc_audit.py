#!/usr/bin/python3
"""ptmalloc-audit: run a program under gdb on the ptmalloc clone (or glibc) and audit its heap.

  ptmalloc-audit [options] [--] PROGRAM [ARGS...]
  ptmalloc-audit [options] --sample PATH...     (sample sources or folders, as `make audit`)

For each program and allocator (the clone, preloaded, by default; the system glibc with --glibc,
read through libc6-dbg):
  1. gdb runs it to the function --stop-at names (without one: to its end, the exit_group call,
     or the signal that kills it) and records `heap check --json` there; a stopped-at program
     then carries on into what follows, and gdb takes a core where it dies (or where it stopped
     when it is expected to live);
  2. a fresh `gdb -batch` loads the core and runs `heap check --json` again;
  3. both verdicts must equal the expected one (default: a clean heap, and with --leaks no leaks;
     --expect FILE or PROGRAM.expect.json says otherwise), every predicted abort must be the
     message the program died with, a program expected to abort must die of SIGABRT and any
     other must exit 0.
Reports in --report-dir (default ./ptmalloc-audit-report): report.json, junit.xml, and each run's
program output and gdb transcript in work/.

Exit status: 0 every run as expected; 1 a run was not (a finding, a crash, a wrong exit status,
a timeout); 2 the audit could not run (a bad argument, a missing file, a build error, no gdb)."""

import argparse
import concurrent.futures
import glob
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

# `make install` writes the installed folders here; from a checkout they are found beside tools/.
SHAREDIR = None
LIBRARY = None
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GDB_FOLDER = os.path.join(SHAREDIR, "gdb") if SHAREDIR else os.path.join(REPO, "gdb")
LOADER = os.path.join(GDB_FOLDER, "ptmalloc-gdb.py")
DRIVER = os.path.join(GDB_FOLDER, "audit_live.py")
DEFAULT_LIBRARY = LIBRARY or os.path.join(REPO, "build", "libptmalloc.so")
DEFAULT_TIMEOUT = 300
# No builtin malloc/free: the compiler must not fold or drop the very calls the audit judges.
SAMPLE_CFLAGS = ["-std=gnu11", "-O0", "-g3", "-gdwarf-5", "-fno-omit-frame-pointer", "-Wall",
                 "-Wextra", "-Werror", "-pthread", "-D_GNU_SOURCE", "-fno-builtin-malloc",
                 "-fno-builtin-free", "-fno-builtin-calloc", "-fno-builtin-realloc"]


class AuditError(Exception):
    """The audit cannot run: one line for the user, exit status 2."""


class Sample:
    def __init__(self, name, binary, expect, arguments=()):
        self.name = name
        self.binary = binary
        self.expect = expect
        self.arguments = list(arguments)


def default_expect(leaks):
    return {"rules": [], "abort": None, "check_args": "--leaks" if leaks else "",
            "core_at": "crash", "abort_predicted": True, "continue_after_mark": True}


def load_expect(path, leaks=False, release=None):
    try:
        with open(path, encoding="utf-8") as handle:
            expect = json.load(handle)
    except OSError as error:
        raise AuditError("cannot read the expectation file %s: %s" % (path, error.strerror))
    except ValueError as error:
        raise AuditError("%s is not JSON: %s" % (path, error))
    if not isinstance(expect, dict):
        raise AuditError("%s: the expectation must be a JSON object" % path)
    # A glibc release that behaves otherwise (a check it lacks or adds) has its own verdict.
    releases = expect.pop("releases", {})
    if not isinstance(releases, dict) or not all(isinstance(v, dict) for v in releases.values()):
        raise AuditError('%s: "releases" must map a release to an object' % path)
    if release in releases:
        expect.update(releases[release])
    expect.setdefault("check_args", "--leaks" if leaks else "")
    expect["rules"] = sorted(set(expect.get("rules", [])))
    expect.setdefault("abort", None)
    # "crash" (default): the core is the one the program dies with.  "mark": taken at the marked
    # function instead, for an abort that fires halfway through an operation that has already
    # unlinked the damage (the heap in such a core no longer shows what the live audit saw).
    expect.setdefault("core_at", "crash")
    # False when the real abort comes from a later call than the damaged chunk's next touch,
    # which is all `heap check` predicts (glibc 2.31 has no alignment check in malloc: the
    # misaligned chunk it hands out is refused only when it is freed).
    expect.setdefault("abort_predicted", True)
    # False when the program never ends past the mark (glibc 2.31's free walks a looping tcache
    # bin for ever): the audit then takes the core at the mark and kills the program there.
    expect.setdefault("continue_after_mark", True)
    if not expect["continue_after_mark"] and (expect["abort"] is not None or
                                              expect["core_at"] != "mark"):
        raise AuditError('%s: a program stopped at the mark has no abort and its core is taken '
                         'there ("core_at": "mark")' % path)
    return expect


def build_sample(source, out_dir, cc, werror=True, extra_flags=()):
    """Builds a sample next to the others of its directory; the headers beside it are its
    dependencies (audit_point.h, attack.h).  A program's own .c is built without -Werror: a
    warning in user code is not the audit's business."""
    flags = SAMPLE_CFLAGS if werror else [flag for flag in SAMPLE_CFLAGS if flag != "-Werror"]
    name = os.path.basename(source)[:-2]
    source_dir = os.path.dirname(os.path.abspath(source))
    binary = os.path.join(out_dir, name)
    inputs = [source] + glob.glob(os.path.join(source_dir, "*.h"))
    if not os.path.exists(binary) or os.path.getmtime(binary) < max(
            os.path.getmtime(path) for path in inputs):
        try:
            built = subprocess.run([cc] + flags + ["-I", source_dir, source, "-o", binary] +
                                   list(extra_flags),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   errors="replace")
        except OSError as error:
            raise AuditError("cannot run the compiler %r: %s" % (cc, error.strerror))
        if built.returncode != 0:
            raise AuditError("cannot build %s (%s %s):\n%s" % (
                source, cc, " ".join(flags + list(extra_flags)), built.stdout.rstrip()))
    return binary


def expand_directories(paths):
    expanded = []
    for path in paths:
        if os.path.isdir(path):
            found = [source for source in sorted(glob.glob(os.path.join(path, "*.c")))
                     if os.path.exists(source[:-2] + ".expect.json")]
            if not found:
                raise AuditError("%s holds no NAME.c with NAME.expect.json beside it" % path)
            expanded += found
        else:
            expanded.append(path)
    return expanded


def collect_samples(paths, out_dir, args):
    samples = []
    for path in expand_directories(paths):
        if not os.path.exists(path):
            raise AuditError("no such sample: %s" % path)
        if path.endswith(".c"):
            binary = build_sample(path, out_dir, args.cc, extra_flags=args.cflags)
            name = os.path.basename(path)[:-2]
            expect_path = path[:-2] + ".expect.json"
        else:
            binary = os.path.abspath(path)
            name = os.path.basename(path)
            expect_path = path + ".expect.json"
        expect = (load_expect(expect_path, args.leaks, args.release)
                  if os.path.exists(expect_path) else default_expect(args.leaks))
        samples.append(Sample(name, binary, expect))
    return samples


def program_sample(command, args, out_dir):
    program = command[0]
    if program.endswith(".c") and os.path.isfile(program):
        binary = build_sample(program, out_dir, args.cc, werror=False, extra_flags=args.cflags)
        name = os.path.basename(program)[:-2]
    else:
        binary = program if os.sep in program else shutil.which(program)
        if binary is None or not os.path.isfile(binary):
            raise AuditError("no such program: %s" % program)
        if not os.access(binary, os.X_OK):
            raise AuditError("not executable: %s" % program)
        binary = os.path.abspath(binary)
        name = os.path.basename(binary)
    expect_path = args.expect or (binary + ".expect.json")
    if args.expect or os.path.exists(expect_path):
        expect = load_expect(expect_path, args.leaks, args.release)
    else:
        expect = default_expect(args.leaks)
    if args.check_args is not None:
        expect["check_args"] = args.check_args
    return Sample(args.name or name, binary, expect, command[1:])


def gdb_base(gdb, init_commands=()):
    return [gdb, "-nx", "-q", "-batch"] + [word for command in init_commands
                                           for word in ("-iex", command)] + [
            "-ex", "set pagination off", "-ex", "set width 0",
            "-ex", "set confirm off", "-ex", "set style enabled off", "-ex", "source " + LOADER]


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


def _kill_session(session):
    """gdb and the program it runs (both in the session the run was started in)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="utf-8", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 3 and int(fields[3]) == session:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def run_gdb(argv, timeout, environment=None):
    """(output, exit status); status None when the run was killed at the timeout."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, errors="replace",
                               env=environment, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        return output, process.returncode
    except subprocess.TimeoutExpired:
        _kill_session(process.pid)
        output, _ = process.communicate()
        return output, None


def describe_findings(report, limit=20):
    """One line per finding: rule, chunk, message and the abort predicted."""
    lines = []
    for finding in report["findings"][:limit]:
        line = "[%s] chunk %#x: %s" % (finding["rule"], finding["address"], finding["message"])
        if finding.get("predicted_abort"):
            line += " (next touch aborts: %s)" % finding["predicted_abort"]
        lines.append(line)
    if len(report["findings"]) > limit:
        lines.append("... %d more findings" % (len(report["findings"]) - limit))
    return lines


def audit_one(sample, allocator, options, work_dir):
    """Run one program on one allocator; a dict with everything seen and the list of problems."""
    stem = os.path.join(work_dir, "%s.%s" % (sample.name, allocator))
    paths = {"AUDIT_RESULT": stem + ".live.json", "AUDIT_STDERR": stem + ".stderr",
             "AUDIT_STDOUT": stem + ".stdout", "AUDIT_CORE": stem + ".core"}
    for path in paths.values():
        if os.path.exists(path):
            os.remove(path)
    mark = options.stop_at
    environment = dict(os.environ, **options.environment)
    environment.update(paths, AUDIT_CHECK_ARGS=sample.expect["check_args"],
                       AUDIT_MARK=mark or "", AUDIT_PROGRAM=sample.binary,
                       AUDIT_ARGS=json.dumps(sample.arguments),
                       AUDIT_STDIN=options.stdin or "",
                       AUDIT_PRELOAD=options.library if allocator == "clone" else "",
                       AUDIT_CORE_AT_POINT="1" if not sample.expect["abort"] or
                       sample.expect["core_at"] == "mark" else "0",
                       AUDIT_KILL_AT_POINT="0" if sample.expect["continue_after_mark"] else "1")
    started = time.monotonic()
    problems = []
    result = {"sample": sample.name, "program": sample.binary, "arguments": sample.arguments,
              "allocator": allocator, "expected": sample.expect, "findings": []}
    live_output, status = run_gdb(gdb_base(options.gdb, options.gdb_init) + ["-x", DRIVER], options.timeout,
                                  environment)
    with open(stem + ".live.gdb.txt", "w", encoding="utf-8") as handle:
        handle.write(live_output)
    result["live_gdb_output"] = live_output[-4000:]
    if status is None:
        problems.append("timed out after %gs: the program did not reach %s (hung?); killed" % (
            options.timeout, "%s()" % mark if mark else "its end"))
    live = {}
    try:
        with open(paths["AUDIT_RESULT"], encoding="utf-8") as handle:
            live = json.load(handle)
    except (OSError, ValueError):
        if status is not None:
            problems.append("the live gdb run left no result: %s" % (
                live_output.strip().splitlines() or ["(no output)"])[-1])
    if live.get("driver_error"):
        problems.append("live gdb run failed: " + live["driver_error"])
    if live and not live.get("driver_error") and not live.get("stopped_at_audit_point"):
        problems.append("the program never reached %s" % ("%s()" % mark if mark else "its end"))
    live_report = parse_report(_between_markers(live_output))
    result["live"] = live_report
    result["stopped_at"] = live.get("stopped_at")
    result["live_check_error"] = live.get("check_error")
    message = abort_message(paths["AUDIT_STDERR"])
    result["abort"] = message if live.get("signal") == signal.SIGABRT else None
    result["signal"] = live.get("signal")
    result["exit_code"] = live.get("exit_code")

    core_report = None
    core_status = None
    if live.get("core") and os.path.exists(paths["AUDIT_CORE"]):
        core_argv = gdb_base(options.gdb, options.gdb_init) + [
            "-ex", "file " + _gdb_quoted(sample.binary), "-ex", "core-file " + paths["AUDIT_CORE"],
            "-ex", ("heap check --json " + sample.expect["check_args"]).strip()]
        core_output, core_status = run_gdb(core_argv, options.timeout)
        with open(stem + ".core.gdb.txt", "w", encoding="utf-8") as handle:
            handle.write(core_output)
        if core_status is None:
            problems.append("core gdb run timed out after %gs" % options.timeout)
        core_report = parse_report(core_output)
        result["core_gdb_output"] = core_output[-4000:]
        if not options.keep_cores:
            os.remove(paths["AUDIT_CORE"])
    elif status is not None and live and not live.get("driver_error"):
        problems.append("no core was taken")
    result["core"] = core_report
    result["core_exit_status"] = core_status
    problems += judge(sample.expect, result, live, live_report, core_report, core_status)
    result["problems"] = problems
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def _gdb_quoted(path):
    return '"%s"' % path.replace("\\", "\\\\").replace('"', '\\"')


def judge(expect, result, live, live_report, core_report, core_status):
    problems = []
    expected_rules = expect["rules"]
    seen = set()
    for phase, report in (("live", live_report), ("core", core_report)):
        if report is None:
            if live and live.get("stopped_at_audit_point") and (phase == "live" or
                                                                live.get("core")):
                problems.append("%s: heap check printed no JSON report" % phase)
            continue
        rules = verdict_of(report)
        if rules != expected_rules or report["ok"] != (not expected_rules):
            problems.append("%s: verdict %s, expected %s" % (
                phase, ", ".join(rules) or "ok", ", ".join(expected_rules) or "ok"))
            for line in describe_findings(report):
                if line not in seen:
                    seen.add(line)
                    result["findings"].append(line)
                    problems.append("  " + line)
            if report.get("complete") is False:
                problems.append("  %d part(s) of the heap could not be checked" % len(
                    report.get("unchecked", [])))
        actual = result["abort"]
        predictions = [f["predicted_abort"] for f in report["findings"] if f["predicted_abort"]]
        if expect["abort"] is not None:
            for predicted in predictions:
                if predicted != actual:
                    problems.append("%s: predicted abort %r, the program died with %r" % (
                        phase, predicted, actual))
            if actual is not None and expected_rules and expect["abort_predicted"] and \
                    actual not in predictions:
                problems.append("%s: no finding predicted the real abort %r" % (phase, actual))
    if core_report is not None and core_status is not None and \
            (core_status != 0) != (not core_report["ok"]):
        problems.append("core: gdb -batch exit status %s does not match ok=%s" % (
            core_status, core_report["ok"]))
    if not expect["continue_after_mark"]:
        if live and live.get("stopped_at") != "mark":
            problems.append("the program was to be stopped at the mark, it stopped at %s" %
                            live.get("stopped_at"))
    elif expect["abort"] is not None:
        if live.get("signal") != signal.SIGABRT:
            problems.append("expected the program to abort, it did not (signal %s, exit %s)" % (
                live.get("signal"), live.get("exit_code")))
        elif result["abort"] != expect["abort"]:
            problems.append("abort message %r, expected %r" % (result["abort"], expect["abort"]))
    elif live and live.get("signal") is not None:
        try:
            name = signal.Signals(live["signal"]).name
        except ValueError:
            name = "signal %s" % live["signal"]
        problems.append("the program died of %s%s" % (
            name, ": %s" % result["abort"] if result["abort"] else ""))
    elif live and not live.get("driver_error") and live.get("exit_code") not in (0, None):
        problems.append("the program exited with status %s" % live.get("exit_code"))
    return problems


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
                                             message="; ".join(result["problems"])[:1000])
            failure.text = "\n".join(result["problems"])
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise AuditError("%s (see ptmalloc-audit --help)" % message)


def parse_arguments(argv):
    parser = _Parser(prog="ptmalloc-audit", description=__doc__.split("\n\n")[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="the program (an executable, or a .c file to build) and its arguments")
    parser.add_argument("--sample", action="append", default=[], metavar="PATH",
                        help="a sample (.c, built) or a folder of NAME.c with NAME.expect.json")
    parser.add_argument("--glibc", action="store_true",
                        help="run on the system glibc instead of the clone")
    parser.add_argument("--allocator", action="append", choices=("clone", "glibc"),
                        help="clone (default) or glibc; repeat for both")
    parser.add_argument("--stop-at", "--mark", dest="stop_at", metavar="FUNCTION",
                        help="audit where the program calls FUNCTION (default: at its end)")
    parser.add_argument("--leaks", action="store_true",
                        help="also report leaked chunks (heap check --leaks)")
    parser.add_argument("--check-args", metavar="ARGS", help="arguments for heap check")
    parser.add_argument("--expect", metavar="FILE",
                        help="expected verdict (JSON: rules, abort, check_args, core_at)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set an environment variable for the program")
    parser.add_argument("--stdin", metavar="FILE", help="the program's standard input")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help="per gdb run (default %d)" % DEFAULT_TIMEOUT)
    parser.add_argument("--name", help="the test case's name in the reports")
    parser.add_argument("--cflags", default="", metavar="FLAGS",
                        help="more compiler and linker options for the programs built from .c "
                             "(e.g. to build against another glibc)")
    parser.add_argument("--gdb-init", action="append", default=[], metavar="COMMAND",
                        help="a gdb command run before the program is loaded (e.g. set "
                             "debug-file-directory DIR); repeat for more")
    parser.add_argument("--release", metavar="X.Y",
                        help="the glibc release the program runs on: an expectation's "
                             '"releases" entry for it replaces its verdict')
    parser.add_argument("--library", default=DEFAULT_LIBRARY, help="the clone to preload")
    parser.add_argument("--report-dir", default="ptmalloc-audit-report", metavar="DIR")
    parser.add_argument("--keep-cores", action="store_true", help="keep the cores in DIR/work")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--gdb", default=os.environ.get("GDB", "gdb"))
    parser.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    parser.add_argument("--quiet", action="store_true", help="print only failures and the total")
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if args.command and args.command[0].startswith("-"):
        raise AuditError("unknown option %s (see ptmalloc-audit --help)" % args.command[0])
    if bool(args.command) == bool(args.sample):
        raise AuditError("give either a PROGRAM to run or --sample PATH (see ptmalloc-audit "
                         "--help)")
    if args.expect and args.sample:
        raise AuditError("--expect is for one PROGRAM; samples carry NAME.expect.json")
    if args.timeout <= 0:
        raise AuditError("--timeout must be positive")
    args.environment = {}
    for entry in args.env:
        name, equals, value = entry.partition("=")
        if not equals or not name:
            raise AuditError("--env takes NAME=VALUE, not %r" % entry)
        args.environment[name] = value
    if args.stdin:
        if not os.path.isfile(args.stdin):
            raise AuditError("--stdin: no such file: %s" % args.stdin)
        args.stdin = os.path.abspath(args.stdin)
    args.allocators = args.allocator or (["glibc"] if args.glibc else ["clone"])
    if args.glibc and "glibc" not in args.allocators:
        args.allocators.append("glibc")
    args.library = os.path.abspath(args.library)
    args.cflags = shlex.split(args.cflags)
    return args


def main(argv=None):
    try:
        return _main(argv)
    except AuditError as error:
        print("ptmalloc-audit: %s" % error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ptmalloc-audit: interrupted", file=sys.stderr)
        return 2


def _main(argv):
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    if shutil.which(args.gdb) is None:
        raise AuditError("gdb not found (%s); install gdb" % args.gdb)
    for path in (LOADER, DRIVER):
        if not os.path.isfile(path):
            raise AuditError("the gdb extension is missing: %s" % path)
    if "clone" in args.allocators and not os.path.isfile(args.library):
        raise AuditError("%s is missing (make build/libptmalloc.so, or --library)" % args.library)
    work_dir = os.path.join(args.report_dir, "work")
    binary_dir = os.path.join(args.report_dir, "bin")
    try:
        os.makedirs(work_dir, exist_ok=True)
        os.makedirs(binary_dir, exist_ok=True)
    except OSError as error:
        raise AuditError("cannot create the report folder %s: %s" % (args.report_dir,
                                                                   error.strerror))
    if args.sample:
        samples = collect_samples(args.sample, binary_dir, args)
    else:
        samples = [program_sample(args.command, args, binary_dir)]
    jobs = [(sample, allocator) for sample in samples for allocator in args.allocators]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda job: audit_one(job[0], job[1], args, work_dir), jobs))
    for result in results:
        if args.quiet and not result["problems"]:
            continue
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
    print("ptmalloc-audit: %d run%s, %d passed, %d failed (reports in %s)" % (
        len(results), "" if len(results) == 1 else "s", len(results) - failed, failed,
        args.report_dir))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
