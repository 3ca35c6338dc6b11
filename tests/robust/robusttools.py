"""Where the robustness programs live and how to run one on each allocator.

Three allocators: the system glibc 2.36 (the oracle), the clone preloaded, and the clone built with
UBSan (no recovery: undefined behaviour in the allocator's C is a crash with a `runtime error`
line).  Every run checks on stderr which shared object really answered malloc, so a preload that
failed to load cannot turn a comparison into glibc against itself.
"""
import os
import pathlib
import subprocess

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("PTM_BUILD", REPO_ROOT / "build"))
ROBUST_BIN = BUILD / "robust"
ATTACK_BIN = BUILD / "samples" / "attacks"

ALLOCATORS = {
    "glibc": None,
    "clone": BUILD / "libptmalloc.so",
    "clone-ubsan": BUILD / "ubsan" / "libptmalloc.so",
}
EXPECTED_PROVIDER = {"glibc": "libc.so.6", "clone": "libptmalloc.so",
                     "clone-ubsan": "libptmalloc.so"}

_ALLOCATOR_VARIABLES = ("GLIBC_TUNABLES", "LD_PRELOAD", "MALLOC_CHECK_", "MALLOC_PERTURB_",
                        "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                        "MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST")


def environment(allocator):
    env = {k: v for k, v in os.environ.items() if k not in _ALLOCATOR_VARIABLES}
    env["LC_ALL"] = "C"
    env["LIBC_FATAL_STDERR_"] = "1"
    # A sanitizer report must end the process with a recognisable status, never be swallowed.
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    library = ALLOCATORS[allocator]
    if library is not None:
        env["LD_PRELOAD"] = str(library)
    return env


def program(name, folder=ROBUST_BIN):
    path = folder / name
    if not path.exists():
        pytest.fail("not built: %s (run make)" % path, pytrace=False)
    return path


def run(allocator, argv, timeout=300):
    """Runs argv on one allocator; returns (returncode, stdout text, stderr text)."""
    library = ALLOCATORS[allocator]
    if library is not None and not library.exists():
        pytest.fail("not built: %s (run make)" % library, pytrace=False)
    result = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=environment(allocator), timeout=timeout,
                            check=False)
    stdout = result.stdout.decode("utf-8", "replace")
    stderr = result.stderr.decode("utf-8", "replace")
    return result.returncode, stdout, stderr


def assert_provider(allocator, stderr):
    expected = "malloc provider: " + EXPECTED_PROVIDER[allocator]
    assert expected in stderr, "the run was not on %s:\n%s" % (allocator, stderr[:2000])


def sanitizer_report(stderr):
    """The first UBSan line of a run, or None."""
    for line in stderr.splitlines():
        if "runtime error:" in line:
            return line.strip()
    return None


def first_difference(expected, actual, expected_name="glibc", actual_name="clone"):
    if expected == actual:
        return None
    left, right = expected.splitlines(), actual.splitlines()
    for number, (a, b) in enumerate(zip(left, right), 1):
        if a != b:
            return "line %d:\n  %s: %s\n  %s: %s" % (number, expected_name, a, actual_name, b)
    number = min(len(left), len(right)) + 1
    return "line %d: %s has %d lines, %s has %d" % (number, expected_name, len(left),
                                                   actual_name, len(right))
