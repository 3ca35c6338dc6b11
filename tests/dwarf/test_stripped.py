"""Inspecting allocators without debug info, through the layout manifests.

The oracle is the same program inspected with debug info: a stripped copy of libptmalloc.so,
and glibc with gdb pointed away from libc6-dbg's files, must give exactly the `heap chunks
--json` and `heap bins --json` of the run that has DWARF, live and from a gcore'd core.  Each
run also says where its layout came from, so a run that silently found DWARF cannot pass."""

import json
import os
import shutil
import subprocess

import pytest

from json_contract import checked

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "build")
LOADER = os.path.join(REPO, "gdb", "ptmalloc-gdb.py")
SAMPLE = os.path.join(BUILD, "samples", "known", "every_bin")
LIBRARY = os.path.join(BUILD, "libptmalloc.so")
LIBC_MANIFEST = os.path.join(BUILD, "libc.so.6.layout.json")
GDB = os.environ.get("GDB", "gdb")
COMMANDS = {"chunks": "heap chunks --json", "bins": "heap bins --json", "summary": "heap"}


def inspect(workdir, tag, library=None, without_debug_files=False):
    """{(source, command name): output} for a run stopped at sample_checkpoint and its core."""
    core = os.path.join(workdir, "core-" + tag)
    empty = os.path.join(workdir, "no-debug-files")
    os.makedirs(empty, exist_ok=True)
    argv = [GDB, "-nx", "-q", "-batch"]
    if without_debug_files:
        # -iex: before gdb reads any objfile, so libc6-dbg's files are never found.
        argv += ["-iex", "set debug-file-directory " + empty]
    argv += ["-ex", "set pagination off", "-ex", "set width 0", "-ex", "set confirm off",
             "-ex", "source " + LOADER, "-ex", "python from ptmalloc.target import manifest",
             "-ex", "set heap layout-path " + BUILD]
    if library:
        argv += ["-ex", "set environment LD_PRELOAD " + library]
    argv += ["-ex", "file " + SAMPLE, "-ex", "break sample_checkpoint",
             "-ex", "run " + os.path.join(workdir, "record-" + tag)]
    steps = []
    for source in ("live", "core"):
        if source == "core":
            steps += ["gcore " + core, "kill", "core-file " + core]
        for name, command in COMMANDS.items():
            steps += ["echo @@%s %s\\n" % (source, name), command]
    steps.append("echo @@end\\n")
    for step in steps:
        argv += ["-ex", step]
    result = subprocess.run(argv, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=120, errors="replace")
    return split_markers(result.stdout)


def split_markers(text):
    sections, current = {}, None
    for line in text.splitlines():
        if line.startswith("@@"):
            words = line[2:].split()
            current = tuple(words) if len(words) == 2 else None
            if current:
                sections[current] = []
        elif current:
            sections[current].append(line)
    return {key: "\n".join(lines) for key, lines in sections.items()}


def parsed(outputs, source, name):
    text = outputs.get((source, name), "")
    try:
        value = json.loads(text)
    except ValueError:
        pytest.fail("%s %s is not JSON:\n%s" % (source, name, text[:2000]))
    return checked(COMMANDS[name], value)


def layout_source(outputs, source):
    for line in outputs.get((source, "summary"), "").splitlines():
        if line.startswith("Allocator:"):
            return line
    pytest.fail("no Allocator line in `heap` (%s):\n%s" % (source, outputs.get((source, "summary"))))


