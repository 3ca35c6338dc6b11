"""Debian's other glibc releases (mk/versions.mk): fetched and unpacked with their debug info,
a program runs under each with its own loader, and the extension's reading of its heap holds
against the program's record (the oracle of tests/oracle/, undamaged heaps, live and from a
core).  2.41 shares 2.36's layouts; 2.31 (plain tcache links, a pointer as tcache key, the
hooks) is not read yet."""
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "oracle"))

import oracle_harness  # noqa: E402

BUILD = oracle_harness.BUILD
RELEASES = {"2.31": "lib/x86_64-linux-gnu/ld-2.31.so",
            "2.41": "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"}
CASES = 3


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_release_runs_programs_with_its_own_loader(release, tmp_path):
    root = BUILD / "glibc" / release / "root"
    assert (root / RELEASES[release]).exists(), "run make glibc-versions"
    assert (root / "usr" / "lib" / "debug" / ".build-id").is_dir(), "no libc6-dbg unpacked"
    program, _ = oracle_harness.ALLOCATORS["glibc-" + release]
    record = tmp_path / "record"
    completed = subprocess.run([str(program), str(record), "1", "none", "1"], timeout=60,
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    fetched = (BUILD / "glibc" / release / "version").read_text().strip()
    assert fetched.startswith(release), fetched
    assert record.read_text().endswith("end\n")


@pytest.mark.parametrize("release", [
    "2.41",
    pytest.param("2.31", marks=pytest.mark.xfail(
        strict=True, reason="the extension does not read glibc 2.31 heaps yet")),
])
def test_extension_reads_the_release_heap_as_recorded(release, tmp_path):
    cases = oracle_harness.make_cases(7, CASES, ["none"], directory=tmp_path)
    outcomes = oracle_harness.run(cases, "glibc-" + release, tmp_path)
    failures = ["case %d %s: %s" % (case["id"], mode, problem)
                for case, mode, problems in outcomes for problem in problems]
    assert len(outcomes) == 2 * CASES
    assert not failures, "\n".join(failures[:10])
