"""malloc's globals sit at glibc's distances from main_arena, in the same kind of section, so an
exploit technique that reaches mp_, global_max_fast, tcache_key or (2.31) __free_hook from a
leaked main_arena pointer behaves the same on the clone.  Both layouts are read the same way, from
the symbols and DWARF gdb loads: glibc's through libc6-dbg (PTM_GLIBC=2.31 or 2.41: the fetched
release's), the clone's from build/libptmalloc.so (build/libptmalloc-RELEASE.so).  A program that links
libptmalloc.a places .bss itself, so there the .data distances and the order inside the .bss
cluster are checked, not the distance between the two (2.36 only: no program links the clone of another release)."""
import re
import subprocess

import pytest

import difftools

GLIBC = str(difftools.GLIBC_LIBC)
DEBUG_FILE_DIRECTORY = str(difftools.GLIBC_ROOT / "usr/lib/debug")
LINKED_IN = difftools.BUILD / "samples" / "known" / "every_bin-static"

# Each global with the expressions that name it, tried in turn: the arena limit is a static of
# arena_get2 in glibc and a hidden global in the clone.
NARENAS_LIMIT = ["arena_get2::narenas_limit", "narenas_limit"]
# 2.36's, also 2.41's (there global_max_fast is one byte, with __always_fail_morecore after it).
SINCE_2_34 = ({"narenas": ["narenas"], "mp_": ["mp_"]}, {
        "narenas_limit": NARENAS_LIMIT,
        "tcache_key": ["tcache_key"],
        "aligned_heap_area": ["aligned_heap_area"],
        "__malloc_initialized": ["__malloc_initialized"],
        "list_lock": ["list_lock"],
        "free_list": ["free_list"],
        "free_list_lock": ["free_list_lock"],
        "perturb_byte": ["perturb_byte"],
        "global_max_fast": ["global_max_fast"],
        "__always_fail_morecore": ["__always_fail_morecore"],
    })
GLOBALS = {
    "2.36": SINCE_2_34,
    "2.41": SINCE_2_34,
    # The hooks of 2.31 below main_arena in .data and after it in .bss, where its exploits look.
    "2.31": ({name: [name] for name in ("__libc_malloc_initialized", "narenas", "mp_",
                                        "__memalign_hook", "__realloc_hook", "__malloc_hook",
                                        "__morecore")},
             dict({name: [name] for name in ("__after_morecore_hook", "__free_hook",
                                             "__malloc_initialize_hook", "using_malloc_checking",
                                             "aligned_heap_area", "list_lock", "free_list",
                                             "free_list_lock", "perturb_byte", "global_max_fast")},
                  narenas_limit=NARENAS_LIMIT)),
}
DATA_GLOBALS, BSS_GLOBALS = GLOBALS[difftools.RELEASE]
# What the release's own libc says, checked first: if Debian moves these, the clone needs a look.
REFERENCE = {
    "2.36": {"mp_": (-0x920, ".data"), "tcache_key": (0x6818, ".bss"),
             "__always_fail_morecore": (0x6848, ".bss")},
    "2.41": {"mp_": (-0x940, ".data"), "tcache_key": (0x6758, ".bss"),
             "global_max_fast": (0x6780, ".bss"), "__always_fail_morecore": (0x6781, ".bss")},
    "2.31": {"mp_": (-0x900, ".data"), "__malloc_hook": (-0x10, ".data"),
             "__free_hook": (0x2610, ".bss")},
}
PLACEMENT = re.compile(r"^@@ (\S+) (-?\d+) .* in section (\S+)")


def placements(objfile):
    """{global: (offset from main_arena, section name)} as gdb sees them in `objfile`."""
    command = ["gdb", "-batch", "-nx", "-iex", "set debug-file-directory " + DEBUG_FILE_DIRECTORY,
               objfile]
    for name, expressions in {**DATA_GLOBALS, **BSS_GLOBALS}.items():
        for expression in expressions:
            address = "(long)&%s" % expression
            command += ["-ex", 'python\ntry:\n'
                        '  o = int(gdb.parse_and_eval("%s - (long)&main_arena"))\n'
                        '  s = gdb.execute("info symbol %s", to_string=True).strip()\n'
                        '  print("@@ %s %%d %%s" %% (o, s))\n'
                        'except gdb.error:\n  pass\nend' % (address, address, name)]
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=120, check=False)
    found = {}
    for line in completed.stdout.splitlines():
        match = PLACEMENT.match(line)
        if match and match.group(1) not in found:
            found[match.group(1)] = (int(match.group(2)), match.group(3))
    return found, completed.stdout


@pytest.fixture(scope="module")
def glibc_placements():
    found, output = placements(GLIBC)
    missing = sorted((set(DATA_GLOBALS) | set(BSS_GLOBALS)) - set(found))
    if missing:
        pytest.fail("gdb cannot place %s in glibc: is libc6-dbg installed?\n%s"
                    % (", ".join(missing), output[-2000:]), pytrace=False)
    return found


@pytest.fixture(scope="module")
def clone_placements():
    return placements(str(difftools.CLONE))


def _section_kind(section):
    return ".bss" if section.startswith(".bss") else section


def test_glibc_layout_is_the_one_the_clone_copies(glibc_placements):
    """The reference itself: if Debian's glibc moves these, the clone's layout needs a new look."""
    for name, placement in REFERENCE[difftools.RELEASE].items():
        assert glibc_placements[name] == placement, name


@pytest.mark.parametrize("name", list(DATA_GLOBALS) + list(BSS_GLOBALS))
def test_shared_library_places_global_as_glibc(name, glibc_placements, clone_placements):
    clone, output = clone_placements
    assert name in clone, "gdb cannot place %s in the clone:\n%s" % (name, output[-2000:])
    glibc_offset, glibc_section = glibc_placements[name]
    offset, section = clone[name]
    assert (offset, _section_kind(section)) == (glibc_offset, glibc_section), (
        "%s: %#x in %s from main_arena, glibc: %#x in %s"
        % (name, offset, section, glibc_offset, glibc_section))


@pytest.mark.skipif(not difftools.SYSTEM_RELEASE, reason="no program links the clone of another release in")
def test_linked_in_library_keeps_data_offsets_and_bss_order(glibc_placements):
    linked, output = placements(str(LINKED_IN))
    assert set(linked) >= set(DATA_GLOBALS) | set(BSS_GLOBALS), output[-2000:]
    for name in DATA_GLOBALS:
        assert linked[name] == glibc_placements[name], name
    first = next(iter(BSS_GLOBALS))
    for name in BSS_GLOBALS:
        expected = glibc_placements[name][0] - glibc_placements[first][0]
        assert linked[name][0] - linked[first][0] == expected, name
        assert _section_kind(linked[name][1]) == ".bss", (name, linked[name][1])
