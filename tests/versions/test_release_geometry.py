"""The geometry (gdb/ptmalloc/target/geometry.py) read from each release against what that
release is: the rules follow the release (2.31: plain links, the tcache pointer as key, an
unbounded double-free scan, live hooks; 2.41 as 2.36), the numbers its DWARF (2.31's mp_ has
no hp_pagesize, so its thread heaps are HEAP_MAX_SIZE, 64 MiB; tcache counts are uint16_t
since 2.30)."""
import json

import pytest

from release_session import oracle_harness, run

DUMP = ("python import json; from ptmalloc.model import snapshot; snap = snapshot.current(); "
        "geometry = snap.geometry; gdb.write(json.dumps(dict({name: value for name, value in "
        "vars(geometry).items() if isinstance(value, int)}, release=str(geometry.release), "
        "hp_pagesize='hp_pagesize' in snap.mp, describe=snap.allocator.describe())) + '\\n')")
COMMON = {"tcache_count_size": 2, "heap_max_size": 64 << 20, "heap_alignment": 64 << 20,
          "tcache_bin_count": 64, "min_chunk_size": 32}
EXPECTED = {
    "glibc-2.31": dict(COMMON, release="2.31", safe_linking=False, tcache_key_is_random=False,
                       tcache_scan_bounded=False, hooks_live=True, hp_pagesize=False),
    "clone-2.31": dict(COMMON, release="2.31", safe_linking=False, tcache_key_is_random=False,
                       tcache_scan_bounded=False, hooks_live=True, hp_pagesize=False),
    "glibc-2.41": dict(COMMON, release="2.41", safe_linking=True, tcache_key_is_random=True,
                       tcache_scan_bounded=True, hooks_live=False, hp_pagesize=True),
    "clone-2.41": dict(COMMON, release="2.41", safe_linking=True, tcache_key_is_random=True,
                       tcache_scan_bounded=True, hooks_live=False, hp_pagesize=True),
}
DESCRIBED = {"glibc-2.31": "glibc 2.31 in ", "clone-2.31": "ptmalloc clone (glibc 2.31) in ",
             "glibc-2.41": "glibc 2.41 in ", "clone-2.41": "ptmalloc clone (glibc 2.41) in "}


@pytest.mark.parametrize("allocator", sorted(EXPECTED))
def test_geometry_follows_the_release(allocator, tmp_path):
    program, _settings = oracle_harness.ALLOCATORS[allocator]
    arguments = [str(tmp_path / "record"), "1", "none", "1"]
    out = run(allocator, program, arguments, "oracle_stop", [[("geometry", DUMP)]])
    geometry = json.loads(out[(1, "geometry")].splitlines()[-1])
    assert {name: geometry.get(name) for name in EXPECTED[allocator]} == EXPECTED[allocator]
    assert geometry["describe"].startswith(DESCRIBED[allocator])
