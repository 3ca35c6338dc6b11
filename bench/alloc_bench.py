"""The allocator half of `make bench`: each workload run with the system glibc and with the
clone preloaded, interleaved (the order flips every round so neither side always runs on a
warmer machine), reporting median wall time, median CPU time and peak RSS, and clone/glibc
ratios.  Both sides must print the same checksum, or the comparison is void and says so."""

import hashlib
import os
import shutil

from measure import launcher_path, median, run_measured

# name -> scale in percent of the workload's default size (kept small enough that the whole
# allocator half takes a couple of minutes on 2 shared cores).
WORKLOADS = [
    ("small_objects", 100),
    ("realloc_mix", 100),
    ("producer_consumer", 100),
    ("larson_churn", 100),
    ("large_blocks", 300),
    ("tree_build", 100),
]


def snapshot_library(library, folder):
    """Copy the clone so a rebuild by someone else mid-run cannot change what is measured."""
    os.makedirs(folder, exist_ok=True)
    copy = os.path.join(folder, "libptmalloc.so")
    shutil.copyfile(library, copy)
    with open(copy, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:16]
    return copy, digest


def run_workloads(bench_build, library, runs, scale_percent=100, log=print):
    copy, digest = snapshot_library(library, os.path.join(bench_build, "lib"))
    plain_env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    clone_env = dict(plain_env, LD_PRELOAD=copy)
    samples = {name: {"glibc": [], "clone": []} for name, _scale in WORKLOADS}
    outputs = {name: {} for name, _scale in WORKLOADS}
    failures = []
    for round_number in range(runs):
        order = ("glibc", "clone") if round_number % 2 == 0 else ("clone", "glibc")
        for name, scale in WORKLOADS:
            argv = [os.path.join(bench_build, name), str(scale * scale_percent / 100.0)]
            for side in order:
                env = clone_env if side == "clone" else plain_env
                run = run_measured(launcher_path(bench_build), argv, env=env, timeout=300)
                if run.returncode != 0:
                    failures.append("%s (%s) exited %d: %s" % (name, side, run.returncode,
                                                               run.stdout.strip()[-200:]))
                    continue
                samples[name][side].append(run)
                outputs[name].setdefault(side, run.stdout.strip())
        log("  allocator round %d/%d done" % (round_number + 1, runs))
    rows = []
    for name, _scale in WORKLOADS:
        row = {"workload": name}
        for side in ("glibc", "clone"):
            runs_of_side = samples[name][side]
            row[side] = {
                "runs": len(runs_of_side),
                "wall_s": median([r.wall for r in runs_of_side]),
                "cpu_s": median([r.cpu for r in runs_of_side]),
                "peak_rss_kb": median([r.peak_rss_kb for r in runs_of_side]),
            }
        row["same_output"] = outputs[name].get("glibc") == outputs[name].get("clone")
        if not row["same_output"]:
            failures.append("%s: clone printed %r, glibc %r" % (
                name, outputs[name].get("clone"), outputs[name].get("glibc")))
        for measure in ("wall_s", "cpu_s", "peak_rss_kb"):
            base, ours = row["glibc"][measure], row["clone"][measure]
            row["ratio_" + measure.rsplit("_", 1)[0]] = (ours / base) if base and ours else None
        rows.append(row)
    return {"library_sha256": digest, "runs": runs, "workloads": rows, "failures": failures}


def format_table(result):
    lines = ["%-18s %9s %9s %7s %9s %9s %7s %9s %9s %7s" % (
        "workload", "glibc s", "clone s", "ratio", "glibc cpu", "clone cpu", "ratio",
        "glibc KB", "clone KB", "ratio")]
    for row in result["workloads"]:
        g, c = row["glibc"], row["clone"]
        lines.append("%-18s %9s %9s %7s %9s %9s %7s %9s %9s %7s%s" % (
            row["workload"], _num(g["wall_s"]), _num(c["wall_s"]), _num(row["ratio_wall"]),
            _num(g["cpu_s"]), _num(c["cpu_s"]), _num(row["ratio_cpu"]),
            _int(g["peak_rss_kb"]), _int(c["peak_rss_kb"]), _num(row["ratio_peak_rss"]),
            "" if row["same_output"] else "  OUTPUT DIFFERS"))
    for failure in result["failures"]:
        lines.append("FAILED: " + failure)
    return "\n".join(lines)


def _num(value):
    return "-" if value is None else "%.3f" % value


def _int(value):
    return "-" if value is None else "%d" % value
