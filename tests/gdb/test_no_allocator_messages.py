"""One precise line per reason no supported allocator is found, with only advice that can help:
another allocator serves malloc (named), the C library is not loaded yet, glibc linked
statically without debug info, glibc without debug info (the only case where libc6-dbg is the
answer), and a core opened with another executable."""

import os
import subprocess

import pytest

from conftest import binary, gdb_argv, marked, require_variant, run_gdb, sections

LIBRARIES = "/usr/lib/x86_64-linux-gnu"
OTHER_ALLOCATORS = {
    "jemalloc": ("libjemalloc2", LIBRARIES + "/libjemalloc.so.2"),
    "tcmalloc": ("libtcmalloc-minimal4", LIBRARIES + "/libtcmalloc_minimal.so.4"),
}
PROGRAM = """#include <stdio.h>
#include <stdlib.h>
void stop_here(void *p) { printf("%p\\n", p); }
int main(void) { void *p = malloc(100); stop_here(p); free(p); return 0; }
"""


def _program(tmp_path, *flags):
    source = tmp_path / "program.c"
    source.write_text(PROGRAM)
    program = tmp_path / ("program" + "".join(flags).replace("-", "_"))
    built = subprocess.run(["gcc", "-g", "-O0", *flags, str(source), "-o", str(program)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if built.returncode:
        pytest.skip("cannot build the test program %s: %s" % (" ".join(flags), built.stdout))
    return str(program)


def _heap_line(tmp_path, program, setup, preload=None):
    output = run_gdb(gdb_argv(program, setup + marked([("heap", "heap")]), preload=preload),
                     str(tmp_path))
    assert "Traceback" not in output, output[-2000:]
    return sections(output)["heap"].strip()


@pytest.mark.parametrize("name", sorted(OTHER_ALLOCATORS))
def test_another_allocator_is_named_without_advice(name, tmp_path):
    package, library = OTHER_ALLOCATORS[name]
    if not os.path.exists(library):
        pytest.skip("%s is not installed (apt install %s)" % (library, package))
    line = _heap_line(tmp_path, _program(tmp_path), ["break stop_here", "run"], preload=library)
    assert line == ("heap: no supported allocator found: malloc is served by %s (%s), not by "
                    "ptmalloc: the heap commands read only glibc's allocator and the ptmalloc "
                    "clone" % (name, library)), line
    assert "libc6-dbg" not in line and "manifest" not in line


def test_before_the_c_library_is_loaded(tmp_path):
    line = _heap_line(tmp_path, _program(tmp_path), ["starti"])
    assert "the C library is not loaded yet" in line, line
    assert "libc6-dbg" not in line and "manifest" not in line


def test_static_glibc_without_debug_info(tmp_path):
    line = _heap_line(tmp_path, _program(tmp_path, "-static"), ["break stop_here", "run"])
    assert "is linked statically with glibc" in line, line
    assert "install" not in line and "layout-path" not in line


def test_glibc_without_debug_info_is_told_of_libc6_dbg(tmp_path):
    setup = ["set debug-file-directory %s" % (tmp_path / "none"),
             "set heap layout-path %s" % (tmp_path / "none"), "break stop_here", "run"]
    # The debug file directory must be set before libc is read: -iex would be, -ex is before
    # `run` loads libc, which is what matters here.
    line = _heap_line(tmp_path, _program(tmp_path), setup)
    assert line.startswith("heap: no supported allocator found: malloc is glibc's"), line
    assert "libc6-dbg" in line and "build-id" in line


def test_a_core_opened_with_another_executable_is_named(runner, tmp_path):
    require_variant("glibc")
    core = runner.live("every_bin", "glibc").core
    other = _program(tmp_path)
    output = run_gdb(gdb_argv(other, marked([("heap", "heap chunks --json")]), core=core),
                     str(tmp_path))
    assert "Traceback" not in output, output[-2000:]
    assert "is not the file the program ran" in output, output[-2000:]
    assert binary("every_bin", "glibc") in output
