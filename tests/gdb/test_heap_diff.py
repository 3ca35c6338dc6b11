"""`heap snapshot` and `heap diff` against what a leaking program did: leaky_loop.c leaks at one
site on every turn of its loop, also frees and reallocs what it keeps, and at each of its two
stops writes down every block it holds (address, usable size, site).  Between the stops, the
diff's allocated, freed and resized chunks must be what those two records say, live (two stops
of one session) and from two gcore'd cores compared in a later session, on glibc and on the
clone.  A stand-in for the allocation history (sites from the program's own record) shows the
text grouped by site, the leak first."""

import json
import os
import re
import stat
import subprocess

import pytest

from conftest import GDB, LOADER, REPO, marked, run_gdb, sections
from json_contract import checked
from sample_records import held_blocks

SOURCE = os.path.join(REPO, "tests", "gdb", "leaky_loop.c")
CLONE = os.path.join(os.environ.get("PTM_BUILD", os.path.join(REPO, "build")), "libptmalloc.so")
LEAKS_BETWEEN_STOPS = 40
LEAK_SIZE = 48

# Sites from the program's record of the stop, as the allocation history will give them.
FAKE_SITES = """python
import ptmalloc.model.chunk_table as table
def _sites(addresses, _sizes, path=%r):
    site = {}
    for line in open(path):
        address, _usable, name = line.split()[:3]
        site[int(address, 16) - 16] = name
    return [site.get(address) for address in addresses]
table.site_provider = _sites
end"""


def _sections(argv, cwd):
    """The marked outputs of one gdb run, which must hold no traceback."""
    output = run_gdb(argv, cwd)
    assert "Traceback" not in output, output
    return sections(output)


def _held(path):
    """{chunk header: (size, site)} of what the program held at one stop."""
    return {address: (size, site) for address, (size, site, _block) in held_blocks(path).items()}


def _runs(tmp_path, preload):
    program = str(tmp_path / "leaky_loop")
    subprocess.run(["gcc", "-g", "-O0", "-fno-builtin", "-o", program, SOURCE], check=True)
    record = str(tmp_path / "held")
    head = [GDB, "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "source " + LOADER,
            "-ex", "set heap snapshot-directory " + str(tmp_path / "snapshots")]
    live = head + (["-ex", "set environment LD_PRELOAD=" + CLONE] if preload else [])
    live += ["-ex", "break leaky_loop_stop", "-ex", "run " + record]
    steps = [("first", "heap snapshot first"), ("gcore1", "gcore " + str(tmp_path / "1.core")),
             ("run", "continue"), ("second", "heap snapshot second --json"),
             ("gcore2", "gcore " + str(tmp_path / "2.core")),
             ("json", "heap diff first second --json"), ("now", "heap diff first --json"),
             ("text", "heap diff first second")]
    for command in marked(steps):
        live += ["-ex", command]
    live_parts = _sections(live + [program], str(tmp_path))
    provider = []
    for number in (1, 2):
        provider.append(str(tmp_path / ("sites%d.gdb" % number)))
        with open(provider[-1], "w", encoding="utf-8") as handle:
            handle.write(FAKE_SITES % (record + str(number)))
    dead = head + ["-ex", "file " + program, "-ex", "core-file " + str(tmp_path / "1.core"),
                   "-ex", "source " + provider[0]]
    dead_steps = [("a", "heap snapshot %s" % (tmp_path / "a.json"))]
    dead += sum((["-ex", c] for c in marked(dead_steps)), [])
    dead += ["-ex", "core-file " + str(tmp_path / "2.core"), "-ex", "source " + provider[1]]
    # a.json as if taken of another program
    other = tmp_path / "other.json"
    dead += ["-ex", "python import json; d = json.load(open(%r)); d['inferior']['program'] = "
             "'/usr/bin/other'; json.dump(d, open(%r, 'w'))"
             % (str(tmp_path / "a.json"), str(other))]
    dead_steps = [("b", "heap snapshot %s" % (tmp_path / "b.json")),
                  ("json", "heap diff %s %s --json" % (tmp_path / "a.json", tmp_path / "b.json")),
                  ("text", "heap diff %s %s" % (tmp_path / "a.json", tmp_path / "b.json")),
                  ("missing", "heap diff nothing-here first"),
                  ("other", "heap diff %s %s --json" % (tmp_path / "a.json", other)),
                  ("not_a_snapshot", "heap diff %s" % program),
                  ("not_a_file", "heap snapshot %s" % (tmp_path / "pipe.json"))]
    os.mkfifo(tmp_path / "pipe.json")
    dead += sum((["-ex", c] for c in marked(dead_steps)), [])
    core_parts = _sections(dead, str(tmp_path))
    return {"live": live_parts, "core": core_parts}, _held(record + "1"), _held(record + "2")


