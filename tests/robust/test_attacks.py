"""The heap-attack catalogue (samples/attacks/): each classic corruption is run on glibc 2.36 and on
the clone.  glibc must do what the sample's `expect:` line says (so the sample still stages the
attack it claims to), and the clone must do exactly the same: same output (pointer offsets of what
malloc handed out after the corruption), same abort message at the same operation, same status.
"""
import re
import signal

import pytest

import robusttools as rt

SAMPLE_SOURCES = sorted((rt.REPO_ROOT / "samples" / "attacks").glob("*.c"))
EXPECT = re.compile(r'expect: (?:abort "(?P<message>[^"]+)"|exit (?P<status>\d+))')


def _expectation(source):
    match = EXPECT.search(source.read_text())
    assert match, "%s has no expect: line" % source.name
    if match.group("message"):
        return ("abort", match.group("message"))
    return ("exit", int(match.group("status")))


def _without_provider(stderr):
    return "".join(line + "\n" for line in stderr.splitlines()
                   if not line.startswith("malloc provider: "))


def test_catalogue_is_complete():
    names = {source.stem for source in SAMPLE_SOURCES}
    wanted = {"double_free_tcache", "double_free_fasttop", "double_free_fastbin_aba",
              "tcache_poisoning", "fastbin_poisoning", "house_of_spirit", "house_of_lore",
              "house_of_einherjar", "house_of_force", "unsafe_unlink", "largebin_attack",
              "overlapping_chunks"}
    assert wanted <= names, "missing attack samples: %s" % sorted(wanted - names)


@pytest.mark.parametrize("source", SAMPLE_SOURCES, ids=lambda path: path.stem)
def test_clone_matches_glibc(source):
    binary = rt.program(source.stem, rt.ATTACK_BIN)
    kind, value = _expectation(source)
    runs = {}
    for allocator in ("glibc", "clone"):
        code, stdout, stderr = rt.run(allocator, [binary], timeout=60)
        rt.assert_provider(allocator, stderr)
        runs[allocator] = (code, stdout, _without_provider(stderr))

    code, stdout, stderr = runs["glibc"]
    assert "staged: " in stdout, "glibc never reached the staged operation:\n" + stdout + stderr
    if kind == "abort":
        assert code == -signal.SIGABRT and stderr.strip().splitlines()[-1:] == [value], (
            "glibc 2.36 no longer aborts with %r here (status %d):\n%s" % (value, code, stderr))
    else:
        assert code == value, "glibc 2.36 exited %d, expected %d:\n%s" % (code, value, stderr)

    clone_code, clone_stdout, clone_stderr = runs["clone"]
    difference = rt.first_difference(stdout, clone_stdout)
    assert difference is None, "what the clone let through differs: " + difference
    assert clone_stderr == stderr, "abort message differs:\n  glibc: %r\n  clone: %r" % (
        stderr, clone_stderr)
    assert clone_code == code, "status differs: glibc %d, clone %d" % (code, clone_code)
