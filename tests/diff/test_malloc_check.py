"""MALLOC_CHECK_ as glibc 2.31 has it in libc itself (PTM_GLIBC=2.31): with MALLOC_CHECK_=1..3 or
glibc.malloc.check set, malloc & co. go through checking hooks that serve the main arena alone,
mark the byte past each request and refuse pointers and top chunks that do not look right.
check_probe.c tours every entry point (offsets, usable sizes, the marks, errno) and stages the
misuses the hooks refuse; the traces are replayed with the checks on.  The clone must answer
exactly as the real 2.31 does.  From 2.34 libc ignores MALLOC_CHECK_ (tests/stats covers that)."""
import subprocess

import pytest

import difftools

CHECK_PROBE = difftools.DIFF_BIN / "check_probe"
pytestmark = pytest.mark.skipif(difftools.RELEASE >= "2.34",
                                reason="from glibc 2.34 MALLOC_CHECK_ is libc_malloc_debug.so's")

# 4 is out of the tunable's range (0..3): ignored, the plain allocator answers.
SETTINGS = {
    "MALLOC_CHECK_=3": {"MALLOC_CHECK_": "3"},
    "MALLOC_CHECK_=1": {"MALLOC_CHECK_": "1"},
    "MALLOC_CHECK_=4": {"MALLOC_CHECK_": "4"},
    "glibc.malloc.check=2": {"GLIBC_TUNABLES": "glibc.malloc.check=2"},
}


def misuses():
    if not CHECK_PROBE.exists():
        return ["<check_probe not built>"]
    listing = subprocess.run([str(CHECK_PROBE), "--list"], stdout=subprocess.PIPE, check=True)
    return listing.stdout.decode().split()


def assert_same_end(plain, cloned):
    assert cloned.returncode == plain.returncode, (plain.returncode, cloned.returncode,
                                                   cloned.stderr[-500:])
    assert cloned.stderr == plain.stderr, difftools.first_difference(plain.stderr, cloned.stderr)
    assert cloned.stdout == plain.stdout, difftools.first_difference(plain.stdout, cloned.stdout)


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_tour_matches_glibc(setting):
    environment = SETTINGS[setting]
    plain = difftools.run([str(CHECK_PROBE)], preload=False, env=environment)
    cloned = difftools.run([str(CHECK_PROBE)], preload=True, env=environment)
    assert plain.returncode == 0, plain.stderr
    assert b"malloc(24) at" in plain.stdout
    assert_same_end(plain, cloned)


def test_checks_are_on_only_when_set():
    """Ground truth that the probe sees the checks: the real 2.31's tour changes with them."""
    quiet = difftools.run([str(CHECK_PROBE)], preload=False)
    checked = difftools.run([str(CHECK_PROBE)], preload=False, env=SETTINGS["MALLOC_CHECK_=3"])
    ignored = difftools.run([str(CHECK_PROBE)], preload=False, env=SETTINGS["MALLOC_CHECK_=4"])
    assert quiet.stdout == ignored.stdout
    assert quiet.stdout != checked.stdout


@pytest.mark.parametrize("misuse", misuses())
def test_misuse_ends_like_glibc(misuse):
    environment = SETTINGS["MALLOC_CHECK_=3"]
    plain = difftools.run([str(CHECK_PROBE), misuse], preload=False, env=environment, timeout=30)
    cloned = difftools.run([str(CHECK_PROBE), misuse], preload=True, env=environment, timeout=30)
    assert_same_end(plain, cloned)


@pytest.mark.parametrize("seed", (21, 22))
def test_traces_match_glibc_with_checks(seed):
    trace = difftools.generate_trace(seed, min(4000, difftools.TRACE_OPERATIONS),
                                     ["--no-mallopt", "--stats"])
    failure = difftools.replay_both(trace, SETTINGS["MALLOC_CHECK_=3"])
    assert not failure, failure
