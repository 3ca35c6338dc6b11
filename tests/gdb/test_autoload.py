"""The library's .debug_gdb_scripts entry makes gdb load the extension by itself (with the
gdb/ folder on the auto-load safe path and the source path), without `source`."""

import os

import pytest

from conftest import GDB, REPO, binary, require_variant, run_gdb

GDB_FOLDER = os.path.join(REPO, "gdb")


@pytest.mark.parametrize("variant", ["preload", "linked"])
def test_extension_autoloads_with_the_clone(tmp_path, variant):
    require_variant(variant)
    argv = [GDB, "-nx", "-q", "-batch", "-iex", "add-auto-load-safe-path " + GDB_FOLDER,
            "-iex", "directory " + GDB_FOLDER]
    if variant == "preload":
        argv += ["-ex", "set environment LD_PRELOAD " + os.path.join(REPO, "build",
                                                                     "libptmalloc.so")]
    argv += ["-ex", "file " + binary("every_bin", variant), "-ex", "break sample_checkpoint",
             "-ex", "run %s" % (tmp_path / "r.txt"), "-ex", "info auto-load python-scripts",
             "-ex", "heap top"]
    output = run_gdb(argv, str(tmp_path))
    assert "Yes     ptmalloc-gdb.py" in output.replace("Yes\tptmalloc-gdb.py", "Yes     ptmalloc-gdb.py")
    assert "main_arena 0x" in output and ": top 0x" in output, output[-2000:]


def test_without_safe_path_gdb_declines(tmp_path):
    require_variant("linked")
    argv = [GDB, "-nx", "-q", "-batch", "-iex", "directory " + GDB_FOLDER,
            "-ex", "file " + binary("every_bin", "linked"), "-ex", "break sample_checkpoint",
            "-ex", "run %s" % (tmp_path / "r.txt"), "-ex", "heap top"]
    output = run_gdb(argv, str(tmp_path))
    assert "auto-loading has been declined" in output
    assert 'Undefined command: "heap"' in output
