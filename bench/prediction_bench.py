"""`make bench-predict` (part of `make bench`): how long a prediction takes on the
1,000,000-chunk heap (bench/million_chunks.c on the clone), live and from its core, once the
stop's first command has run (the heap snapshot is then read; the prediction engine is a new
process each time).  Each call is timed inside gdb, several times, median reported, next to the
first command's own time as the baseline of the same run.  No assertion on time: the numbers go
to build/bench/predict.json and the terminal.

    python3 bench/prediction_bench.py --build build [--runs 5]"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from gdb_bench import BIG_HEAP, GDB, Sample, gcore

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Run inside gdb: the first command of the stop, then each prediction `runs` times.
_SCRIPT = r"""
import json, time, gdb
def timed(command):
    started = time.perf_counter()
    gdb.execute(command, to_string=True)
    return time.perf_counter() - started
first = timed("heap")
chunks = json.loads(gdb.execute("heap chunks --json --limit 3 --state in-use", to_string=True))
pointer = chunks["arenas"][0]["chunks"][-1]["address"] + 16
calls = {"try-malloc 0x18": "heap try-malloc 0x18 --json",
         "try-malloc 0x5000": "heap try-malloc 0x5000 --json",
         "try-free": "heap try-free %#x --json" % pointer,
         "check --next": "heap check --next 'malloc(0x18)' --json"}
result = {"first_command": first}
for label, command in calls.items():
    result[label] = [timed(command) for _ in range(RUNS)]
print("PREDICT-BENCH " + json.dumps(result))
"""


def measure(source, binary, core, pid, runs):
    script = os.path.join(os.path.dirname(core), "predict_bench_script.py")
    with open(script, "w") as handle:
        handle.write(_SCRIPT.replace("RUNS", str(runs)))
    argv = [GDB, "-batch", "-nx", "-ex", "set style enabled off"]
    if source == "live":
        argv += ["-p", str(pid)]
    argv += ["-x", os.path.join(REPO, "gdb", "ptmalloc-gdb.py"), "-x", script]
    if source == "core":
        argv += [binary, core]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    output = completed.stdout + completed.stderr
    line = next((line for line in output.splitlines() if line.startswith("PREDICT-BENCH ")), None)
    if line is None:
        raise RuntimeError("the prediction benchmark gave no result: %s" % output[-500:])
    measured = json.loads(line[len("PREDICT-BENCH "):])
    return {label: (value if label == "first_command" else statistics.median(value))
            for label, value in measured.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bench_build = os.path.join(args.build, "bench")
    os.makedirs(bench_build, exist_ok=True)
    binary = os.path.join(bench_build, "million_chunks")
    library = os.path.abspath(os.path.join(args.build, "libptmalloc.so"))
    core = os.path.abspath(os.path.join(bench_build, "predict.core"))
    sample = Sample(binary, BIG_HEAP, library)
    try:
        gcore(sample.pid, core)
        results = {"chunks": BIG_HEAP, "runs": args.runs,
                   "core": measure("core", binary, core, sample.pid, args.runs),
                   "live": measure("live", binary, core, sample.pid, args.runs)}
    finally:
        sample.stop()
        if os.path.exists(core) and os.environ.get("BENCH_KEEP") != "1":
            os.unlink(core)
    with open(os.path.join(bench_build, "predict.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    print("Predictions on the %d-chunk heap, median of %d, seconds (after the stop's first "
          "command):" % (BIG_HEAP, args.runs))
    print("| call | core | live |")
    print("|---|---|---|")
    for label in results["core"]:
        print("| %s | %.3f | %.3f |" % (label, results["core"][label], results["live"][label]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
