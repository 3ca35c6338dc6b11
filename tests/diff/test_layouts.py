"""The DWARF of build/libptmalloc.so must describe the heap types exactly as glibc 2.36's own
debug information does (libc6-dbg): same field names, offsets and sizes, same total size.
gdb's `ptype /o` is asked on both objects, so this is the view the extension will get.  With
PTM_GLIBC=2.31 or 2.41, build/libptmalloc-RELEASE.so against the fetched release and its libc6-dbg."""
import re
import subprocess

import pytest

import difftools

GLIBC = str(difftools.GLIBC_LIBC)
# Where gdb finds the libc6-dbg files of the release (the system's own place for 2.36).
DEBUG_FILE_DIRECTORY = str(difftools.GLIBC_ROOT / "usr/lib/debug")
TYPES = ["struct malloc_chunk", "struct malloc_state", "heap_info", "struct malloc_par",
         "tcache_perthread_struct", "tcache_entry"]

FIELD_LINE = re.compile(r"^/\*\s+(\d+)(?::\s*\d+)?\s+\|\s+(\d+)\s+\*/\s+(.*?);\s*$")
TOTAL_LINE = re.compile(r"/\* total size \(bytes\):\s+(\d+) \*/")
NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*((?:\[\d+\])*)$")


def layouts(objfile):
    """Maps each type to (total size, [(offset, size, field name with array bounds), ...])."""
    command = ["gdb", "-batch", "-nx", "-iex", "set debug-file-directory " + DEBUG_FILE_DIRECTORY]
    for type_name in TYPES:
        command += ["-ex", "echo @@@ " + type_name + "\\n", "-ex", "ptype /o " + type_name]
    completed = subprocess.run(command + [objfile], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=120, check=False)
    found, current = {}, None
    for line in completed.stdout.decode(errors="replace").splitlines():
        if line.startswith("@@@ "):
            current = line[4:]
            found[current] = [None, []]
            continue
        if current is None:
            continue
        field = FIELD_LINE.match(line.strip())
        if field:
            name = NAME.search(field.group(3))
            declared = name.group(1) + name.group(2) if name else field.group(3)
            found[current][1].append((int(field.group(1)), int(field.group(2)), declared))
            continue
        total = TOTAL_LINE.search(line)
        if total and found[current][0] is None:
            found[current][0] = int(total.group(1))
    return {name: (total, fields) for name, (total, fields) in found.items()}, completed.stdout


@pytest.fixture(scope="module")
def glibc_layouts():
    found, raw = layouts(GLIBC)
    if not all(found.get(name, (None, []))[1] for name in TYPES):
        pytest.fail("gdb cannot show glibc's heap types: is libc6-dbg installed?\n"
                    + raw.decode(errors="replace")[-2000:], pytrace=False)
    return found


@pytest.fixture(scope="module")
def clone_layouts():
    return layouts(str(difftools.CLONE))[0]


@pytest.mark.parametrize("type_name", TYPES)
def test_type_layout_matches_glibc(type_name, glibc_layouts, clone_layouts):
    glibc_total, glibc_fields = glibc_layouts[type_name]
    clone_total, clone_fields = clone_layouts.get(type_name, (None, []))
    assert clone_fields, f"build/libptmalloc.so has no DWARF for {type_name}"
    expected = [f"{offset:5} {size:5} {name}" for offset, size, name in glibc_fields]
    actual = [f"{offset:5} {size:5} {name}" for offset, size, name in clone_fields]
    difference = difftools.first_difference("\n".join(expected), "\n".join(actual))
    assert difference is None, f"{type_name} (offset size field):\n{difference}"
    assert clone_total == glibc_total, f"{type_name}: {clone_total} bytes, glibc has {glibc_total}"
