"""`make install` with PREFIX and DESTDIR: every file in its place with the build's content, and
an installed tree that works on its own: a program built through pkg-config and the installed
header, gdb loading the extension through the installed gdbinit file (no `source`), and a
stripped installed library read through the installed manifest and types object."""

import filecmp
import glob
import json
import os
import re
import shutil
import subprocess

import pytest

from json_contract import checked

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "build")
GDB = os.environ.get("GDB", "gdb")
MAKE = os.environ.get("MAKE", "make")
STAGED_PREFIX = "/opt/ptmalloc-install-check"

PROGRAM = r"""
#include <ptmalloc.h>
#include <signal.h>

int main(void)
{
	void *freed = malloc(100);
	void *held = malloc(200);
	free(freed);
	raise(SIGTRAP); /* gdb stops here with one tcache chunk and one held chunk */
	free(held);
	return 0;
}
"""


def make_install(prefix, destdir=""):
    result = subprocess.run([MAKE, "--no-print-directory", "-C", REPO, "install",
                             "PREFIX=" + prefix, "DESTDIR=" + destdir],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


def extension_files():
    found = []
    for folder, _dirs, files in os.walk(os.path.join(REPO, "gdb")):
        if "__pycache__" not in folder:
            found += [os.path.relpath(os.path.join(folder, f), REPO) for f in files
                      if f.endswith(".py")]
    return sorted(found)


def expected_files():
    """{installed path relative to the prefix: the build or source file it must equal}."""
    expected = {
        "lib/libptmalloc.so": "build/libptmalloc.so",
        "lib/libptmalloc.a": "build/libptmalloc.a",
        "bin/ptm-layout": "build/ptm-layout",
        "include/ptmalloc.h": "dwarf/ptmalloc.h",
        "include/ptmalloc/malloc_types.h": "allocator/malloc_types.h",
        "share/ptmalloc/layout/ptmalloc-types.o": "build/ptmalloc-types.o",
        "share/ptmalloc/layout/libptmalloc.so.layout.json": "build/libptmalloc.so.layout.json",
    }
    if os.path.exists(os.path.join(BUILD, "libc.so.6.layout.json")):
        expected["share/ptmalloc/layout/libc.so.6.layout.json"] = "build/libc.so.6.layout.json"
    for path in extension_files():
        expected["share/ptmalloc/" + path] = path
    return expected


def test_staged_install_puts_every_file_in_place(tmp_path):
    destdir = str(tmp_path / "stage")
    make_install(STAGED_PREFIX, destdir)
    root = destdir + STAGED_PREFIX
    for installed, source in expected_files().items():
        path = os.path.join(root, installed)
        assert os.path.isfile(path), "not installed: " + installed
        assert filecmp.cmp(path, os.path.join(REPO, source), shallow=False), installed
    assert os.access(os.path.join(root, "bin/ptm-layout"), os.X_OK)
    with open(os.path.join(root, "lib/pkgconfig/ptmalloc.pc"), encoding="utf-8") as handle:
        pc = handle.read()
    assert "prefix=%s\n" % STAGED_PREFIX in pc and "-lptmalloc" in pc
    # Outside the system prefixes the gdbinit file stays in the prefix (gdb is told by a line).
    with open(os.path.join(root, "etc/gdb/gdbinit.d/ptmalloc.gdb"), encoding="utf-8") as handle:
        text = handle.read()
    assert "source %s/share/ptmalloc/gdb/ptmalloc-gdb.py\n" % STAGED_PREFIX in text
    # DESTDIR is a staging area: no installed file may name it.
    for path in glob.glob(root + "/**/*", recursive=True):
        if os.path.isfile(path) and not path.endswith((".so", ".a", ".o", "ptm-layout")):
            with open(path, encoding="utf-8", errors="replace") as handle:
                assert destdir not in handle.read(), path


def gdb_session(program, prefix, workdir):
    argv = [GDB, "-nx", "-q", "-batch",
            "-ix", os.path.join(prefix, "etc/gdb/gdbinit.d/ptmalloc.gdb"),
            "-ex", "set pagination off", "-ex", "set width 0", "-ex", "set style enabled off",
            "-ex", "run", "-ex", "echo @@summary\\n", "-ex", "heap",
            "-ex", "echo @@chunks\\n", "-ex", "heap chunks --json", "-ex", "echo @@end\\n",
            "-ex", "kill", program]
    result = subprocess.run(argv, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=120, errors="replace")
    out = result.stdout
    assert "Traceback" not in out and "@@end" in out, out[-3000:]
    summary = out.split("@@summary\n", 1)[1].split("@@chunks\n", 1)[0]
    chunks = out.split("@@chunks\n", 1)[1].split("@@end", 1)[0].strip()
    try:
        return summary, checked("heap chunks --json", json.loads(chunks.splitlines()[-1]))
    except (ValueError, IndexError):
        pytest.fail("heap chunks --json gave no JSON:\n" + out[-3000:])


def pkg_config_flags(folder):
    """`pkg-config --cflags --libs ptmalloc`; without pkg-config (not in every Debian install)
    the .pc file's variables, Cflags and Libs are expanded here the same way."""
    if shutil.which("pkg-config"):
        env = dict(os.environ, PKG_CONFIG_PATH=folder)
        return subprocess.run(["pkg-config", "--cflags", "--libs", "ptmalloc"], env=env,
                              stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    variables, flags = {}, []
    with open(os.path.join(folder, "ptmalloc.pc"), encoding="utf-8") as handle:
        for line in handle:
            line = re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], line.strip())
            name, equals, value = line.partition("=")
            if equals and re.fullmatch(r"\w+", name):
                variables[name] = value
            elif line.startswith(("Cflags:", "Libs:")):
                flags += line.split(":", 1)[1].split()
    return flags


def test_installed_tree_works_alone(tmp_path):
    prefix = str(tmp_path / "prefix")
    make_install(prefix)
    source = tmp_path / "program.c"
    source.write_text(PROGRAM)
    program = str(tmp_path / "program")
    flags = pkg_config_flags(os.path.join(prefix, "lib/pkgconfig"))
    subprocess.run(["gcc", "-g", "-O0", str(source), "-o", program] + flags +
                   ["-Wl,-rpath," + os.path.join(prefix, "lib")], check=True)

    summary, chunks = gdb_session(program, prefix, str(tmp_path))
    assert "Allocator: ptmalloc clone (glibc 2.36) in %s/lib/libptmalloc.so (types from " \
        "DWARF)" % prefix in summary, summary
    states = [c["state"] for a in chunks["arenas"] for c in a["chunks"]]
    assert states.count("tcache") == 1 and states[-1] == "top"

    library = os.path.join(prefix, "lib/libptmalloc.so")
    subprocess.run(["objcopy", "--strip-all", library], check=True)
    stripped_summary, stripped_chunks = gdb_session(program, prefix, str(tmp_path))
    manifest = os.path.join(prefix, "share/ptmalloc/layout/libptmalloc.so.layout.json")
    assert "(types from %s)" % manifest in stripped_summary, stripped_summary
    assert stripped_chunks == chunks
