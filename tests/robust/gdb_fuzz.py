"""Host side of the extension's corruption fuzzer: starts gdb at fuzz_target's stop, sources the
in-gdb driver (gdb_fuzz_driver.py), and when gdb itself dies on a case, records that case (with its
reproducer) and starts a fresh gdb at the next one.  Also used by `make fuzz` for long runs:

    python3 tests/robust/gdb_fuzz.py --cases 20000 --seed 7 [--glibc] [--core]
"""
import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
BUILD = pathlib.Path(os.environ.get("PTM_BUILD", REPO_ROOT / "build"))
LOADER = REPO_ROOT / "gdb" / "ptmalloc-gdb.py"
DRIVER = HERE / "gdb_fuzz_driver.py"
TARGET = BUILD / "robust" / "fuzz_target"
CLONE = BUILD / "libptmalloc.so"
GDB = os.environ.get("GDB", "gdb")
# Far above what the extension needs on this heap; a runaway read or cache hits it quickly.
GDB_ADDRESS_SPACE = 6 << 30


def _limit_gdb():
    resource.setrlimit(resource.RLIMIT_AS, (GDB_ADDRESS_SPACE, GDB_ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def gdb_base_argv(preload):
    argv = [GDB, "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "set width 0", "-ex", "set style enabled off",
            "-ex", "set python print-stack full", "-ex", "source %s" % LOADER]
    if preload:
        argv += ["-ex", "set environment LD_PRELOAD %s" % CLONE]
    return argv


def make_core(preload, directory):
    """A gcore of fuzz_target at its stop, for the core-file mode."""
    core = pathlib.Path(directory) / "fuzz_target.core"
    argv = gdb_base_argv(preload) + ["-ex", "break fuzz_stop", "-ex", "run",
                                     "-ex", "gcore %s" % core, "-ex", "kill", str(TARGET)]
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
                   check=False)
    return core if core.exists() else None


def _read_records(path):
    records = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
    return records


def run(cases, seed, preload=True, core_mode=False, timeout=20.0, run_timeout=900,
        workdir=None):
    """Runs the fuzzer; returns {"summaries": [...], "problems": [...], "gdb_stderr": str}."""
    own_dir = None
    if workdir is None:
        own_dir = tempfile.TemporaryDirectory(prefix="ptm-fuzz-")
        workdir = own_dir.name
    out = pathlib.Path(workdir) / ("fuzz-%s-%s.jsonl" % ("clone" if preload else "glibc", seed))
    if out.exists():
        out.unlink()
    core = make_core(preload, workdir) if core_mode else None
    if core_mode and core is None:
        raise RuntimeError("could not gcore %s" % TARGET)
    result = {"summaries": [], "problems": [], "gdb_stderr": "", "restarts": 0, "cases_run": 0}
    start = 0
    while start < cases:
        env = dict(os.environ, FUZZ_SEED=str(seed), FUZZ_CASES=str(cases), FUZZ_START=str(start),
                   FUZZ_OUT=str(out), FUZZ_TIMEOUT=str(timeout), LC_ALL="C")
        env.pop("LD_PRELOAD", None)
        if core:
            env["FUZZ_CORE"] = str(core)
            argv = gdb_base_argv(False) + ["-ex", "file %s" % TARGET, "-ex", "core-file %s" % core,
                                           "-ex", "source %s" % DRIVER]
        else:
            argv = gdb_base_argv(preload) + ["-ex", "break fuzz_stop", "-ex", "run",
                                             "-ex", "source %s" % DRIVER, "-ex", "kill",
                                             str(TARGET)]
        before = len(_read_records(out))
        try:
            completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       env=env, timeout=run_timeout, preexec_fn=_limit_gdb,
                                       check=False)
            stderr = completed.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as expired:
            stderr = (expired.stderr or b"").decode("utf-8", "replace") + "\n[gdb run timed out]"
        result["gdb_stderr"] += stderr
        records = _read_records(out)[before:]
        summaries = [r["summary"] for r in records if "summary" in r]
        begun = [r for r in records if "begin" in r]
        result["cases_run"] += len(begun)
        for record in records:
            if "driver_error" in record:
                result["problems"].append({"case": None, "status": "driver-error",
                                           "message": record["driver_error"]})
            for problem in record.get("problems", ()):
                result["problems"].append(dict(problem, case=record["case"],
                                               reproduce=record.get("reproduce")))
            if "baseline_check" in record and record["baseline_check"] != "ok":
                result["problems"].append({"case": None, "status": "baseline",
                                           "message": record.get("message", "")})
        if summaries:
            result["summaries"] += summaries
            break
        if not begun:
            result["problems"].append({"case": start, "status": "gdb-died-early",
                                       "message": stderr[-1500:]})
            break
        crashed = begun[-1]
        reason = [line for line in stderr.splitlines() if "internal-error" in line or
                  "Recursive internal problem" in line or "timed out" in line]
        result["problems"].append({
            "case": crashed["begin"], "status": "gdb-crash",
            "message": reason[0] if reason else stderr[-600:],
            "reproduce": ["set {unsigned long}%s = %s" % (m["address"], m["new"])
                          for m in crashed["mutations"]]})
        result["restarts"] += 1
        start = crashed["begin"] + 1
    if own_dir is not None:
        own_dir.cleanup()
    return result


def totals(result):
    merged = {"cases": result["cases_run"], "commands": 0, "max_rss_mb": 0, "check_detected": {},
              "check_total": {}}
    for summary in result["summaries"]:
        merged["commands"] += summary["commands"]
        merged["max_rss_mb"] = max(merged["max_rss_mb"], summary["max_rss_mb"])
        for key in ("check_detected", "check_total"):
            for kind, count in summary[key].items():
                merged[key][kind] = merged[key].get(kind, 0) + count
    return merged


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--glibc", action="store_true", help="fuzz glibc's heap, not the clone's")
    parser.add_argument("--core", action="store_true", help="patch copies of a core file")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per command")
    args = parser.parse_args(argv)
    result = run(args.cases, args.seed, preload=not args.glibc, core_mode=args.core,
                 timeout=args.timeout, run_timeout=max(900, args.cases))
    merged = totals(result)
    for problem in result["problems"]:
        print(json.dumps(problem))
    rates = ", ".join("%s %d/%d" % (kind, merged["check_detected"].get(kind, 0), total)
                      for kind, total in sorted(merged["check_total"].items()))
    print("fuzz: %d cases, %d commands, %d problems, %d gdb restarts, max gdb RSS %d MiB; "
          "heap check flagged: %s" % (merged["cases"], merged["commands"], len(result["problems"]),
                                      result["restarts"], merged["max_rss_mb"], rates))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
