"""malloc_info, malloc_stats, mallinfo2 and mallinfo must print exactly what glibc 2.36 prints for
the same deterministic program: each scenario runs plain and with the clone preloaded, and the two
reports are compared byte for byte."""
import pathlib
import re
import subprocess

import pytest

from conftest import PROGRAMS, run_program

SCENARIOS = PROGRAMS / "stats_scenarios"


def scenario_names():
    listing = subprocess.run([str(SCENARIOS), "--list"], capture_output=True, text=True, check=False)
    return listing.stdout.split() or ["(stats_scenarios not built)"]


def first_difference(expected, actual):
    for number, (want, got) in enumerate(zip(expected.splitlines(), actual.splitlines()), 1):
        if want != got:
            return f"line {number}: glibc {want!r} / clone {got!r}"
    return f"glibc has {len(expected.splitlines())} lines, clone {len(actual.splitlines())}"


@pytest.mark.parametrize("scenario", scenario_names())
def test_reports_identical_to_glibc(scenario):
    glibc = run_program(SCENARIOS, [scenario])
    clone = run_program(SCENARIOS, [scenario], preload=True)
    assert glibc.returncode == 0, glibc.stderr.decode(errors="replace")
    assert clone.returncode == 0, f"clone exited {clone.returncode}: {clone.stderr[-500:]!r}"
    glibc_out, clone_out = glibc.stdout.decode(), clone.stdout.decode()
    glibc_err, clone_err = glibc.stderr.decode(), clone.stderr.decode()
    # Guard against a vacuous pass: the reports must really be there.
    assert "<malloc version=\"1\">" in glibc_out and "Total (incl. mmap):" in glibc_err
    assert clone_out == glibc_out, "malloc_info/mallinfo2: " + first_difference(glibc_out, clone_out)
    assert clone_err == glibc_err, "malloc_stats: " + first_difference(glibc_err, clone_err)


def test_checked_sample_has_two_arenas():
    """The thread of the fact-sheet sample must leave its arena in both reports."""
    clone = run_program(SCENARIOS, ["checked-sample"], preload=True)
    assert clone.returncode == 0
    assert re.findall(r'<heap nr="(\d+)">', clone.stdout.decode()) == ["0", "1"]
    assert "Arena 1:" in clone.stderr.decode()


def test_malloc_info_rejects_options():
    """Any non-zero options argument is EINVAL before anything is written."""
    probe = PROGRAMS / "tunables_probe"
    glibc = run_program(probe, ["--malloc-info-options"])
    clone = run_program(probe, ["--malloc-info-options"], preload=True)
    assert glibc.stdout == clone.stdout
    assert b"malloc_info(1) = 22, wrote 0 bytes" in clone.stdout


TUNED_ENVIRONMENTS = {
    "no-tcache": "glibc.malloc.tcache_count=0",
    "no-fastbins": "glibc.malloc.mxfast=0",
    "tight-top": "glibc.malloc.top_pad=0:glibc.malloc.trim_threshold=0",
    "low-mmap-threshold": "glibc.malloc.mmap_threshold=1024:glibc.malloc.mmap_max=40",
    "perturbed": "glibc.malloc.perturb=51:glibc.malloc.tcache_max=200",
    "single-arena": "glibc.malloc.arena_max=1",
    # hugetlb=1 is left out: where the break lands against a 2 MiB boundary depends on ASLR.
    "explicit-hugepages": "glibc.malloc.hugetlb=2",
}


@pytest.mark.parametrize("tuning", TUNED_ENVIRONMENTS)
@pytest.mark.parametrize("scenario", ["bins", "largebins", "trim", "random", "checked-sample"])
def test_reports_identical_under_tunables(scenario, tuning):
    """The same comparison with the heap shaped by tunables, which changes every figure."""
    env = {"PATH": "/usr/bin:/bin", "GLIBC_TUNABLES": TUNED_ENVIRONMENTS[tuning]}
    glibc = run_program(SCENARIOS, [scenario], env=env)
    clone = run_program(SCENARIOS, [scenario], preload=True, env=env)
    assert glibc.returncode == 0 and clone.returncode == 0, clone.stderr[-500:]
    glibc_out, clone_out = glibc.stdout.decode(), clone.stdout.decode()
    assert clone_out == glibc_out, "malloc_info/mallinfo2: " + first_difference(glibc_out, clone_out)
    assert clone.stderr == glibc.stderr, "malloc_stats: " + first_difference(glibc.stderr.decode(),
                                                                             clone.stderr.decode())


@pytest.mark.parametrize("scenario", ["bins", "largebins", "trim", "random"])
def test_reports_identical_with_transparent_hugepages(scenario):
    """glibc.malloc.hugetlb=1 rounds each sbrk so the break lands on a huge-page boundary: where
    that is depends on the randomised start of the heap, so both runs go without randomisation."""
    env = {"PATH": "/usr/bin:/bin", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
    setarch = pathlib.Path("/usr/bin/setarch")
    arguments = ["-R", str(SCENARIOS), scenario]
    glibc = run_program(setarch, arguments, env=env)
    clone = run_program(setarch, arguments, preload=True, env=env)
    assert glibc.returncode == 0 and clone.returncode == 0, clone.stderr[-500:]
    glibc_out, clone_out = glibc.stdout.decode(), clone.stdout.decode()
    assert clone_out == glibc_out, "malloc_info/mallinfo2: " + first_difference(glibc_out, clone_out)
