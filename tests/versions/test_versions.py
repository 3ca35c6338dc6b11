"""Debian's other glibc releases (mk/versions.mk): fetched and unpacked with their debug info,
a program runs under each with its own loader, and the extension's reading of its heap holds
against the program's record (the oracle of tests/oracle/, undamaged heaps, live and from a
core) and against the damage it was given.  2.41 shares 2.36's layouts; 2.31 has plain tcache
links, a pointer as tcache key, no hugepage fields and the hooks; the clones built as 2.31 and
2.41 (build/libptmalloc-2.31.so, -2.41.so) are read as their releases."""
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


# Every kind of damage once, live and from a core, and the kernel cores lacking memory when the
# kernel can write them here: on each release's own glibc, and on the clones built as 2.31 and
# 2.41.
KINDS = [kind for kind in oracle_harness.MUTATIONS if kind not in oracle_harness.CORE_KINDS]


@pytest.mark.parametrize("allocator", ["glibc-2.41", "clone-2.41", "glibc-2.31", "clone-2.31"])
def test_extension_reads_the_release_heap_as_recorded(allocator, tmp_path):
    kinds = KINDS + ([] if oracle_harness.kernel_cores_unavailable() else
                     oracle_harness.CORE_KINDS)
    cases = oracle_harness.make_cases(7, len(kinds), kinds, directory=tmp_path)
    outcomes = oracle_harness.run(cases, allocator, tmp_path)
    failures = ["case %d (%s, seed %d) %s: %s" % (case["id"], case["mutation"], case["seed"],
                                                 mode, problem)
                for case, mode, problems in outcomes for problem in problems]
    assert len(outcomes) == sum(len(case["modes"]) for case in cases)
    assert not failures, "\n".join(failures[:10])


def test_the_loaders_own_malloc_is_not_taken_for_the_allocator():
    """2.31's ld.so exports a malloc of its own: stopped before libc is loaded, the extension
    says so instead of naming the loader as an allocator it cannot read."""
    program, settings = oracle_harness.ALLOCATORS["glibc-2.31"]
    completed = subprocess.run(
        [oracle_harness.GDB, "-nx", "-q", "-batch"] + settings +
        ["-ex", "source %s" % oracle_harness.LOADER, "-ex", "starti", "-ex", "heap", str(program)],
        capture_output=True, text=True, timeout=60, check=False)
    said = completed.stdout + completed.stderr
    assert "the C library is not loaded yet" in said, said[-1000:]
    assert "served by" not in said
