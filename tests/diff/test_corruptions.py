"""Staged heap corruptions: glibc 2.36 and the clone must both die of SIGABRT with the same
message on stderr.  Under PTM_GLIBC=2.31 some of them are not caught (no safe-linking, an
unbounded double-free scan): the clone must then end exactly as 2.31 does, caught or not."""
import signal
import subprocess

import pytest

import difftools


def scenario_names():
    if not difftools.CORRUPT.exists():
        return ["<corrupt not built>"]
    listing = subprocess.run([str(difftools.CORRUPT), "--list"], stdout=subprocess.PIPE, check=True)
    return listing.stdout.decode().split()


# Scenarios a release cannot run to an end: 2.31's double-free scan follows the staged cycle
# forever.
ENDLESS = {"2.31": {"tcache_scan_too_long"}}


@pytest.mark.parametrize("scenario", scenario_names())
def test_corruption_aborts_like_glibc(scenario):
    if scenario in ENDLESS.get(difftools.RELEASE, ()):
        pytest.skip(f"glibc {difftools.RELEASE} never finishes {scenario}")
    plain = difftools.run([str(difftools.CORRUPT), scenario], preload=False, timeout=30)
    cloned = difftools.run([str(difftools.CORRUPT), scenario], preload=True, timeout=30)
    glibc_message = plain.stderr.decode(errors="replace")
    clone_message = cloned.stderr.decode(errors="replace")
    if difftools.SYSTEM_RELEASE:
        assert plain.returncode == -signal.SIGABRT, (
            f"glibc itself did not abort ({plain.returncode}): {plain.stdout!r} {glibc_message!r}")
    assert cloned.returncode == plain.returncode, (
        f"clone ended with status {cloned.returncode} instead of {plain.returncode}; "
        f"stdout {cloned.stdout.decode(errors='replace')!r}, stderr {clone_message!r}; "
        f"glibc said {plain.stdout.decode(errors='replace')!r} {glibc_message!r}")
    assert clone_message == glibc_message, difftools.first_difference(glibc_message, clone_message)
    assert cloned.stdout == plain.stdout, difftools.first_difference(plain.stdout, cloned.stdout)
