"""The allocator half of `make bench`: each workload run with the system glibc, with the clone
preloaded, and built with the clone linked in from libptmalloc.a ("linked": the allocator inside
the executable, so what it shows is the allocator's own cost without that of loading one more
shared library), interleaved (the order rotates every round so no side always runs on a warmer
machine), reporting median wall time, median CPU time and peak RSS, and clone/glibc ratios two
ways: the ratio of the two medians, and the median of the per-round ratios (each round's runs
ran back to back, so that one is less exposed to the machine's load drifting over the whole
run), and the mean per-round difference in peak RSS in KB.  Every side must print the same
checksum, or the comparison is void and says so.

A fourth side, "history", is the preloaded clone recording its allocation history
(PTMALLOC_HISTORY=HISTORY_RING): its ratios are to the preloaded clone of the same rounds, with
history off, which is what turning history on costs.
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


# The sides each workload runs as; "clone" is preloaded, "linked" is the build in bench/linked/,
# "history" the preloaded clone with its allocation history on.
SIDES = ("glibc", "clone", "linked", "history")
# The history side's ring: large enough that every workload wraps it many times over.
HISTORY_RING = 65536
# What each comparison with glibc is called in results.json and the tables.
COMPARISONS = (("clone", "preloaded"), ("linked", "linked in"))


def run_workloads(bench_build, library, runs, scale_percent=100, log=print):
    copy, digest = snapshot_library(library, os.path.join(bench_build, "lib"))
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    cpu = pinned_cpu()
    # samples[name] is one {side: run} per round where every side succeeded.
    samples = {name: [] for name, _scale, _threads in WORKLOADS}
    outputs = {name: {} for name, _scale, _threads in WORKLOADS}
    failures = []
    for round_number in range(runs):
        shift = round_number % len(SIDES)
        order = SIDES[shift:] + SIDES[:shift]
        for name, scale, threads in WORKLOADS:
            arguments = [str(scale * scale_percent / 100.0)]
            runs_of_round = {}
            for side in order:
                folder = os.path.join(bench_build, "linked") if side == "linked" else bench_build
                options = ["--preload", copy] if side in ("clone", "history") else []
                if cpu is not None and not threads:
                    options += ["--cpu", str(cpu)]
                side_env = dict(env, PTMALLOC_HISTORY=str(HISTORY_RING)) if side == "history" \
                    else env
                run = run_measured(launcher_path(bench_build), [os.path.join(folder, name)] +
                                   arguments, env=side_env, timeout=300, options=options)
                if run.returncode != 0:
                    failures.append("%s (%s) exited %d: %s" % (name, side, run.returncode,
                                                               run.stdout.strip()[-200:]))
                    continue
                runs_of_round[side] = run
                outputs[name].setdefault(side, run.stdout.strip())
            if len(runs_of_round) == len(SIDES):
                samples[name].append(runs_of_round)
        log("  allocator round %d/%d done" % (round_number + 1, runs))
    rows = []
    for name, _scale, threads in WORKLOADS:
        rows.append(summarise(name, threads, samples[name], outputs[name], failures))
    return {"library_sha256": digest, "runs": runs, "pinned_cpu": cpu, "workloads": rows,
            "failures": failures}


MEASURES = (("wall", lambda r: r.wall), ("cpu", lambda r: r.cpu),
            ("peak_rss", lambda r: r.peak_rss_kb))


def summarise(name, threads, rounds, output, failures):
    """The medians of each side, and for the preloaded clone (top-level keys, as before the linked
    build existed) and the linked one (under "linked_in") their ratios to glibc."""
    row = {"workload": name, "threads": threads, "rounds": len(rounds)}
    for side in SIDES:
        row[side] = {"runs": len(rounds)}
        for measure, value in MEASURES:
            row[side][measure + _unit(measure)] = median([value(one[side]) for one in rounds])
        if output.get(side) != output.get("glibc"):
            failures.append("%s: %s printed %r, glibc %r" % (
                name, side, output.get(side), output.get("glibc")))
    row["same_output"] = all(output.get(side) == output.get("glibc") for side in SIDES)
    row.update(compare(row, rounds, "clone"))
    row["linked_in"] = compare(row, rounds, "linked")
    row["history_on"] = compare(row, rounds, "history", base_side="clone")
    return row


def compare(row, rounds, side, base_side="glibc"):
    result = {}
    for measure, value in MEASURES:
        base, ours = row[base_side][measure + _unit(measure)], row[side][measure + _unit(measure)]
        result["ratio_" + measure] = (ours / base) if base and ours else None
        result["paired_ratio_" + measure] = median([
            value(one[side]) / value(one[base_side]) for one in rounds
            if value(one[base_side]) and value(one[side]) is not None])
    # A mean, not a median: a run's peak RSS moves in steps of up to 64 KB with where
    # address-space randomisation puts the libraries, and the mean is the expected cost.
    differences = [one[side].peak_rss_kb - one[base_side].peak_rss_kb for one in rounds]
    result["extra_rss_kb"] = sum(differences) / len(differences) if differences else None
    return result


def _unit(measure):
    return "_kb" if measure == "peak_rss" else "_s"


def format_table(result):
    """One line per workload and way of running the clone: glibc's medians are repeated on the
    linked line so that each line reads alone."""
    header = ("workload", "clone", "glibc s", "clone s", "ratio", "paired", "glibc cpu",
              "clone cpu", "ratio", "paired", "glibc KB", "clone KB", "ratio", "+KB")
    layout = "%-18s %-9s %8s %8s %6s %6s %9s %9s %6s %6s %8s %8s %6s %5s"
    lines = [layout % header]
    for row in result["workloads"]:
        g = row["glibc"]
        for side, label in COMPARISONS:
            c = row[side]
            ratios = row if side == "clone" else row["linked_in"]
            lines.append((layout + "%s") % (
                row["workload"] if side == "clone" else "", label, _num(g["wall_s"]),
                _num(c["wall_s"]), _num(ratios["ratio_wall"]), _num(ratios["paired_ratio_wall"]),
                _num(g["cpu_s"]), _num(c["cpu_s"]), _num(ratios["ratio_cpu"]),
                _num(ratios["paired_ratio_cpu"]), _int(g["peak_rss_kb"]), _int(c["peak_rss_kb"]),
                _num(ratios["ratio_peak_rss"]), _int(ratios["extra_rss_kb"]),
                "" if row["same_output"] else "  OUTPUT DIFFERS"))
    lines += ["", "allocation history on (PTMALLOC_HISTORY=%d) against off, both preloaded:"
              % HISTORY_RING] + history_lines(result)
    for failure in result["failures"]:
        lines.append("FAILED: " + failure)
    return "\n".join(lines)


def history_rows(result):
    """[workload, off s, on s, wall ratio, paired, cpu ratio, paired, +KB] per workload."""
    rows = []
    for row in result["workloads"]:
        ratios = row.get("history_on")
        if ratios is None:
            continue
        rows.append([row["workload"], _num(row["clone"]["wall_s"]), _num(row["history"]["wall_s"]),
                     _num(ratios["ratio_wall"]), _num(ratios["paired_ratio_wall"]),
                     _num(ratios["ratio_cpu"]), _num(ratios["paired_ratio_cpu"]),
                     _int(ratios["extra_rss_kb"])])
    return rows


HISTORY_HEADER = ("workload", "off s", "on s", "ratio", "paired", "cpu ratio", "paired", "+KB")


def history_lines(result):
    layout = "%-18s %8s %8s %6s %6s %9s %6s %6s"
    return [layout % HISTORY_HEADER] + [layout % tuple(row) for row in history_rows(result)]


def _num(value):
    return "-" if value is None else "%.3f" % value


def _int(value):
    return "-" if value is None else "%d" % value
