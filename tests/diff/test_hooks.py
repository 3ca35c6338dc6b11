"""The malloc hooks of glibc 2.31 (PTM_GLIBC=2.31): hooks_probe.c reports which hooks start set,
which calls clear them, what each hook is handed and when __after_morecore_hook and __morecore
run; the clone must report exactly what 2.31 does.  Releases from 2.34 on ignore the hooks, and
their programs cannot link them, so the test is skipped there."""
import pytest

import difftools

HOOKS_PROBE = difftools.DIFF_BIN / "hooks_probe"


@pytest.mark.skipif(difftools.RELEASE >= "2.34", reason="glibc 2.34 and later have no live hooks")
def test_hooks_behave_like_glibc():
    plain = difftools.run([str(HOOKS_PROBE)], preload=False)
    cloned = difftools.run([str(HOOKS_PROBE)], preload=True)
    assert plain.returncode == 0, plain.stderr.decode(errors="replace")
    assert cloned.returncode == 0, cloned.stderr.decode(errors="replace")
    assert b"hook calls 11" in plain.stdout, "the probe no longer exercises every hook"
    difference = difftools.first_difference(plain.stdout, cloned.stdout)
    assert difference is None, difference
