"""The allocator half of `make bench`: each workload run with the system glibc and with the
clone preloaded, interleaved (the order flips every round so neither side always runs on a
warmer machine), reporting median wall time, median CPU time and peak RSS, and clone/glibc
ratios two ways: the ratio of the two medians, and the median of the per-round ratios (each
round's pair ran back to back, so that one is less exposed to the machine's load drifting over
the whole run), and the mean per-round difference in peak RSS in KB.  Both sides must print the same checksum, or the comparison is void and says so.

The launcher, not the driver, sets LD_PRELOAD, and only for the workload, so the clone's pages
never count in the launcher's share of the peak RSS.  BENCH_PIN=N in the environment pins the
single-threaded workloads (both sides) to CPU N."""

import hashlib
import os
import shutil

from measure import launcher_path, median, run_measured

# name, scale in percent of the workload's default size (kept small enough that the whole
# allocator half takes a couple of minutes on 2 shared cores), and whether it runs threads.
# `empty` does one malloc and one free: what it shows is the fixed cost of loading the library.
WORKLOADS = [
    ("small_objects", 100, False),
    ("realloc_mix", 100, False),
    ("producer_consumer", 100, True),
    ("larson_churn", 100, True),
    ("large_blocks", 300, False),
    ("tree_build", 100, False),
    ("empty", 100, False),
]


def snapshot_library(library, folder):
    """Copy the clone so a rebuild by someone else mid-run cannot change what is measured."""
    os.makedirs(folder, exist_ok=True)
    copy = os.path.join(folder, "libptmalloc.so")
    shutil.copyfile(library, copy)
    with open(copy, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:16]
    return copy, digest


def pinned_cpu():
    text = os.environ.get("BENCH_PIN", "")
    return int(text) if text.isdigit() else None


def run_workloads(bench_build, library, runs, scale_percent=100, log=print):
    copy, digest = snapshot_library(library, os.path.join(bench_build, "lib"))
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    cpu = pinned_cpu()
    # samples[name] is one (glibc run, clone run) pair per round where both sides succeeded.
    samples = {name: [] for name, _scale, _threads in WORKLOADS}
    outputs = {name: {} for name, _scale, _threads in WORKLOADS}
    failures = []
    for round_number in range(runs):
        order = ("glibc", "clone") if round_number % 2 == 0 else ("clone", "glibc")
        for name, scale, threads in WORKLOADS:
            argv = [os.path.join(bench_build, name), str(scale * scale_percent / 100.0)]
            pair = {}
            for side in order:
                options = ["--preload", copy] if side == "clone" else []
                if cpu is not None and not threads:
                    options += ["--cpu", str(cpu)]
                run = run_measured(launcher_path(bench_build), argv, env=env, timeout=300,
                                   options=options)
                if run.returncode != 0:
                    failures.append("%s (%s) exited %d: %s" % (name, side, run.returncode,
                                                               run.stdout.strip()[-200:]))
                    continue
                pair[side] = run
                outputs[name].setdefault(side, run.stdout.strip())
            if len(pair) == 2:
                samples[name].append(pair)
        log("  allocator round %d/%d done" % (round_number + 1, runs))
    rows = []
    for name, _scale, threads in WORKLOADS:
        rows.append(summarise(name, threads, samples[name], outputs[name], failures))
    return {"library_sha256": digest, "runs": runs, "pinned_cpu": cpu, "workloads": rows,
            "failures": failures}


MEASURES = (("wall", lambda r: r.wall), ("cpu", lambda r: r.cpu),
            ("peak_rss", lambda r: r.peak_rss_kb))


def summarise(name, threads, pairs, output, failures):
    row = {"workload": name, "threads": threads, "rounds": len(pairs)}
    for side in ("glibc", "clone"):
        row[side] = {"runs": len(pairs)}
        for measure, value in MEASURES:
            unit = "_kb" if measure == "peak_rss" else "_s"
            row[side][measure + unit] = median([value(pair[side]) for pair in pairs])
    row["same_output"] = output.get("glibc") == output.get("clone")
    if not row["same_output"]:
        failures.append("%s: clone printed %r, glibc %r" % (
            name, output.get("clone"), output.get("glibc")))
    for measure, value in MEASURES:
        unit = "_kb" if measure == "peak_rss" else "_s"
        base, ours = row["glibc"][measure + unit], row["clone"][measure + unit]
        row["ratio_" + measure] = (ours / base) if base and ours else None
        row["paired_ratio_" + measure] = median([
            value(pair["clone"]) / value(pair["glibc"]) for pair in pairs
            if value(pair["glibc"]) and value(pair["clone"]) is not None])
    # A mean, not a median: a run's peak RSS moves in steps of up to 64 KB with where
    # address-space randomisation puts the libraries, and the mean is the expected cost.
    differences = [pair["clone"].peak_rss_kb - pair["glibc"].peak_rss_kb for pair in pairs]
    row["extra_rss_kb"] = sum(differences) / len(differences) if differences else None
    return row


def format_table(result):
    header = ("workload", "glibc s", "clone s", "ratio", "paired", "glibc cpu", "clone cpu",
              "ratio", "paired", "glibc KB", "clone KB", "ratio", "+KB")
    layout = "%-18s %8s %8s %6s %6s %9s %9s %6s %6s %8s %8s %6s %5s"
    lines = [layout % header]
    for row in result["workloads"]:
        g, c = row["glibc"], row["clone"]
        lines.append((layout + "%s") % (
            row["workload"], _num(g["wall_s"]), _num(c["wall_s"]), _num(row["ratio_wall"]),
            _num(row["paired_ratio_wall"]), _num(g["cpu_s"]), _num(c["cpu_s"]),
            _num(row["ratio_cpu"]), _num(row["paired_ratio_cpu"]), _int(g["peak_rss_kb"]),
            _int(c["peak_rss_kb"]), _num(row["ratio_peak_rss"]), _int(row["extra_rss_kb"]),
            "" if row["same_output"] else "  OUTPUT DIFFERS"))
    for failure in result["failures"]:
        lines.append("FAILED: " + failure)
    return "\n".join(lines)


def _num(value):
    return "-" if value is None else "%.3f" % value


def _int(value):
    return "-" if value is None else "%d" % value