def without_lwps(value):
    """The JSON with thread LWPs blanked: they differ between two runs of the same program."""
    if isinstance(value, dict):
        return {key: None if key in ("thread", "lwp") else without_lwps(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [without_lwps(item) for item in value]
    return value


def assert_same_heap(with_dwarf, without_dwarf):
    for source in ("live", "core"):
        for name in ("chunks", "bins"):
            assert without_lwps(parsed(without_dwarf, source, name)) == \
                without_lwps(parsed(with_dwarf, source, name)), \
                "%s `%s` differs without debug info" % (source, COMMANDS[name])
    # Agreement on an empty walk would prove nothing: the sample fills every kind of bin.
    states = {chunk["state"] for arena in parsed(with_dwarf, "core", "chunks")["arenas"]
              for chunk in arena["chunks"]}
    assert {"in-use", "tcache", "fastbin", "unsorted", "smallbin", "largebin"} <= states


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("stripped"))


def symbol_table_empty(path):
    result = subprocess.run(["nm", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    return "main_arena" not in result.stdout


@pytest.mark.skipif(not os.path.exists(LIBRARY), reason="build/libptmalloc.so is not built")
def test_stripped_clone_reads_like_unstripped(workdir):
    # Same path for both runs, so the process (and every address) is the same.
    library_dir = os.path.join(workdir, "lib")
    os.makedirs(library_dir, exist_ok=True)
    copy = os.path.join(library_dir, "libptmalloc.so")
    shutil.copy(LIBRARY, copy)
    with_dwarf = inspect(workdir, "unstripped", library=copy)
    subprocess.run(["objcopy", "--strip-all", copy], check=True)
    assert symbol_table_empty(copy)
    without_dwarf = inspect(workdir, "stripped", library=copy)
    for source in ("live", "core"):
        assert "types from DWARF" in layout_source(with_dwarf, source)
        assert "libptmalloc.so.layout.json" in layout_source(without_dwarf, source)
    assert_same_heap(with_dwarf, without_dwarf)


@pytest.mark.skipif(not os.path.exists(LIBC_MANIFEST),
                    reason="no glibc manifest (libc6-dbg is not installed)")
def test_glibc_without_debug_files_reads_like_with_them(workdir):
    with_dwarf = inspect(workdir, "glibc-debug")
    without_dwarf = inspect(workdir, "glibc-nodebug", without_debug_files=True)
    for source in ("live", "core"):
        assert "glibc 2.36" in layout_source(with_dwarf, source)
        assert "types from DWARF" in layout_source(with_dwarf, source)
        assert "libc.so.6.layout.json" in layout_source(without_dwarf, source)
    assert_same_heap(with_dwarf, without_dwarf)


def layout_path_session(workdir, steps, library=None, without_debug_files=False):
    """Outputs of `steps` [(name, command)] at sample_checkpoint, split at echo markers."""
    empty = os.path.join(workdir, "no-debug-files")
    os.makedirs(empty, exist_ok=True)
    argv = [GDB, "-nx", "-q", "-batch"]
    if without_debug_files:
        argv += ["-iex", "set debug-file-directory " + empty]
    argv += ["-ex", "set pagination off", "-ex", "set width 0", "-ex", "source " + LOADER]
    if library:
        argv += ["-ex", "set environment LD_PRELOAD " + library]
    argv += ["-ex", "file " + SAMPLE, "-ex", "break sample_checkpoint",
             "-ex", "run " + os.path.join(workdir, "record-layout-path")]
    for name, command in steps:
        argv += ["-ex", "echo @@%s x\\n" % name, "-ex", command]
    argv += ["-ex", "echo @@end x\\n", "-ex", "kill"]
    result = subprocess.run(argv, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=120, errors="replace")
    assert "Traceback" not in result.stdout
    return {key[0]: text.strip() for key, text in split_markers(result.stdout).items()}


def no_manifest_message(path, build_id, folders):
    return ("heap: no supported allocator found: malloc is served by %s, which has no debug info "
            "for the heap types and no layout manifest with build-id %s in %s (see `set heap "
            "layout-path`)" % (path, build_id, folders))


def build_id_of(path):
    notes = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE, text=True,
                           check=True).stdout
    return notes.split("Build ID:", 1)[1].split()[0]


@pytest.mark.skipif(not os.path.exists(LIBRARY), reason="build/libptmalloc.so is not built")
def test_layout_path_chooses_the_manifest_and_says_when_none_matches(workdir):
    """A stripped clone without a matching manifest is named as the allocator that cannot be
    read (glibc's idle main_arena must not be read instead), and `set heap layout-path` takes
    effect at once, both ways."""
    folder = os.path.join(workdir, "layout-path")
    library = os.path.join(folder, "lib", "libptmalloc.so")
    manifests = os.path.join(folder, "manifests")
    nothing = os.path.join(folder, "nothing")
    for path in (os.path.dirname(library), manifests, nothing):
        os.makedirs(path, exist_ok=True)
    shutil.copy(LIBRARY, library)
    subprocess.run(["objcopy", "--strip-all", library], check=True)
    shutil.copy(os.path.join(BUILD, "libptmalloc.so.layout.json"), manifests)
    shutil.copy(os.path.join(BUILD, "ptmalloc-types.o"), manifests)
    out = layout_path_session(workdir, [
        ("set-nothing", "set heap layout-path " + nothing), ("none", "heap top"),
        ("set-manifests", "set heap layout-path " + manifests), ("found", "heap"),
        ("show", "show heap layout-path"),
        ("set-again", "set heap layout-path " + nothing), ("none-again", "heap top")],
        library=library)
    expected = no_manifest_message(library, build_id_of(library), nothing)
    assert out["none"] == expected
    assert out["none-again"] == expected
    assert "Allocator: ptmalloc clone (glibc 2.36) in %s (types from %s)" % (
        library, os.path.join(manifests, "libptmalloc.so.layout.json")) in out["found"]
    assert out["show"] == "Heap layout manifests are searched in: " + manifests


@pytest.mark.skipif(not os.path.exists(LIBC_MANIFEST),
                    reason="no glibc manifest (libc6-dbg is not installed)")
def test_glibc_without_debug_files_or_manifest_is_named(workdir):
    nothing = os.path.join(workdir, "layout-path-nothing")
    os.makedirs(nothing, exist_ok=True)
    out = layout_path_session(workdir, [("set", "set heap layout-path " + nothing),
                                        ("none", "heap")], without_debug_files=True)
    libc = os.path.realpath(subprocess.run(["gcc", "-print-file-name=libc.so.6"],
                                           stdout=subprocess.PIPE, text=True).stdout.strip())
    prefix = "heap: no supported allocator found: malloc is glibc's "
    assert out["none"].startswith(prefix)
    served_by = out["none"][len(prefix):].split(",", 1)[0]
    assert os.path.realpath(served_by) == libc
    assert out["none"] == (
        prefix + "%s, and gdb has no debug info for it: install the libc6-dbg that matches it "
        "(build-id %s), or give a layout manifest with that build-id (see `set heap "
        "layout-path`)" % (served_by, build_id_of(libc)))
