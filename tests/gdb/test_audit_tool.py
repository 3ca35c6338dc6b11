"""ptmalloc-audit (tools/ptmalloc_audit.py) on programs of one's own: a correct one (arguments,
environment, stdin and a path with spaces), a buggy one (the JUnit failure names the rule, the
chunk and the abort), a leaking one, a hanging one (--timeout), and bad input (one line, exit
status 2, never a traceback); and gdb -batch's exit status after a failed `heap check`."""

import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import GDB, LOADER, REPO, TIMEOUT, clone_available, gdb_available

TOOL = os.path.join(REPO, "tools", "ptmalloc_audit.py")
PROGRAMS = os.path.join(REPO, "tests", "audit", "programs")


@pytest.fixture(autouse=True)
def _needs_gdb_and_clone():
    if not gdb_available() or not clone_available():
        pytest.skip("gdb or build/libptmalloc.so missing")


def _audit(arguments, cwd, timeout=TIMEOUT):
    return subprocess.run([sys.executable, TOOL] + arguments, cwd=str(cwd), timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _failure_text(report_dir):
    suite = ElementTree.parse(os.path.join(str(report_dir), "junit.xml")).getroot()
    return "\n".join(failure.text or "" for failure in suite.iter("failure")), suite


def test_correct_program_with_arguments_environment_stdin_and_spaces(tmp_path):
    folder = tmp_path / "my programs"
    folder.mkdir()
    program = str(folder / "echo input")
    subprocess.run(["gcc", "-g", os.path.join(PROGRAMS, "echo_input.c"), "-o", program],
                   check=True)
    stdin = folder / "in put.txt"
    stdin.write_text("from stdin\n")
    result = _audit(["--leaks", "--env", "AUDIT_GREETING=hello there", "--stdin", str(stdin),
                     "--", program, "two words", "--not-an-option"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Its own report folder, in the current one.
    report = tmp_path / "ptmalloc-audit-report"
    output = (report / "work" / "echo input.clone.stdout").read_text()
    assert output == "hello there two words from stdin\n"
    text, suite = _failure_text(report)
    assert suite.get("failures") == "0" and suite.get("tests") == "1" and text == ""


def test_buggy_program_names_rule_chunk_and_abort(tmp_path):
    result = _audit(["--report-dir", str(tmp_path / "out"), os.path.join(PROGRAMS, "overflow.c")],
                    tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    text, suite = _failure_text(tmp_path / "out")
    assert suite.get("failures") == "1"
    assert "[chunk-size] chunk 0x" in text
    assert "next touch aborts: free(): invalid next size (normal)" in text
    assert "died of SIGABRT: free(): invalid next size (normal)" in text


def test_leak_is_a_failure_with_leaks(tmp_path):
    result = _audit(["--leaks", "--report-dir", str(tmp_path / "out"),
                     os.path.join(PROGRAMS, "leaky.c")], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    text, _suite = _failure_text(tmp_path / "out")
    assert "[leak] chunk 0x" in text


def test_hanging_program_stops_at_the_timeout(tmp_path):
    started = time.monotonic()
    result = _audit(["--timeout", "2", "--report-dir", str(tmp_path / "out"),
                     os.path.join(PROGRAMS, "hangs.c")], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert time.monotonic() - started < 30
    text, _suite = _failure_text(tmp_path / "out")
    assert "timed out after 2s" in text


@pytest.mark.parametrize("arguments, message", [
    (["--bogus", "/bin/true"], "unrecognized arguments: --bogus"),
    ([], "give either a PROGRAM"),
    (["/no/such/program"], "no such program: /no/such/program"),
    (["--expect", "/no/such.expect.json", "/bin/true"], "cannot read the expectation file"),
    (["--env", "NOVALUE", "/bin/true"], "--env takes NAME=VALUE"),
    (["--timeout", "soon", "/bin/true"], "invalid float value"),
    ([os.path.join(PROGRAMS, "broken.c")], "undeclared_name"),
])
def test_bad_input_is_one_clear_error(tmp_path, arguments, message):
    result = _audit(["--report-dir", str(tmp_path / "out")] + arguments, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("ptmalloc-audit: ") and message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("program, status", [("overflow.c", 1), ("unused_parameter.c", 0)])
def test_batch_exit_status_follows_heap_check(tmp_path, program, status):
    """`gdb -batch ... -ex 'heap check' -ex kill`: the last command succeeds, the status is the
    check's."""
    binary = str(tmp_path / "program")
    subprocess.run(["gcc", "-g", "-w", os.path.join(PROGRAMS, program), "-o", binary], check=True)
    argv = [GDB, "-nx", "-q", "-batch", "-ex", "source " + LOADER, "-ex", "file " + binary,
            "-ex", "catch syscall exit_group" if status == 0 else "echo", "-ex", "run 2>/dev/null",
            "-ex", "heap check --limit 0", "-ex", "heap check", "-ex", "kill"]
    result = subprocess.run(argv, cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    assert result.returncode == status, result.stdout[-2000:]
    assert ("heap: check found" in result.stdout) == (status == 1)
    # --limit shows fewer findings, the verdict counts them all.
    assert ("1 more finding not shown (--limit 0; the verdict counts them all)" in
            result.stdout) == (status == 1)
    assert shutil.which(GDB)
