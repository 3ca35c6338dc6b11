"""Where the clone's extra memory goes: runs one program several times plain and with the clone
preloaded, stopping each run on its way out (run_measured --smaps) to record which pages of which
mapping are present, and prints the mean resident KB per mapping kind and, for the shared
libraries, per ELF section, glibc run against clone run.

The layout of every run is randomised (ASLR), and the kernel's fault-around maps file pages in
windows aligned to virtual addresses, so one pair of runs can differ by 100 KB either way; the
means over --runs runs are what to compare.

Usage: rss_breakdown.py [--runs N] [--build DIR] PROGRAM [ARG...]"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$")
PAGE = 4096


def read_present_pages(path):
    """[(start, perms, file offset, name, presence string)] from run_measured's FILE.pages."""
    mappings = []
    with open(path) as handle:
        lines = handle.read().splitlines()
    for header, bits in zip(lines[0::2], lines[1::2]):
        match = MAPPING.match(header)
        start, _end, perms, offset, name = match.groups()
        mappings.append((int(start, 16), perms, int(offset, 16), name or "[anon]", bits))
    return mappings


def elf_sections(path):
    """[(file offset, size, name)] of a shared object's allocated sections, from readelf."""
    sections = []
    text = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
    for line in text.splitlines():
        match = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)"
                         r"\s+\S+\s+(\S*)", line)
        if match and "A" in match.group(4):
            sections.append((int(match.group(2), 16), int(match.group(3), 16), match.group(1)))
    return sections


def section_of(sections, file_offset):
    names = [name for offset, size, name in sections
             if offset // PAGE <= file_offset // PAGE <= (offset + max(size, 1) - 1) // PAGE]
    return "+".join(names) if names else "(between sections)"


def kind_of(name, perms):
    base = os.path.basename(name) if name.startswith("/") else name
    if not name.startswith("/"):
        return base
    return "%s %s" % (base, perms)


def account(mappings, totals, by_section, section_cache):
    for start, perms, offset, name, bits in mappings:
        kind = kind_of(name, perms)
        totals[kind] += bits.count("1") * PAGE // 1024
        if name.startswith("/") and name.endswith(".so") or ".so." in name:
            if name not in section_cache:
                section_cache[name] = elf_sections(name)
            for index, bit in enumerate(bits):
                if bit == "1":
                    where = section_of(section_cache[name], offset + index * PAGE)
                    by_section[(os.path.basename(name), perms, where)] += PAGE // 1024


def measure(launcher, argv, preload, runs, folder):
    totals, by_section, cache = collections.Counter(), collections.Counter(), {}
    peaks = []
    for number in range(runs):
        smaps = os.path.join(folder, "run%d.smaps" % number)
        report = os.path.join(folder, "report")
        command = [launcher] + (["--preload", preload] if preload else []) + [
            "--smaps", smaps, report] + argv
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        with open(report) as handle:
            peaks.append(int(handle.read().split()[2]))
        account(read_present_pages(smaps + ".pages"), totals, by_section, cache)
    scale = 1.0 / runs
    return ({k: v * scale for k, v in totals.items()},
            {k: v * scale for k, v in by_section.items()}, sum(peaks) * scale)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"))
    parser.add_argument("argv", nargs="+")
    args = parser.parse_args()
    launcher = os.path.join(args.build, "bench", "run_measured")
    library = os.path.abspath(os.path.join(args.build, "libptmalloc.so"))
    with tempfile.TemporaryDirectory(prefix="rss-breakdown-") as folder:
        plain = measure(launcher, args.argv, None, args.runs, folder)
        clone = measure(launcher, args.argv, library, args.runs, folder)
    print("mean KB present at exit over %d runs each; peak RSS (ru_maxrss) glibc %.0f, clone "
          "%.0f, difference %+.0f KB" % (args.runs, plain[2], clone[2], clone[2] - plain[2]))
    print("%-40s %10s %10s %8s" % ("mapping", "glibc", "clone", "diff"))
    for kind in sorted(set(plain[0]) | set(clone[0])):
        a, b = plain[0].get(kind, 0), clone[0].get(kind, 0)
        if a or b:
            print("%-40s %10.1f %10.1f %+8.1f" % (kind, a, b, b - a))
    print("%-40s %10.1f %10.1f %+8.1f" % ("total", sum(plain[0].values()),
                                          sum(clone[0].values()),
                                          sum(clone[0].values()) - sum(plain[0].values())))
    print("\nshared objects by section (rows that differ by 2 KB or more):")
    for key in sorted(set(plain[1]) | set(clone[1])):
        a, b = plain[1].get(key, 0), clone[1].get(key, 0)
        if abs(b - a) >= 2:
            print("%-18s %4s %-34s %8.1f %8.1f %+8.1f" % (key + (a, b, b - a)))


if __name__ == "__main__":
    sys.exit(main())
