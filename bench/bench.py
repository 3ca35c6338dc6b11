"""`make bench`: measures the allocator against the system glibc and the gdb extension over a
million-chunk heap, prints tables and writes build/bench/results.json.  Timing lives here and
only here: nothing in this folder asserts a time, it reports ratios against the stated targets.

Usage: python3 bench/bench.py [--part alloc|gdb|all] [--runs N] [--build DIR]"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import alloc_bench  # noqa: E402

REPO = os.path.dirname(HERE)


def machine_description():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_kb = 0
    try:
        with open("/proc/meminfo") as handle:
            memory_kb = int(handle.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    libc = platform.libc_ver()
    gdb_version = "gdb ?"
    try:
        gdb_version = subprocess.run(["gdb", "--version"], capture_output=True, text=True,
                                     timeout=30).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": memory_kb // 1024,
            "kernel": platform.release(), "libc": "%s %s" % libc, "gdb": gdb_version,
            "python": platform.python_version(), "load_average": os.getloadavg()}


def load_results(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("alloc", "gdb", "all"), default="all")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", default=os.path.join(REPO, "build"))
    parser.add_argument("--scale", type=float, default=100.0,
                        help="allocator workload size in percent (default 100)")
    args = parser.parse_args()
    bench_build = os.path.join(args.build, "bench")
    os.makedirs(bench_build, exist_ok=True)
    results_path = os.path.join(bench_build, "results.json")
    results = load_results(results_path)
    results["machine"] = machine_description()
    results["when"] = time.strftime("%Y-%m-%d %H:%M:%S %z")
    status = 0

    def log(text):
        print(text, file=sys.stderr, flush=True)

    if args.part in ("alloc", "all"):
        library = os.path.join(args.build, "libptmalloc.so")
        if not os.path.exists(library):
            print("bench: %s is missing (make build/libptmalloc.so)" % library)
            return 1
        log("allocator: %d interleaved rounds of %d workloads" % (
            args.runs, len(alloc_bench.WORKLOADS)))
        results["allocator"] = alloc_bench.run_workloads(bench_build, library, args.runs,
                                                         args.scale, log)
        print("Allocator (median of %d interleaved rounds; the clone preloaded (LD_PRELOAD) and "
              "linked in (the workload built with libptmalloc.a); ratio = clone/glibc of the "
              "medians, paired = median of the per-round ratios; +KB = mean clone - glibc peak "
              "RSS; target <= 1.00 time, <= 1.01 peak RSS%s)" % (
                  args.runs, "; single-threaded workloads pinned to CPU %d" %
                  results["allocator"]["pinned_cpu"]
                  if results["allocator"]["pinned_cpu"] is not None else ""))
        print(alloc_bench.format_table(results["allocator"]))
        if results["allocator"]["failures"]:
            status = 1
    if args.part in ("gdb", "all"):
        import gdb_bench
        log("extension: building the sample heaps and timing the heap commands")
        results["extension"] = gdb_bench.run(bench_build, args.build, REPO, args.runs, log)
        print()
        print(gdb_bench.format_table(results["extension"]))
        if results["extension"].get("failures"):
            status = 1
    with open(results_path, "w") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
    print("\nresults: %s" % os.path.relpath(results_path))
    return status


if __name__ == "__main__":
    sys.exit(main())
