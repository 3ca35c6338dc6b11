#!/usr/bin/env python3
"""The current tables of docs/performance.md, made from what `make bench` measured.

Reads build/bench/results.json (and build/bench/instructions.json when `make
bench-instructions` wrote it) and rewrites the part of the page between its two marker lines, so
the page always shows the numbers of the last run beside the method that produced them.  Commit
the page after a run worth keeping.

Usage: performance_tables.py BENCH_DIR PAGE"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import alloc_bench  # noqa: E402

BEGIN = "<!-- tables from build/bench/results.json: bench/performance_tables.py writes below -->"
END = "<!-- end of the generated tables -->"

# (key in a workload's row, what the table calls that way of running the clone)
ALLOCATOR_SIDES = (("clone", "preloaded"), ("linked", "linked in"))
EXTENSION_COMMANDS = (("heap", "`heap`"), ("chunks-summary", "`heap chunks --summary`"),
                      ("bins", "`heap bins`"), ("check", "`heap check`"),
                      ("chunks-json", "`heap chunks --json`"),
                      ("chunks", "`heap chunks` >/dev/null"),
                      ("map-html", "`heap map FILE.html`"), ("map-svg", "`heap map FILE.svg`"),
                      ("refs", "`heap refs ADDR`"), ("snapshot", "`heap snapshot NAME`"),
                      ("diff", "`heap diff NAME`"))
PURE_PYTHON_OF = {"chunks-summary": "chunks-summary-python", "check": "check-python"}


def number(value, digits=3):
    return "-" if value is None else "%.*f" % (digits, value)


def table(header, rows, right_from=1):
    """A Markdown table: the first `right_from` columns left-aligned, the rest right-aligned."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < right_from else "--:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line(results):
    machine = results.get("machine", {})
    load = machine.get("load_average") or []
    return ("Measured %s on %s (%s cores, %s MB), Linux %s, %s, %s, Python %s; load average at "
            "the start %s." % (results.get("when", "?"), machine.get("cpu", "?"),
                               machine.get("cores", "?"), machine.get("memory_mb", "?"),
                               machine.get("kernel", "?"), machine.get("libc", "?"),
                               machine.get("gdb", "?"), machine.get("python", "?"),
                               " / ".join("%.2f" % value for value in load) or "?"))


def allocator_section(allocator):
    rows = []
    for row in allocator["workloads"]:
        glibc = row["glibc"]
        for side, label in ALLOCATOR_SIDES:
            ratios = row if side == "clone" else row["linked_in"]
            ours = row[side]
            extra = ratios["extra_rss_kb"]
            rows.append([row["workload"] if side == "clone" else "", label,
                         number(glibc["wall_s"]), number(ours["wall_s"]),
                         number(ratios["ratio_wall"]), number(ratios["paired_ratio_wall"]),
                         number(ratios["ratio_cpu"]), number(ratios["paired_ratio_cpu"]),
                         "%d" % glibc["peak_rss_kb"], "%d" % ours["peak_rss_kb"],
                         number(ratios["ratio_peak_rss"]),
                         "-" if extra is None else "%+d" % round(extra)])
    header = ["workload", "clone", "glibc s", "clone s", "wall ratio", "paired", "cpu ratio",
              "paired", "glibc KB", "clone KB", "RSS ratio", "+KB"]
    text = ["### Allocator", "",
            "%d interleaved rounds%s; medians, the ratio of the medians, the median of the "
            "per-round ratios (paired) and the mean per-round peak-RSS difference (+KB)." % (
                allocator["runs"], "" if allocator.get("pinned_cpu") is None else
                ", single-threaded workloads pinned to CPU %d" % allocator["pinned_cpu"]),
            "", table(header, rows, right_from=2)]
    text += history_section(allocator)
    text += ["FAILED: " + failure for failure in allocator.get("failures", [])]
    return text


def history_section(allocator):
    """Allocation history on against off: the preloaded clone with PTMALLOC_HISTORY set, in the
    same rounds as the preloaded clone without it."""
    rows = alloc_bench.history_rows(allocator)
    if not rows:
        return []
    return ["", "Allocation history on (`PTMALLOC_HISTORY=%d`) against off, both preloaded, "
            "in the same rounds: the ratios are on/off." % alloc_bench.HISTORY_RING, "",
            table(list(alloc_bench.HISTORY_HEADER), rows)]


def instructions_section(rows):
    body = [[row["workload"], "{:,}".format(row["glibc"]), "{:,}".format(row["clone"]),
             number(row["ratio"]), "{:,}".format(row["linked"]), number(row["linked_ratio"])]
            for row in rows]
    return ["### Instructions", "",
            "valgrind's callgrind (`make bench-instructions`), independent of the machine's load.",
            "", table(["workload", "glibc", "preloaded", "ratio", "linked in", "ratio"], body)]


