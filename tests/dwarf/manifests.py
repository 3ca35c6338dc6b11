"""What the ptm-layout suites share: where the build put things, and ptm-layout run on a file.

A manifest is read the way any consumer reads it, with the json module: the suites assert on
its values, never on the text ptm-layout happens to print."""

import json
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "build")
PTM_LAYOUT = os.path.join(BUILD, "ptm-layout")
LIBRARY = os.path.join(BUILD, "libptmalloc.so")
TYPES_OBJECT = os.path.join(BUILD, "ptmalloc-types.o")
TYPES_OBJECT_DWARF4 = os.path.join(BUILD, "tests", "dwarf", "ptmalloc-types-dwarf4.o")
EXPECTED_LAYOUT = os.path.join(BUILD, "tests", "dwarf", "expected_layout")
# Built only when libc6-dbg gives the system glibc DWARF to read (mk/dwarf.mk).
LIBC_MANIFEST = os.path.join(BUILD, "libc.so.6.layout.json")


def run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          errors="replace")


def manifest_of(path, *options):
    """ptm-layout's manifest of `path`, parsed; the test fails when ptm-layout refuses it."""
    result = run([PTM_LAYOUT, *options, path])
    assert result.returncode == 0, "ptm-layout %s %s: %s" % (" ".join(options), path, result.stderr)
    return json.loads(result.stdout)


def refusal_of(path, *options):
    """(exit status, stderr) of a run that must refuse `path`: nothing on stdout, one line."""
    result = run([PTM_LAYOUT, *options, path])
    assert result.stdout == "", "a refused file printed a manifest"
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    return result.returncode, result.stderr


def readelf_build_id(path):
    """The build-id as binutils' readelf prints it: an oracle that shares no code with bfd's."""
    for line in run(["readelf", "-n", path]).stdout.splitlines():
        if "Build ID:" in line:
            return line.split()[-1]
    return ""


def nm_values(path):
    """{symbol: value} from nm, the other oracle for the manifest's symbols."""
    values = {}
    for line in run(["nm", path]).stdout.splitlines():
        words = line.split()
        if len(words) == 3:
            values.setdefault(words[2], int(words[0], 16))
    return values
