"""The extension half of `make bench`: the heap commands over a 1,000,000-chunk heap (the
million_chunks sample, on the clone and on the system glibc), from its core and live, each in a
fresh gdb so gdb's peak
RSS belongs to that command, with the C walk helper (build/libptmalloc-heapwalk.so) and, for
two commands, without it; and the naive per-field gdb.Value walk against `heap chunks --summary`
on the 100,000-chunk heap and again on the 1,000,000-chunk one, as speed ratios (both sides
compute the same size/state histogram, checked equal, and both pay for finding the allocator
in a fresh gdb).  The same commands then run on a 10,000,000-chunk heap, on both allocators,
each round beside a 1,000,000-chunk heap of its own, for the ratio 10M/1M of the same seconds.
Medians over interleaved runs; no assertion on time.

BENCH_GDB_PARTS (comma-separated, default all) picks what runs: `1m` the commands on the
1,000,000-chunk heaps, `10m` those on the 10,000,000-chunk heaps, `extras` the pure-Python rows
and the naive comparisons (on the clone's heaps); BENCH_HUGE=0 leaves `10m` out as before."""

import json
import os
import subprocess
import time

import recorded_chunks
from alloc_bench import snapshot_library
from measure import launcher_path, median, run_measured

GDB = os.environ.get("GDB", "gdb")
BIG_HEAP = 1000000
SMALL_HEAP = 100000
SMALL_HEAP_RUNS = 7
# Ten times the big heap, to show how the cost grows, measured beside the big heap in the same
# rounds (each command on one heap, then on the other), as many rounds as the big heap's, since
# the ratio of one round carries whatever the machine did in its seconds.
HUGE_HEAP = 10000000
# MiB of main heap held before the huge heap's main-arena chunks (million_chunks' argv[2]), so
# that its main heap is over 4 GiB, as in the production core of issue 16: a core of about
# 5.5 GB, mostly zeros.
HUGE_MAIN_PADDING_MIB = 4096

PARTS = ("1m", "10m", "extras")
# The allocators the sample runs on: the clone preloaded, and the system glibc (no preload).
ALLOCATORS = ("clone", "glibc")

# The pure-Python walk, for comparison: these commands are also run from the core with the C
# helper turned off.
PURE_PYTHON = {"PTMALLOC_GDB_NATIVE": "0"}
PURE_PYTHON_COMMANDS = [
    ("chunks-summary-python", "heap chunks --summary", None),
    ("check-python", "heap check", None),
]

# (label, command, where its output goes: None = /dev/null, or a file name under build/bench)
COMMANDS = [
    ("baseline", "python pass", None),
    ("heap", "heap", None),
    ("chunks-summary", "heap chunks --summary", None),
    ("bins", "heap bins", None),
    ("check", "heap check", "check.txt"),
    ("chunks-json", "heap chunks --json", "chunks.json"),
    ("chunks", "heap chunks", None),
    # A chunk a megabyte into the main arena's own chunks, past any padding ({padding} bytes
    # of it): every writable word of the process scanned for it.
    ("refs", "heap refs (char *) mp_.sbrk_base + {padding} + 0x100000", None),
    # Saved under the bench folder, then compared with the same stop (an empty diff: the cost of
    # reading the file back, walking the heap again and matching a million chunks).
    ("snapshot", "heap snapshot {bench_build}/bench-snapshot-{chunks}.json", None),
    ("diff", "heap diff {bench_build}/bench-snapshot-{chunks}.json", None),
]

# `heap map` on the big heap only (the files are written under build/bench, their sizes
# reported, then deleted): "{folder}" is replaced by build/bench.
MAP_FILES = {"map-html": "map.html", "map-svg": "map.svg"}
MAP_COMMANDS = [(label, "heap map {folder}/" + name, None) for label, name in MAP_FILES.items()]

TARGETS = {"seconds": 2.0, "peak_rss_mb": 500.0, "first_line_seconds": 0.5, "naive_ratio": 50.0}