def extension_section(extension):
    commands = extension.get("commands", {})
    core, live = commands.get("core", {}), commands.get("live", {})

    def seconds(entry):
        return "-" if not entry or entry.get("error") else number(entry.get("seconds"), 2)

    rows = []
    for label, shown in EXTENSION_COMMANDS:
        pure = core.get(PURE_PYTHON_OF.get(label, ""), {})
        peak = (core.get(label) or {}).get("peak_rss_mb")
        rows.append([shown, seconds(core.get(label)), seconds(live.get(label)),
                     number(peak, 0), seconds(pure) if pure else ""])
    baseline = (core.get("baseline") or {}).get("peak_rss_mb")
    text = ["### Extension", "",
            "A %s-chunk heap (`bench/million_chunks`, 4 arenas, every bin kind), each command in "
            "a fresh gdb, median of %d; gdb alone with the target: %s MB; C walk helper: %s." % (
                "{:,}".format(extension["heap_chunks"]), extension["runs"], number(baseline, 0),
                "yes" if extension.get("native_helper") else "NO"),
            "", table(["%s chunks" % "{:,}".format(extension["heap_chunks"]), "core, s",
                       "live, s", "gdb peak MB", "pure Python, core, s"], rows)]
    map_bytes = commands.get("map_bytes") or {}
    if map_bytes:
        text += ["", "`heap map` of that heap: the HTML page (every chunk) is %s MB, the SVG "
                 "(chunks sharing a pixel merged, as its legend says) %s MB." % (
                     number(map_bytes.get("map-html", 0) / 1e6, 2),
                     number(map_bytes.get("map-svg", 0) / 1e6, 2))]
    naive_rows = []
    for chunks, naive in ((extension["naive_heap_chunks"], extension.get("naive", {})),
                          (extension["heap_chunks"], commands.get("naive", {}))):
        core_entry, live_entry = naive.get("core") or {}, naive.get("live") or {}
        if not core_entry and not live_entry:
            continue
        row = ["{:,} chunks".format(chunks)]
        for entry in (core_entry, live_entry):
            ratio = ("**%sx**" % number(entry.get("ratio"), 0) if entry.get("same_result")
                     else "(results differ)")
            row += [number(entry.get("naive_seconds")), number(entry.get("extension_seconds")),
                    ratio]
        naive_rows.append(row)
    parts = extension.get("parts")
    if parts and "extras" not in parts:
        text += ["", "This run measured only %s (`BENCH_GDB_PARTS`): the pure-Python column and "
                 "the naive comparison need `extras`." % ", ".join(parts)]
    if naive_rows:
        text += ["", "Against the naive per-field walk (`bench/naive_walk.py`), both sides in a "
                 "fresh gdb computing the same size/state histogram:", "",
                 table(["heap", "naive, core s", "extension, core s", "ratio", "naive, live s",
                        "extension, live s", "ratio"], naive_rows)]
    text += growth_section(extension)
    text += ["FAILED: " + failure for failure in extension.get("failures", [])]
    return text


def growth_section(extension):
    """The same commands on the heap ten times larger, made by the clone and by the system
    glibc, each round beside a big heap of its own: time on both heaps, the median of the rounds'
    ratios of the times, and gdb's anonymous memory on both."""
    if "huge_heap_chunks" not in extension:
        return []
    rows = []
    for label, shown in EXTENSION_COMMANDS:
        for allocator in ("clone", "glibc"):
            where = extension if allocator == "clone" else extension.get(allocator, {})
            big, huge = where.get("huge_beside", {}), where.get("huge", {})
            if not any(label in huge.get(source, {}) for source in ("core", "live")):
                continue  # not measured on the huge heap (heap map), or not at all
            row = [shown, allocator]
            for source in ("core", "live"):
                small = big.get(source, {}).get(label) or {}
                large = huge.get(source, {}).get(label) or {}
                row += [number(_good(small, "seconds"), 2), number(_good(large, "seconds"), 2),
                        "%s (%s)" % (number(_good(large, "paired_ratio"), 1),
                                     number(_good(large, "paired_cpu_ratio"), 1)),
                        "%s / %s" % (number(_good(small, "rss_anon_mb"), 0),
                                     number(_good(large, "rss_anon_mb"), 0))]
            rows.append(row)
    if not rows:
        return []
    big_name = "{:,}".format(extension["heap_chunks"])
    huge_name = "{:,}".format(extension["huge_heap_chunks"])
    rounds = extension.get("huge_runs", 1)
    return ["", "The same commands on a %s-chunk heap (the same sample), made by the clone and by "
            "the system glibc, each beside a %s-chunk heap of its own: in each of %d round%s a "
            "command runs on one heap and then on the other, in turn first. Seconds on each heap "
            "(medians), the median of the rounds' ratios (in brackets the same of gdb's CPU "
            "seconds, which another program's load moves less), and gdb's peak anonymous memory "
            "(RssAnon, MB) on each; the peak RSS above also counts the core file's pages, which "
            "are the kernel's page cache." % (huge_name, big_name, rounds,
                                               "" if rounds == 1 else "s"), "",
            table(["command", "allocator", "core %s s" % big_name, "core %s s" % huge_name,
                   "ratio", "core RssAnon MB", "live %s s" % big_name,
                   "live %s s" % huge_name, "ratio", "live RssAnon MB"], rows, right_from=2)] + \
        verdict_lines(extension)


