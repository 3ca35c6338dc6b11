"""Staged heap corruptions: glibc 2.36 and the clone must both die of SIGABRT with the same
message on stderr."""
import signal
import subprocess

import pytest

import difftools


def scenario_names():
    if not difftools.CORRUPT.exists():
        return ["<corrupt not built>"]
    listing = subprocess.run([str(difftools.CORRUPT), "--list"], stdout=subprocess.PIPE, check=True)
    return listing.stdout.decode().split()


@pytest.mark.parametrize("scenario", scenario_names())
def test_corruption_aborts_like_glibc(scenario):
    plain = difftools.run([str(difftools.CORRUPT), scenario], preload=False)
    cloned = difftools.run([str(difftools.CORRUPT), scenario], preload=True)
    glibc_message = plain.stderr.decode(errors="replace")
    clone_message = cloned.stderr.decode(errors="replace")
    assert plain.returncode == -signal.SIGABRT, (
        f"glibc itself did not abort ({plain.returncode}): {plain.stdout!r} {glibc_message!r}")
    assert cloned.returncode == -signal.SIGABRT, (
        f"clone ended with status {cloned.returncode} instead of SIGABRT; "
        f"stdout {cloned.stdout.decode(errors='replace')!r}, stderr {clone_message!r}; "
        f"glibc said {glibc_message!r}")
    assert clone_message == glibc_message, difftools.first_difference(glibc_message, clone_message)
