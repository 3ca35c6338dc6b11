"""ptm-layout's manifests against oracles that share no code with it.

Types: the compiler's own offsetof/sizeof for every field (build/tests/dwarf/expected_layout),
for the DWARF 5 and DWARF 4 types objects, the library and glibc 2.36 through libc6-dbg.
Symbols: nm.  Build-id: readelf."""

import json
import os

import pytest

from manifests import (EXPECTED_LAYOUT, LIBC_MANIFEST, LIBRARY, TYPES_OBJECT, TYPES_OBJECT_DWARF4,
                       manifest_of, nm_values, readelf_build_id, run)

HEAP_SYMBOLS = ("main_arena", "mp_", "global_max_fast")
HEAP_TLS = ("tcache", "thread_arena")


@pytest.fixture(scope="module")
def compiler_layout():
    return json.loads(run([EXPECTED_LAYOUT]).stdout)


def assert_types_are_the_compilers(manifest, compiler_layout):
    types = manifest["types"]
    assert types == compiler_layout
    # Fields in declaration order, as gdb's Type.fields() lists them.
    for name, expected in compiler_layout.items():
        assert list(types[name]["fields"]) == list(expected["fields"]), name


def assert_symbols_are_nms(manifest, symbol_file):
    values = nm_values(symbol_file)
    for group, names in (("symbols", HEAP_SYMBOLS), ("tls", HEAP_TLS)):
        for name in names:
            assert name in values, "nm finds no %s in %s" % (name, symbol_file)
            assert manifest[group][name] == values[name], name


def test_types_object_dwarf5(compiler_layout):
    assert_types_are_the_compilers(manifest_of(TYPES_OBJECT), compiler_layout)


def test_types_object_dwarf4(compiler_layout):
    dump = run(["readelf", "--debug-dump=info", TYPES_OBJECT_DWARF4]).stdout
    versions = {line.split()[-1] for line in dump.splitlines() if "Version:" in line}
    assert versions == {"4"}, "the object is not DWARF 4 only"
    assert_types_are_the_compilers(manifest_of(TYPES_OBJECT_DWARF4), compiler_layout)


def test_library_manifest_complete_and_exact(compiler_layout):
    manifest = manifest_of(LIBRARY, "--check")
    assert_types_are_the_compilers(manifest, compiler_layout)
    assert_symbols_are_nms(manifest, LIBRARY)
    build_id = readelf_build_id(LIBRARY)
    assert len(build_id) >= 16
    assert manifest["build_id"] == build_id
    assert manifest["debug_file"] is None
    assert "got_slot" in manifest["tls_access"]


@pytest.mark.skipif(not os.path.exists(LIBC_MANIFEST),
                    reason="no glibc manifest (libc6-dbg is not installed)")
def test_system_libc_manifest(compiler_layout):
    """glibc 2.36 through libc6-dbg, its debug file found by build-id: same layout as ours."""
    libc = os.path.realpath(run(["gcc", "-print-file-name=libc.so.6"]).stdout.strip())
    manifest = manifest_of(libc, "--check")
    assert_types_are_the_compilers(manifest, compiler_layout)
    build_id = readelf_build_id(libc)
    assert manifest["build_id"] == build_id
    debug_file = "/usr/lib/debug/.build-id/%s/%s.debug" % (build_id[:2], build_id[2:])
    assert manifest["debug_file"] == os.path.basename(debug_file)
    assert_symbols_are_nms(manifest, debug_file)
    # What the build wrote is what ptm-layout says now.
    with open(LIBC_MANIFEST, encoding="utf-8") as handle:
        assert json.load(handle) == manifest
