"""Instructions executed by each allocator workload: plain glibc, the clone preloaded, and the
workload built with the clone linked in (bench/linked/).

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
    # "linked": the workload built with libptmalloc.a (bench/linked/), which pays nothing for
    # loading one more shared library, so its ratio is the allocator's own.
    print("%-20s %14s %14s %7s %14s %7s" % ("workload", "glibc instr", "preloaded", "ratio",
                                           "linked in", "ratio"))
    for workload in workloads:
        program = os.path.join(build, "bench", workload)
        glibc = count_instructions(program, None)
        ours = count_instructions(program, clone)
        linked = count_instructions(os.path.join(build, "bench", "linked", workload), None)
        rows.append({"workload": workload, "glibc": glibc, "clone": ours, "ratio": ours / glibc,
                     "linked": linked, "linked_ratio": linked / glibc})
        print("%-20s %14d %14d %7.3f %14d %7.3f" % (workload, glibc, ours, ours / glibc, linked,
                                                    linked / glibc))
    with open(os.path.join(build, "bench", "instructions.json"), "w") as out:
        json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
