"""Instructions executed by each allocator workload, plain glibc against the preloaded clone.

Wall and CPU time on a shared two-core machine drift from run to run; the number of instructions a
program executes does not (valgrind's callgrind counts them, whatever else the machine is doing).
It is the steadiest answer to "does the clone add overhead?", next to the timed runs of
alloc_bench.py.  Usage: instruction_counts.py BUILD_DIR WORKLOAD..."""
import json
import os
import re
import subprocess
import sys

COLLECTED = re.compile(rb"Collected : (\d+)")


def count_instructions(program, preload):
    environment = dict(os.environ)
    environment.pop("LD_PRELOAD", None)
    if preload:
        environment["LD_PRELOAD"] = preload
    result = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", program],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment,
                            check=False)
    match = COLLECTED.search(result.stderr)
    if result.returncode != 0 or match is None:
        raise SystemExit("instruction_counts: %s failed under valgrind" % program)
    return int(match.group(1))


def main():
    build, workloads = sys.argv[1], sys.argv[2:]
    clone = os.path.abspath(os.path.join(build, "libptmalloc.so"))
    rows = []
    print("%-20s %16s %16s %8s" % ("workload", "glibc instr", "clone instr", "ratio"))
    for workload in workloads:
        program = os.path.join(build, "bench", workload)
        glibc = count_instructions(program, None)
        ours = count_instructions(program, clone)
        rows.append({"workload": workload, "glibc": glibc, "clone": ours, "ratio": ours / glibc})
        print("%-20s %16d %16d %8.3f" % (workload, glibc, ours, ours / glibc))
    with open(os.path.join(build, "bench", "instructions.json"), "w") as out:
        json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
