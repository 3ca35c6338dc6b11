"""The heap extension against broken heaps, broken cores and hostile targets.

- a bounded corruption fuzz (>= 1,000 cases, every heap command per case) on the clone's heap, live;
- every command on a target that has not started, a program stopped before it ever allocated, and
  truncated core files: each answers or fails with one line, never a traceback or a gdb crash;
- the extension never writes the inferior's memory nor calls its functions (gdb forbidden to, and
  a digest of every writable mapping and register compared around each command).

Every failure fails the test: the two findings the fuzzer first turned up (a corrupted top size
that made gdb itself run out of memory, an IndexError on a corrupted mp_.tcache_bins) are fixed and
have regression tests in tests/gdb/.
"""
import os
import subprocess

import pytest

import gdb_fuzz
import robusttools as rt

FUZZ_CASES = int(os.environ.get("ROBUST_FUZZ_CASES", "1000"))
FUZZ_SEED = int(os.environ.get("ROBUST_FUZZ_SEED", "11"))

HOSTILE_COMMANDS = ["heap", "heap arenas", "heap chunks", "heap bins", "heap tcache", "heap top",
                    "heap mp", "heap check", "heap --json", "heap chunk 0x1000",
                    "heap refs 0x1000"]
BAD_SIGNS = ("Traceback", "Python Exception", "internal-error", "internal error",
             "Recursive internal problem")


@pytest.fixture(scope="module")
def fuzz_result():
    rt.program("fuzz_target")
    return gdb_fuzz.run(FUZZ_CASES, FUZZ_SEED, preload=True, timeout=20.0, run_timeout=600)


def test_bounded_fuzz_has_no_failure(fuzz_result):
    merged = gdb_fuzz.totals(fuzz_result)
    assert merged["cases"] >= FUZZ_CASES, "only %d of %d cases ran: %s" % (
        merged["cases"], FUZZ_CASES, fuzz_result["problems"][:3])
    problems = fuzz_result["problems"]
    assert not problems, "extension failures under corruption (first 5):\n%s" % "\n".join(
        str(p)[:600] for p in problems[:5])
    assert "Traceback" not in fuzz_result["gdb_stderr"], fuzz_result["gdb_stderr"][-2000:]
    assert merged["max_rss_mb"] < 1024, "gdb grew to %d MiB" % merged["max_rss_mb"]


def test_heap_check_reports_the_damage(fuzz_result):
    """Damage to a size field, a tcache or a heap_info is what heap check exists for."""
    merged = gdb_fuzz.totals(fuzz_result)
    for kind in ("chunk_size", "tcache", "heap_info"):
        total = merged["check_total"].get(kind, 0)
        detected = merged["check_detected"].get(kind, 0)
        assert total > 0, "no %s mutations in the run" % kind
        assert detected >= 0.75 * total, "heap check saw only %d of %d %s corruptions" % (
            detected, total, kind)


def _gdb(argv, env=None):
    environment = dict(os.environ, LC_ALL="C")
    environment.pop("LD_PRELOAD", None)
    environment.update(env or {})
    completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=environment, timeout=120, check=False)
    return completed.returncode, completed.stdout.decode("utf-8", "replace")


def _assert_one_line_each(output, what):
    for sign in BAD_SIGNS:
        assert sign not in output, "%s: %r in the output:\n%s" % (what, sign, output[-3000:])
    for command in HOSTILE_COMMANDS:
        assert "=== %s" % command in output, "%s: gdb never reached %r:\n%s" % (
            what, command, output[-3000:])


def _commands_with_markers():
    argv = []
    for command in HOSTILE_COMMANDS:
        argv += ["-ex", "echo === %s\\n" % command, "-ex", command]
    return argv


def test_process_not_started():
    target = rt.program("fuzz_target")
    code, output = _gdb(gdb_fuzz.gdb_base_argv(False) + ["-ex", "file %s" % target]
                        + _commands_with_markers())
    _assert_one_line_each(output, "not started")
    assert output.count("heap: ") >= len(HOSTILE_COMMANDS), output[-3000:]


@pytest.mark.parametrize("preload", [False, True], ids=["glibc", "clone"])
def test_program_that_never_allocated(preload, tmp_path):
    target = rt.program("fuzz_target")
    core = tmp_path / "never.core"
    code, output = _gdb(gdb_fuzz.gdb_base_argv(preload) + [
        "-ex", "break fuzz_stop", "-ex", "run never"] + _commands_with_markers()
        + ["-ex", "gcore %s" % core, "-ex", "kill", str(target)])
    _assert_one_line_each(output, "never allocated, live")
    assert core.exists(), output[-2000:]
    code, output = _gdb(gdb_fuzz.gdb_base_argv(False) + ["-ex", "file %s" % target,
                                                         "-ex", "core-file %s" % core]
                        + _commands_with_markers())
    _assert_one_line_each(output, "never allocated, core")


@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.95])
def test_truncated_core(fraction, tmp_path):
    target = rt.program("fuzz_target")
    core = gdb_fuzz.make_core(True, tmp_path)
    assert core is not None
    data = core.read_bytes()
    core.write_bytes(data[:int(len(data) * fraction)])
    code, output = _gdb(gdb_fuzz.gdb_base_argv(False) + ["-ex", "file %s" % target,
                                                         "-ex", "core-file %s" % core]
                        + _commands_with_markers())
    _assert_one_line_each(output, "core truncated to %d%%" % (fraction * 100))


@pytest.mark.parametrize("preload", [False, True], ids=["glibc", "clone"])
def test_extension_never_writes_nor_calls(preload):
    target = rt.program("fuzz_target")
    script = rt.REPO_ROOT / "tests" / "robust" / "gdb_no_side_effects.py"
    code, output = _gdb(gdb_fuzz.gdb_base_argv(preload) + [
        "-ex", "set may-write-memory off", "-ex", "set environment FUZZ_SELF_STOP 1",
        # The clone records its history, so `heap history` reads a ring (glibc has none).
        "-ex", "set environment PTMALLOC_HISTORY 256",
        "-ex", "run", "-ex", "source %s" % script, "-ex", "kill", str(target)])
    summary = [line for line in output.splitlines() if line.startswith("side-effects: ")]
    assert summary and summary[-1].endswith(" 0 changed the inferior"), output[-3000:]
    unanswered = [line for line in output.splitlines() if line.startswith("unanswered: ")]
    assert " 26 commands, 26 answered" in summary[-1], (summary, unanswered)
