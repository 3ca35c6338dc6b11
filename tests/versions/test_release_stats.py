"""malloc_info, malloc_stats and mallinfo (mallinfo2 from 2.33) of the clone built as another glibc
release print exactly what that real release prints: tests/stats/stats_scenarios.c built against
the release, each scenario run plain under it and with build/libptmalloc-RELEASE.so preloaded,
the two reports compared byte for byte.  PTM_STATS_RELEASES names the releases (2.31 by default,
in `make test-versions`; `make test-diff-2.41` runs 2.41's)."""
import importlib.util
import os
import pathlib
import subprocess

import pytest

TESTS = pathlib.Path(__file__).resolve().parents[1]
# The stats suites' runner, loaded under a name of its own (it is their conftest).
_spec = importlib.util.spec_from_file_location("stats_conftest", TESTS / "stats" / "conftest.py")
stats_suite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stats_suite)

VERSIONS = stats_suite.BUILD / "tests" / "versions"
RELEASES = os.environ.get("PTM_STATS_RELEASES", "2.31").split()


def scenarios_of(release):
    return VERSIONS / f"stats_scenarios-{release}"


def builds_of(release):
    return {"clone": stats_suite.BUILD / f"libptmalloc-{release}.so",
            "tls_peer": VERSIONS / f"libtls_peer-{release}.so"}


def cases():
    for release in RELEASES:
        program = scenarios_of(release)
        if not program.exists():
            yield pytest.param(release, None, id=f"{release}-not-built")
            continue
        listing = subprocess.run([str(program), "--list"], capture_output=True, text=True, check=False)
        for scenario in listing.stdout.split():
            yield pytest.param(release, scenario, id=f"{release}-{scenario}")


def first_difference(expected, actual):
    pairs = zip(expected.splitlines(), actual.splitlines())
    for number, (want, got) in enumerate(pairs, 1):
        if want != got:
            return "line %d: glibc %r / clone %r" % (number, want, got)
    return "glibc has %d lines, clone %d" % (len(expected.splitlines()), len(actual.splitlines()))


@pytest.mark.parametrize("release,scenario", cases())
def test_reports_identical_to_the_release(release, scenario):
    if scenario is None:
        pytest.fail(f"{scenarios_of(release)} not built: make test-versions", pytrace=False)
    program = scenarios_of(release)
    glibc = stats_suite.run_program(program, [scenario], **builds_of(release))
    clone = stats_suite.run_program(program, [scenario], preload=True, **builds_of(release))
    assert glibc.returncode == 0, glibc.stderr.decode(errors="replace")
    assert clone.returncode == 0, "clone exited %d: %r" % (clone.returncode, clone.stderr[-500:])
    glibc_out, clone_out = glibc.stdout.decode(), clone.stdout.decode()
    glibc_err, clone_err = glibc.stderr.decode(), clone.stderr.decode()
    # The reports must really be there, and be the release's (mallinfo2 from 2.33).
    assert '<malloc version="1">' in glibc_out and "Total (incl. mmap):" in glibc_err
    if release < "2.33":
        assert "mallinfo2:" not in glibc_out and "mallinfo: arena=" in glibc_out
    else:
        assert "mallinfo2:" in glibc_out
    assert clone_out == glibc_out, "malloc_info/mallinfo: " + first_difference(glibc_out, clone_out)
    assert clone_err == glibc_err, "malloc_stats: " + first_difference(glibc_err, clone_err)
