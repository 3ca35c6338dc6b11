"""malloc_info, malloc_stats and mallinfo of the clone built as glibc 2.31 print exactly what the
real 2.31 prints: tests/stats/stats_scenarios.c built against 2.31 (without mallinfo2, new in
2.33), each scenario run plain under 2.31 and with build/libptmalloc-2.31.so preloaded, the two
reports compared byte for byte."""
import importlib.util
import pathlib
import subprocess

import pytest

TESTS = pathlib.Path(__file__).resolve().parents[1]
# The stats suites' runner, loaded under a name of its own (it is their conftest).
_spec = importlib.util.spec_from_file_location("stats_conftest", TESTS / "stats" / "conftest.py")
stats_suite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stats_suite)

VERSIONS = stats_suite.BUILD / "tests" / "versions"
SCENARIOS = VERSIONS / "stats_scenarios-2.31"
RELEASE_BUILDS = {"clone": stats_suite.BUILD / "libptmalloc-2.31.so",
                  "tls_peer": VERSIONS / "libtls_peer-2.31.so"}


def scenario_names():
    if not SCENARIOS.exists():
        return ["(stats_scenarios-2.31 not built: make test-versions)"]
    listing = subprocess.run([str(SCENARIOS), "--list"], capture_output=True, text=True,
                             check=False)
    return listing.stdout.split()


def first_difference(expected, actual):
    pairs = zip(expected.splitlines(), actual.splitlines())
    for number, (want, got) in enumerate(pairs, 1):
        if want != got:
            return "line %d: glibc %r / clone %r" % (number, want, got)
    return "glibc has %d lines, clone %d" % (len(expected.splitlines()), len(actual.splitlines()))


@pytest.mark.parametrize("scenario", scenario_names())
def test_reports_identical_to_glibc_2_31(scenario):
    glibc = stats_suite.run_program(SCENARIOS, [scenario], **RELEASE_BUILDS)
    clone = stats_suite.run_program(SCENARIOS, [scenario], preload=True, **RELEASE_BUILDS)
    assert glibc.returncode == 0, glibc.stderr.decode(errors="replace")
    assert clone.returncode == 0, "clone exited %d: %r" % (clone.returncode, clone.stderr[-500:])
    glibc_out, clone_out = glibc.stdout.decode(), clone.stdout.decode()
    glibc_err, clone_err = glibc.stderr.decode(), clone.stderr.decode()
    # The reports must really be there, and be 2.31's.
    assert '<malloc version="1">' in glibc_out and "Total (incl. mmap):" in glibc_err
    assert "mallinfo2:" not in glibc_out and "mallinfo: arena=" in glibc_out
    assert clone_out == glibc_out, "malloc_info/mallinfo: " + first_difference(glibc_out, clone_out)
    assert clone_err == glibc_err, "malloc_stats: " + first_difference(glibc_err, clone_err)