@pytest.fixture(scope="module", params=["glibc", "clone"])
def leaky(request, tmp_path_factory):
    return _runs(tmp_path_factory.mktemp("diff-" + request.param), request.param == "clone")


def _expected(before, after, sites):
    """(allocated, freed, resized) as sets of (address, size[, new size], site or None), from
    the program's records: matched by address; with sites, a block held at both stops under
    another site was freed and another allocated there."""
    def site(entry):
        return entry[1] if sites else None
    allocated = {(a, size, site((size, s))) for a, (size, s) in after.items() if a not in before}
    freed = {(a, size, site((size, s))) for a, (size, s) in before.items() if a not in after}
    resized = set()
    for address in set(before) & set(after):
        (old, old_site), (new, new_site) = before[address], after[address]
        if sites and old_site != new_site:
            freed.add((address, old, old_site))
            allocated.add((address, new, new_site))
        elif old != new:
            resized.add((address, old, new, site((new, new_site))))
    return allocated, freed, resized


@pytest.mark.parametrize("source,command", [("live", "json"), ("live", "now"), ("core", "json")])
def test_diff_is_what_the_program_did(leaky, source, command):
    parts, before, after = leaky
    diff = checked("heap diff --json", json.loads(parts[source][command].splitlines()[-1]))
    sites = source == "core"
    allocated, freed, resized = _expected(before, after, sites)
    assert {(e["address"], e["size"], e["site"]) for e in diff["allocated"]} == allocated
    assert {(e["address"], e["size"], e["site"]) for e in diff["freed"]} == freed
    assert {(e["address"], e["old_size"], e["size"], e["site"])
            for e in diff["resized"]} == resized
    assert len(diff["allocated"]) == len(allocated) and diff["complete"]
    # The program really did all three between its stops.
    assert allocated and freed and resized


def test_text_groups_by_site_with_the_leak_first(leaky):
    parts, before, after = leaky
    lines = parts["core"]["text"].splitlines()
    allocated, _freed, _resized = _expected(before, after, True)
    assert lines[0].startswith("heap diff ") and "%d allocated" % len(allocated) in lines[0]
    assert "allocated, by site:" in lines
    # Every turn leaks one block: the group of the leak's site counts them and their bytes.
    leak_bytes = sum(entry[1] for entry in allocated if entry[2] == "leak")
    leak_line = [line for line in lines if line.split()[-1:] == ["leak"]][0]
    assert leak_line.split()[:2] == [str(LEAKS_BETWEEN_STOPS), str(leak_bytes)]


def test_text_by_size_without_sites(leaky):
    parts, before, after = leaky
    text = parts["live"]["text"]
    assert "allocated, by size:" in text and "resized, by size:" in text
    allocated, _freed, _resized = _expected(before, after, False)
    of_leak_size = sum(1 for entry in allocated if entry[1] == LEAK_SIZE)
    leak_group = [line for line in text.splitlines() if line.split()[-1:] == ["%#x" % LEAK_SIZE]]
    assert leak_group[0].split()[:2] == [str(of_leak_size), str(of_leak_size * LEAK_SIZE)]


def test_diff_warns_of_two_programs(leaky):
    parts, _before, _after = leaky
    same = checked("heap diff --json", json.loads(parts["core"]["json"].splitlines()[-1]))
    assert same["warnings"] == []
    other = checked("heap diff --json", json.loads(parts["core"]["other"].splitlines()[-1]))
    [warning] = other["warnings"]
    assert re.fullmatch(r"\S+/a\.json is of the program leaky_loop and \S+/other\.json of other: "
                        r"chunks are matched by address, which means nothing across two programs",
                        warning), warning


def test_snapshot_errors_are_one_line(leaky):
    parts, _before, _after = leaky
    assert parts["core"]["missing"].startswith("heap: no snapshot ")
    assert "nothing-here.json" in parts["core"]["missing"]
    assert parts["core"]["not_a_snapshot"].startswith("heap: cannot read the snapshot ")
    # A path that is there and is no file (a pipe, a device) is refused and left as it is.
    refused = re.fullmatch(r"heap: cannot write the snapshot (\S+/pipe\.json): it is not a "
                           r"regular file", parts["core"]["not_a_file"])
    assert refused and stat.S_ISFIFO(os.stat(refused.group(1)).st_mode)
    saved = checked("heap snapshot --json", json.loads(parts["live"]["second"].splitlines()[-1]))
    assert saved["complete"] and saved["path"].endswith("second.json")


