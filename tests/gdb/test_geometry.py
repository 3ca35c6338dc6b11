"""The geometry the extension reads from the target (gdb/ptmalloc/target/geometry.py) against glibc
2.36's published numbers for x86-64 (shared/GLIBC-2.36-FACTS.md), on glibc and on the clone;
and no other module of the extension spelling an allocator number of its own."""

import io
import json
import os
import re
import tokenize

import pytest

from conftest import (ALL_VARIANTS, REPO, binary, gdb_argv, marked, require_variant, run_gdb,
                      sections)

# glibc 2.36 on x86-64, with the tunables at their defaults.
EXPECTED = {
    "size_sz": 8, "header_size": 16, "alignment": 16, "min_chunk_size": 32,
    "prev_size_offset": 0, "size_offset": 8, "fd_offset": 16, "bk_offset": 24,
    "fd_nextsize_offset": 32, "bk_nextsize_offset": 40,
    "fastbin_count": 10, "bin_count": 128, "bin_stride": 16, "small_bin_count": 64,
    "min_large_size": 1024, "binmap_words": 4, "binmap_word_bits": 32,
    "tcache_bin_count": 64, "tcache_count_size": 2, "tcache_next_offset": 0,
    "tcache_key_offset": 8, "tcache_key_is_random": True, "safe_linking": True,
    "heap_max_size": 64 << 20, "heap_alignment": 64 << 20, "page_size": 4096,
}
DUMP = ("python import json; from ptmalloc.model import snapshot; geometry = snapshot.current().geometry; "
        "gdb.write(json.dumps({name: value for name, value in vars(geometry).items() "
        "if isinstance(value, int)}) + '\\n')")


@pytest.mark.parametrize("variant", ["glibc", "preload"])
def test_geometry_matches_glibc_2_36(tmp_path, variant):
    require_variant(variant)
    commands = ["break sample_checkpoint", "run %s" % (tmp_path / "record.txt")] + \
        marked([("geometry", DUMP)])
    output = run_gdb(gdb_argv(binary("every_bin", variant), commands, ALL_VARIANTS[variant][1]),
                     str(tmp_path))
    geometry = json.loads(sections(output)["geometry"].splitlines()[-1])
    assert {name: geometry.get(name) for name in EXPECTED} == EXPECTED


# What the allocator's numbers were called before geometry.py owned them: no module spells
# them any more, and none reveals a safe-linked pointer by its own shift.
_RETIRED_NAMES = {"CHUNK_HDR_SZ", "MINSIZE", "MALLOC_ALIGNMENT", "SIZE_BITS", "SIZE_SZ",
                  "HEAP_MAX_SIZE", "PREV_INUSE", "IS_MMAPPED", "NON_MAIN_ARENA", "NBINS",
                  "NSMALLBINS", "MIN_LARGE_SIZE", "PAGE_SIZE", "NONCONTIGUOUS_BIT"}
_OWN_SHIFT = re.compile(r">>\s*12\b")


def _code_tokens(path):
    """The module's tokens without comments and strings (docstrings explain the numbers)."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    return [token for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type not in (tokenize.COMMENT, tokenize.STRING)]


def _extension_modules():
    package = os.path.join(REPO, "gdb", "ptmalloc")
    for folder, _subfolders, names in os.walk(package):
        for name in sorted(names):
            if name.endswith(".py") and name != "geometry.py":
                yield os.path.join(folder, name)


def test_no_module_but_geometry_knows_an_allocator_number():
    offenders = []
    for path in _extension_modules():
        tokens = _code_tokens(path)
        names = {token.string for token in tokens if token.type == tokenize.NAME}
        code = " ".join(token.string for token in tokens)
        for name in sorted(names & _RETIRED_NAMES):
            offenders.append("%s uses %s" % (os.path.relpath(path, REPO), name))
        if _OWN_SHIFT.search(code):
            offenders.append("%s reveals a safe-linked pointer itself" % os.path.relpath(path, REPO))
    assert offenders == []