def verdict_lines(extension):
    """What `heap check` said of each heap's core, and whether its `heap chunks --json` named
    every chunk the program recorded making (bench/recorded_chunks.py)."""
    lines = []
    for allocator in ("clone", "glibc"):
        where = extension if allocator == "clone" else extension.get(allocator, {})
        for key, chunks in (("huge_beside", extension["heap_chunks"]),
                            ("huge", extension["huge_heap_chunks"])):
            heap = where.get(key) or {}
            recorded = heap.get("recorded")
            if not recorded:
                continue
            listed = recorded["made"] - recorded["missing"] - recorded["wrong_size"]
            lines.append("- %s, %s chunks: `%s`; `heap chunks --json` lists %s of the %s chunks "
                         "the program made (%s rows in all)" % (
                             allocator, "{:,}".format(chunks), heap.get("check_verdict"),
                             "{:,}".format(listed), "{:,}".format(recorded["made"]),
                             "{:,}".format(recorded["rows"])))
    return ["", "Read right (the core of each heap):", ""] + lines if lines else []


def _good(entry, key):
    return None if not entry or entry.get("error") else entry.get(key)


SECTION_TITLES = ("### Allocator", "### Instructions", "### Extension")
# The line under a section a partial run kept from the page: when it was measured.
KEPT_NOTE = "Kept from an earlier run (this one did not measure it), measured %s."
KEPT_PREFIX = KEPT_NOTE.split("(")[0]


def old_sections(generated):
    """{title line: the section's lines} of the tables the page holds now, each section
    noting when it was measured (KEPT_NOTE) unless it already does."""
    sections = {}
    current = None
    when = "?"
    for line in generated.splitlines():
        if line.startswith("Measured ") and current is None:
            when = line[len("Measured "):].split(" on ", 1)[0]
        elif line in SECTION_TITLES:
            current = sections[line] = [line]
        elif current is not None:
            current.append(line)
    for lines in sections.values():
        while lines and not lines[-1].strip():
            lines.pop()
        if not any(line.startswith(KEPT_PREFIX) for line in lines[1:3]):
            lines[1:1] = ["", KEPT_NOTE % when]
    return sections


def tables(results, instructions, old=None):
    """The generated part of the page; a section this run has no results for (a partial run:
    `make bench-gdb` alone, or no instructions counted) keeps the page's current one from
    `old` ({title: lines})."""
    old = old or {}
    text = [machine_line(results)]
    made = {
        "### Allocator": allocator_section(results["allocator"]) if "allocator" in results
        else None,
        "### Instructions": instructions_section(instructions) if instructions else None,
        "### Extension": extension_section(results["extension"]) if "extension" in results
        else None,
    }
    for title in SECTION_TITLES:
        section = made[title] or old.get(title)
        if section:
            text += [""] + section
    return "\n".join(text)


def load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[-1])
    bench_dir, page = sys.argv[1:]
    results = load(os.path.join(bench_dir, "results.json")) or {}
    instructions = load(os.path.join(bench_dir, "instructions.json"))
    if not results and not instructions:
        sys.exit("performance_tables: no results in %s (run make bench)" % bench_dir)
    with open(page, encoding="utf-8") as handle:
        text = handle.read()
    if BEGIN not in text or END not in text:
        sys.exit("performance_tables: %s lacks the marker lines" % page)
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    generated = tables(results, instructions, old_sections(current))
    with open(page, "w", encoding="utf-8") as handle:
        handle.write(head + BEGIN + "\n" + generated + "\n" + END + tail)
    print("performance tables: %s" % page)


if __name__ == "__main__":
    main()