def _source_line(text):
    """The line of leaky_loop.c holding `text`."""
    with open(SOURCE, encoding="utf-8") as handle:
        return [number for number, line in enumerate(handle, 1) if text in line][0]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Two cores of leaky_loop run on the clone with its allocation history on, snapshotted and
    compared in a later session with no stand-in: the sites come from the ring in each core."""
    folder = tmp_path_factory.mktemp("diff-history")
    program, record = str(folder / "leaky_loop"), str(folder / "held")
    subprocess.run(["gcc", "-g", "-O0", "-fno-builtin", "-o", program, SOURCE], check=True)
    head = [GDB, "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "source " + LOADER]
    live = head + ["-ex", "set environment LD_PRELOAD=" + CLONE,
                   "-ex", "set environment PTMALLOC_HISTORY=65536",
                   "-ex", "break leaky_loop_stop", "-ex", "run " + record,
                   "-ex", "gcore " + str(folder / "1.core"), "-ex", "continue",
                   "-ex", "gcore " + str(folder / "2.core"), "-ex", "kill", program]
    run_gdb(live, str(folder))
    dead = head + ["-ex", "file " + program]
    for name in ("1", "2"):
        dead += ["-ex", "core-file " + str(folder / (name + ".core"))] + sum(
            (["-ex", c] for c in marked([(name, "heap snapshot %s" % (folder / name))])), [])
    dead += sum((["-ex", c] for c in marked([
        ("json", "heap diff %s %s --json" % (folder / "1", folder / "2")),
        ("text", "heap diff %s %s" % (folder / "1", folder / "2"))])), [])
    return _sections(dead, str(folder)), held_blocks(record + "1"), held_blocks(record + "2")


def test_diff_names_the_leaking_site_from_the_history(recorded):
    parts, before, after = recorded
    diff = checked("heap diff --json", json.loads(parts["json"].splitlines()[-1]))
    leak_site = "leaky_loop.c:%d (leak_site)" % _source_line("void *leaked = malloc(40);")
    turn_sites = {"leaky_loop.c:%d (turn)" % _source_line(text)
                  for text in ("void *kept = malloc(size);", "realloc(held[index].pointer")}
    # The chunks changed as the program says, block by block: a block freed and another
    # allocated at its address (the record numbers them apart) is a free and an allocation even
    # from the same line, which the history's sequence numbers tell apart.
    assert {(e["address"], e["size"]) for e in diff["allocated"]} == \
        {(address, size) for address, (size, _site, block) in after.items()
         if before.get(address, (0, None, None))[2] != block}
    assert {(e["address"], e["size"]) for e in diff["freed"]} == \
        {(address, size) for address, (size, _site, block) in before.items()
         if after.get(address, (0, None, None))[2] != block}
    assert {(e["address"], e["old_size"], e["size"]) for e in diff["resized"]} == \
        {(address, before[address][0], size) for address, (size, _site, block) in after.items()
         if address in before and before[address][2] == block and before[address][0] != size}
    # The program really reused an address for another block between its stops.
    assert any(before[address][2] != after[address][2] for address in set(before) & set(after))
    # Each leak made between the stops is named by the leak's own line; every other block the
    # program allocated between them by one of turn()'s two calls.
    old_blocks = {entry[2] for entry in before.values()}
    leaks = {address for address, (_size, site, block) in after.items()
             if site == "leak" and block not in old_blocks}
    assert len(leaks) == LEAKS_BETWEEN_STOPS
    for entry in diff["allocated"] + diff["resized"]:
        site = entry["site"] or ""
        if entry["address"] in leaks:
            assert site.endswith(leak_site), entry
        else:
            assert any(site.endswith(turn) for turn in turn_sites), entry
    # The text groups them: the leak's line counts every leak and its bytes.
    leak_line = [line for line in parts["text"].splitlines() if line.endswith(leak_site)][0]
    leak_bytes = sum(after[address][0] for address in leaks)
    assert leak_line.split()[:2] == [str(LEAKS_BETWEEN_STOPS), str(leak_bytes)]