class Sample:
    """A running million_chunks process that has built its heap and waits to be inspected."""

    def __init__(self, binary, chunks, library, padding_mib=0, record=None):
        """`library`: the clone to preload, or None for the system glibc; `record`: a file
        where the program records every chunk it made (see bench/recorded_chunks.py)."""
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        if library:
            env["LD_PRELOAD"] = library
        argv = [binary, str(chunks), str(padding_mib)] + ([record] if record else [])
        self.process = subprocess.Popen(argv, env=env,
                                        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.process.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "ready":
            self.stop()
            raise RuntimeError("million_chunks %d did not get ready" % chunks)
        self.pid = self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def gdb_argv(repo, source, binary, core, pid, label, command):
    argv = [GDB, "-batch", "-nx", "-ex", "set style enabled off", "-ex", "set width 0",
            "-ex", "set height 0"]
    if source == "live":
        argv += ["-p", str(pid)]
    argv += ["-x", os.path.join(repo, "gdb", "ptmalloc-gdb.py"),
             "-x", os.path.join(repo, "bench", "gdb_timer.py"),
             "-x", os.path.join(repo, "bench", "naive_walk.py")]
    if label == "naive-walk":
        argv += ["-ex", "bench-naive-walk naive-walk"]
    else:
        argv += ["-ex", "bench-run %s %s" % (label, command)]
    if source == "core":
        argv += [binary, core]
    return argv


def measure_gdb(bench_build, argv, stdout_path, extra_env=None):
    timings = os.path.join(bench_build, "timings.jsonl")
    if os.path.exists(timings):
        os.unlink(timings)
    env = dict(os.environ, BENCH_TIMINGS=timings, **(extra_env or {}))
    env.pop("LD_PRELOAD", None)
    run = run_measured(launcher_path(bench_build), argv, env=env,
                       stdout_path=stdout_path or os.devnull, timeout=900)
    entry = {}
    try:
        with open(timings) as handle:
            lines = handle.read().splitlines()
        entry = json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        pass
    entry["peak_rss_mb"] = run.peak_rss_kb / 1024.0 if run.peak_rss_kb else None
    entry["gdb_wall_seconds"] = run.wall
    if run.returncode != 0 and "error" not in entry:
        entry["error"] = "gdb exited %s" % run.returncode
    if "seconds" not in entry and "error" not in entry:
        entry["error"] = "no timing recorded: %s" % run.stdout.strip()[-200:]
    return entry


def gcore(pid, path):
    subprocess.run([GDB, "-batch", "-nx", "-p", str(pid), "-ex", "gcore " + path],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600,
                   check=True)


def summarise(entries):
    errors = [e["error"] for e in entries if e.get("error")]
    good = [e for e in entries if not e.get("error")]
    return {"runs": len(good),
            "seconds": median([e.get("seconds") for e in good]),
            "cpu_seconds": median([e.get("cpu_seconds") for e in good]),
            "first_line_seconds": median([e.get("first_output_seconds") for e in good]),
            "peak_rss_mb": median([e.get("peak_rss_mb") for e in good]),
            "rss_anon_mb": median([e.get("rss_anon_mb") for e in good]),
            "error": errors[0] if errors and not good else None}


def run_heap_commands(bench_build, repo, binary, library, runs, log, allocator,
                      heaps=((BIG_HEAP, 0),), with_extras=True):
    """Each command over each heap of `heaps` ((chunks, MiB of main heap before the main
    arena's chunks) each) made by `allocator` (`library` preloaded, or None for the system
    glibc), from its core and live, `runs` rounds; with `with_extras`, the pure-Python rows and
    the naive comparison too (on the first heap).  With several heaps, a round runs each command
    on every heap in turn, the order reversed from one round to the next, so that their ratio
    compares measurements made in the same seconds; each later heap's entries then carry
    `paired_ratio` (and `paired_cpu_ratio`), the median of the rounds' ratios to the first
    heap's.  {chunks: results}."""
    samples, results = [], {}
    try:
        for chunks, padding_mib in heaps:
            record = os.path.join(bench_build, "heap-%s-%d.record" % (allocator, chunks))
            samples.append((chunks, padding_mib, record, Sample(binary, chunks, library,
                                                                padding_mib, record)))
        raw = {}
        for source in ("live", "core"):
            if source == "core":
                for chunks, _padding, _record, sample in samples:
                    gcore(sample.pid, _core_path(bench_build, allocator, chunks))
                    log("  %s %d-chunk heap: core written" % (allocator, chunks))
            plan = _plan(source, with_extras, bench_build)
            for round_number in range(runs):
                order = samples if round_number % 2 == 0 else samples[::-1]
                for label, command, output, extra_env in plan:
                    for chunks, padding_mib, _record, sample in order:
                        if extra_env is not None and chunks != heaps[0][0]:
                            continue
                        text = command.format(bench_build=os.path.abspath(bench_build),
                                              padding=padding_mib << 20, chunks=chunks)
                        argv = gdb_argv(repo, source, binary,
                                        _core_path(bench_build, allocator, chunks), sample.pid,
                                        label, text)
                        out = os.path.join(bench_build, _output_name(chunks, output)) \
                            if output else None
                        raw.setdefault((chunks, source, label), []).append(
                            measure_gdb(bench_build, argv, out, extra_env))
                log("  %s %s, %s: extension round %d/%d done" % (
                    allocator, " and ".join("%d chunks" % heap[0] for heap in heaps), source,
                    round_number + 1, runs))
        for (chunks, source, label), entries in raw.items():
            entry = summarise(entries)
            if chunks != heaps[0][0]:
                entry.update(_paired(raw.get((heaps[0][0], source, label), []), entries))
            results.setdefault(chunks, {}).setdefault(source, {})[label] = entry
        for chunks, _padding, record, sample in samples:
            heap = results.setdefault(chunks, {})
            json_path = os.path.join(bench_build, _output_name(chunks, "chunks.json"))
            if os.path.exists(json_path):
                heap["chunks_json_bytes"] = os.path.getsize(json_path)
                # The last listing is the core's: does it name every chunk the program made?
                heap["recorded"] = recorded_chunks.compare(record, json_path)
                log("  %s %d chunks: %s" % (allocator, chunks,
                                            recorded_chunks.describe(heap["recorded"])))
            heap["check_verdict"] = _check_verdict(
                os.path.join(bench_build, _output_name(chunks, "check.txt")))
            for label, name in MAP_FILES.items():
                path = os.path.join(bench_build, name)
                if os.path.exists(path) and chunks == heaps[0][0]:
                    heap.setdefault("map_bytes", {})[label] = os.path.getsize(path)
        if with_extras:
            chunks, _padding, _record, sample = samples[0]
            results[chunks]["naive"] = compare_with_naive(
                bench_build, repo, binary, sample,
                _core_path(bench_build, allocator, chunks), runs)
            log("  naive walk compared on the %d-chunk heap" % chunks)
    finally:
        for chunks, _padding, record, sample in samples:
            sample.stop()
            _discard(_core_path(bench_build, allocator, chunks), record,
                     os.path.join(bench_build, "bench-snapshot-%d.json" % chunks),
                     *(os.path.join(bench_build, _output_name(chunks, name))
                       for name in ("chunks.json", "check.txt")))
        _discard(*(os.path.join(bench_build, name) for name in MAP_FILES.values()))
    return results


def _plan(source, with_extras, bench_build):
    """[(label, command, output file name or None, extra environment or None)] run from
    `source` in each round."""
    plan = [(label, command, output, None) for label, command, output in COMMANDS]
    if with_extras:
        if source == "core":
            plan += [(label, command, output, PURE_PYTHON)
                     for label, command, output in PURE_PYTHON_COMMANDS]
        plan += [(label, command.format(folder=bench_build), output, None)
                 for label, command, output in MAP_COMMANDS]
    return plan


def _core_path(bench_build, allocator, chunks):
    return os.path.join(bench_build, "heap-%s-%d.core" % (allocator, chunks))


def _output_name(chunks, output):
    """Each heap's own copy of a command's output file (the last round's)."""
    return "%d-%s" % (chunks, output)


def _paired(small_entries, large_entries):
    """The median over rounds of the ratio of a round's large-heap time to its small-heap
    time, in wall and in CPU seconds."""
    paired = {}
    for key, name in (("seconds", "paired_ratio"), ("cpu_seconds", "paired_cpu_ratio")):
        ratios = [large[key] / small[key] for small, large in zip(small_entries, large_entries)
                  if not small.get("error") and not large.get("error") and small.get(key)
                  and large.get(key)]
        paired[name] = median(ratios) if ratios else None
    return paired


def _check_verdict(path):
    """The summary line of the last `heap check` (from the core), or what was wrong."""
    try:
        with open(path, errors="replace") as handle:
            lines = [line.strip() for line in handle if line.startswith("heap check:")]
    except OSError:
        return "no output of heap check"
    return lines[-1] if lines else "heap check printed no verdict"


def run_naive_comparison(bench_build, repo, binary, library, runs, log):
    """The naive walk against the extension on the SMALL_HEAP-chunk heap."""
    sample = Sample(binary, SMALL_HEAP, library)
    core = os.path.join(bench_build, "naive.core")
    try:
        gcore(sample.pid, core)
        result = compare_with_naive(bench_build, repo, binary, sample, core, runs)
        log("  naive walk compared on the %d-chunk heap" % SMALL_HEAP)
    finally:
        sample.stop()
        _discard(core)
    return result


def compare_with_naive(bench_build, repo, binary, sample, core, runs):
    """Both sides compute the same (size, state) histogram of the same heap, each in a fresh
    gdb, interleaved; the ratio is reported only when the two results are equal."""
    summary_path = os.path.join(bench_build, "naive-summary.json")
    result = {}
    try:
        for source in ("core", "live"):
            naive, ours, same = [], [], []
            for _round in range(runs):
                naive.append(measure_gdb(bench_build, gdb_argv(
                    repo, source, binary, core, sample.pid, "naive-walk", None), None))
                ours.append(measure_gdb(bench_build, gdb_argv(
                    repo, source, binary, core, sample.pid, "chunks-summary",
                    "heap chunks --summary --json"), summary_path))
                same.append(_same_histogram(naive[-1], summary_path))
            result[source] = _ratio(naive, ours, all(same))
    finally:
        _discard(summary_path)
    return result


def _ratio(naive, ours, same):
    naive_cpu = median([e.get("cpu_seconds") for e in naive if not e.get("error")])
    our_cpu = median([e.get("cpu_seconds") for e in ours if not e.get("error")])
    naive_seconds = median([e.get("seconds") for e in naive if not e.get("error")])
    our_seconds = median([e.get("seconds") for e in ours if not e.get("error")])
    errors = set(e["error"] for e in naive + ours if e.get("error"))
    if not same:
        errors.add("the naive walk and the extension disagree on the histogram")
        naive_seconds = None
    chunks = max([e.get("chunks", 0) for e in naive] or [0])
    return {
        "runs": min(len([e for e in naive if not e.get("error")]),
                    len([e for e in ours if not e.get("error")])),
        "naive_seconds": naive_seconds, "extension_seconds": our_seconds,
        "naive_chunks": chunks, "same_result": same,
        "naive_us_per_chunk": naive_seconds * 1e6 / chunks if naive_seconds and chunks else None,
        "extension_us_per_chunk": our_seconds * 1e6 / chunks if our_seconds and chunks else None,
        "ratio": naive_seconds / our_seconds if naive_seconds and our_seconds else None,
        "cpu_ratio": naive_cpu / our_cpu if naive_cpu and our_cpu and same else None,
        "errors": sorted(errors)}


def _same_histogram(naive_entry, summary_path):
    """Whether the naive walk's histogram equals the heap states of `heap chunks --summary
    --json` (mmapped chunks are the extension's alone)."""
    try:
        with open(summary_path) as handle:
            # gdb adds its own lines (a live run ends with "[Inferior 1 ... detached]").
            line = [text for text in handle if text.startswith('{"summary"')][-1]
        summary = json.loads(line)
    except (OSError, ValueError, IndexError):
        return False
    ours = sorted([row["size"], row["state"], row["count"]] for row in summary["summary"]
                  if row["state"] != "mmapped")
    return bool(ours) and ours == naive_entry.get("histogram")


def _discard(*paths):
    """Cores and the JSON dump are hundreds of MB each: keep them only when asked to
    (BENCH_KEEP=1), e.g. to open the core by hand."""
    if os.environ.get("BENCH_KEEP"):
        return
    for path in paths:
        if os.path.exists(path):
            os.unlink(path)


def selected_parts():
    """The parts of this bench that run (BENCH_GDB_PARTS, BENCH_HUGE; see the module's text)."""
    chosen = [part.strip() for part in os.environ.get("BENCH_GDB_PARTS", "").split(",")
              if part.strip()]
    unknown = [part for part in chosen if part not in PARTS]
    if unknown:
        raise SystemExit("BENCH_GDB_PARTS: unknown part %s (the parts: %s)" % (
            ", ".join(unknown), ", ".join(PARTS)))
    parts = [part for part in PARTS if part in chosen] if chosen else list(PARTS)
    if os.environ.get("BENCH_HUGE", "1") == "0" and "10m" in parts:
        parts.remove("10m")
    return parts


def run(bench_build, build, repo, runs, log):
    binary = os.path.join(bench_build, "million_chunks")
    library, digest = snapshot_library(os.path.join(build, "libptmalloc.so"),
                                       os.path.join(bench_build, "lib"))
    library = os.path.abspath(library)
    gdb_runs = max(1, min(runs, 3))
    # The 100,000-chunk comparison is a few seconds a round; on that heap the extension's command
    # takes tens of milliseconds, where a busy machine's noise is largest, so it gets more rounds.
    small_heap_runs = max(1, min(runs, SMALL_HEAP_RUNS))
    parts = selected_parts()
    started = time.perf_counter()
    helper = os.path.join(build, "libptmalloc-heapwalk.so")
    result = {"library_sha256": digest, "runs": gdb_runs, "naive_heap_runs": small_heap_runs,
              "heap_chunks": BIG_HEAP, "parts": parts,
              "naive_heap_chunks": SMALL_HEAP, "targets": TARGETS, "failures": [],
              "native_helper": os.path.exists(helper)}
    if not result["native_helper"]:
        result["failures"].append("%s is missing: the extension ran in pure Python" % helper)
    if "10m" in parts:
        result["huge_heap_chunks"], result["huge_runs"] = HUGE_HEAP, gdb_runs
        result["huge_main_padding_mib"] = HUGE_MAIN_PADDING_MIB
    # The clone's results stay where they always were (commands, huge); glibc's go under
    # "glibc" with the same keys.
    for allocator in ALLOCATORS:
        where = result if allocator == "clone" else result.setdefault(allocator, {})
        preload = library if allocator == "clone" else None
        try:
            if "1m" in parts:
                where["commands"] = run_heap_commands(
                    bench_build, repo, binary, preload, gdb_runs, log, allocator,
                    with_extras=allocator == "clone" and "extras" in parts)[BIG_HEAP]
            if "10m" in parts:
                growth = run_heap_commands(
                    bench_build, repo, binary, preload, gdb_runs, log, allocator,
                    ((BIG_HEAP, 0), (HUGE_HEAP, HUGE_MAIN_PADDING_MIB)), with_extras=False)
                where["huge"], where["huge_beside"] = growth[HUGE_HEAP], growth[BIG_HEAP]
        except (RuntimeError, subprocess.SubprocessError, OSError) as error:
            result["failures"].append("%s: %s" % (allocator, error))
    if "extras" in parts:
        try:
            result["naive"] = run_naive_comparison(bench_build, repo, binary, library,
                                                   small_heap_runs, log)
        except (RuntimeError, subprocess.SubprocessError, OSError) as error:
            result["failures"].append(str(error))
    result["elapsed_seconds"] = time.perf_counter() - started
    return result


def format_table(result):
    lines = ["Extension over a %d-chunk heap (median of %d runs; targets: <= %.1f s, gdb peak "
             "<= %d MB, first line <= %.1f s; C walk helper: %s; *-python rows: without it)" % (
                 result["heap_chunks"], result["runs"], TARGETS["seconds"],
                 TARGETS["peak_rss_mb"], TARGETS["first_line_seconds"],
                 "yes" if result.get("native_helper") else "NO")]
    commands = result.get("commands", {})
    lines.append("%-22s %-6s %9s %9s %11s %12s  %s" % (
        "command", "from", "seconds", "cpu s", "first line", "gdb peak MB", "verdict"))
    for label, command, _out in COMMANDS + PURE_PYTHON_COMMANDS + MAP_COMMANDS:
        for source in ("core", "live"):
            entry = commands.get(source, {}).get(label)
            if not entry:
                continue
            if entry.get("error"):
                lines.append("%-22s %-6s %s" % (label, source, "n/a: " + entry["error"][:80]))
                continue
            lines.append("%-22s %-6s %9s %9s %11s %12s  %s" % (
                label, source, _num(entry["seconds"]), _num(entry["cpu_seconds"]),
                _num(entry["first_line_seconds"]),
                _num(entry["peak_rss_mb"], 0), _verdict(label, entry)))
    map_bytes = commands.get("map_bytes", {})
    if map_bytes:
        lines.append("heap map files of the %d-chunk heap: %s" % (result["heap_chunks"], ", ".join(
            "%s %.2f MB" % (label, size / 1e6) for label, size in sorted(map_bytes.items()))))
    naive_runs = [(result["naive_heap_chunks"], result.get("naive", {})),
                  (result["heap_chunks"], commands.get("naive", {}))]
    for chunks, naive in naive_runs:
        for source in ("core", "live"):
            entry = naive.get(source)
            if entry:
                lines.append(_naive_line(chunks, source, entry))
    for allocator in ALLOCATORS:
        where = result if allocator == "clone" else result.get(allocator, {})
        lines += _growth_lines(result, allocator, where.get("huge_beside", {}),
                               where.get("huge", {}))
    for failure in result.get("failures", []):
        lines.append("FAILED: " + failure)
    return "\n".join(lines)


def _growth_lines(result, allocator, beside, huge):
    """Each command's time on the huge heap, and the median of its rounds' ratios to the time on
    the big heap measured `beside` it."""
    lines = []
    for label, _command, _out in COMMANDS:
        for source in ("core", "live"):
            small = beside.get(source, {}).get(label) or {}
            entry = huge.get(source, {}).get(label)
            if not entry:
                continue
            if entry.get("error"):
                lines.append("%s %d chunks, %-14s %-5s n/a: %s" % (
                    allocator, result["huge_heap_chunks"], label, source, entry["error"][:80]))
                continue
            lines.append("%s %d chunks, %-14s %-5s %9s s (x%s of %s s on %d chunks), RssAnon %s MB"
                         % (allocator, result["huge_heap_chunks"], label, source,
                            _num(entry["seconds"]), _num(entry.get("paired_ratio"), 1),
                            _num(small.get("seconds")), result["heap_chunks"],
                            _num(entry.get("rss_anon_mb"), 0)))
    for heap in (beside, huge):
        if heap.get("recorded"):
            lines.append("%s: %s; %s" % (allocator, heap.get("check_verdict"),
                                         recorded_chunks.describe(heap["recorded"])))
    return lines


def _naive_line(chunks, source, entry):
    return ("naive per-field walk, %d-chunk heap, %s (median of %s; same histogram: %s): %s s "
            "(%s us/chunk) vs `heap chunks --summary` %s s (%s us/chunk): %sx faster, %sx in CPU "
            "time (target >= %dx)" % (
                chunks, source, entry.get("runs", "?"), "yes" if entry.get("same_result") else "NO",
                _num(entry["naive_seconds"]), _num(entry.get("naive_us_per_chunk"), 2),
                _num(entry["extension_seconds"]), _num(entry.get("extension_us_per_chunk"), 2),
                _num(entry["ratio"], 1), _num(entry.get("cpu_ratio"), 1),
                TARGETS["naive_ratio"]))


def _verdict(label, entry):
    if label == "baseline":
        return "(gdb with the target loaded, no command)"
    misses = []
    if entry["seconds"] is not None and entry["seconds"] > TARGETS["seconds"]:
        misses.append("slow")
    if entry["peak_rss_mb"] is not None and entry["peak_rss_mb"] > TARGETS["peak_rss_mb"]:
        misses.append("memory")
    if label == "chunks" and (entry["first_line_seconds"] or 0) > TARGETS["first_line_seconds"]:
        misses.append("first line late")
    return "MISSES: " + ", ".join(misses) if misses else "ok"


def _num(value, digits=3):
    return "-" if value is None else "%.*f" % (digits, value)
