"""Which glibc release the allocator is, and the malloc behaviour each release changed.

The release is read from the file, not guessed from what the types happen to contain:
- glibc: the version banner every libc carries in its file ("GNU C Library (...) stable release
  version 2.31."), else the number in its file name (libc-2.31.so; 2.34 on name it libc.so.6
  only);
- the clone: the constant its build records in DWARF (dwarf/types.c's anchor member
  `glibc_release`, GLIBC_VERSION of allocator/version.h: 231 or 236), else (a stripped build)
  the banner allocator/release.c puts in its file.
Only when nothing says (a clone built before both) is the release taken from the layout, and
marked unknown (`inferred`).

What a release changed in malloc is stated once, in Release, from the release notes (and
allocator/version.h, which names the same differences for the clone's build)."""

import os
import re

# The banner's words before the version, as glibc's version.c prints them; and the clone's
# (allocator/release.c), which a stripped build keeps too.
_BANNER = re.compile(rb"GNU C Library [^\n\0]{0,200}? release version (\d+)\.(\d+)")
_CLONE_BANNER = re.compile(rb"ptmalloc2 clone built as glibc release version (\d+)\.(\d+)")
_FILE_NAME = re.compile(r"^libc-(\d+)\.(\d+)\.so$")
# Past any glibc's rodata; a bound keeps a hostile file cheap.
_MAX_READ = 64 << 20
_cache = {}


class Release:
    """A glibc release, e.g. Release(2, 31), and what malloc does in it.

    `safe_linking` (2.32: tcache next and fastbin fd stored xored with their slot's page, and
    every pointer taken from those lists checked for alignment first), `tcache_scan_bounded`
    (2.33: free's double-free scan of a tcache bin stops past tcache_count entries and checks
    each entry's alignment), `tcache_key_is_random` (2.34: the key stamped into a cached chunk
    is the random word tcache_key; before, the owning thread's tcache address), `hooks_live`
    (before 2.34: malloc, free, realloc and memalign call __malloc_hook & co.)."""

    __slots__ = ("major", "minor", "known")

    def __init__(self, major, minor, known=True):
        self.major = major
        self.minor = minor
        self.known = known

    def at_least(self, major, minor):
        return (self.major, self.minor) >= (major, minor)

    @property
    def safe_linking(self):
        return self.at_least(2, 32)

    @property
    def tcache_scan_bounded(self):
        return self.at_least(2, 33)

    @property
    def tcache_key_is_random(self):
        return self.at_least(2, 34)

    @property
    def hooks_live(self):
        return not self.at_least(2, 34)

    def __str__(self):
        return "%d.%d" % (self.major, self.minor)

    def __repr__(self):
        return "Release(%d, %d)" % (self.major, self.minor)


def of_file(path, clone):
    """The Release of the libc (or a program with glibc linked in) at `path`, from its banner
    or its file name, or (`clone`) of the clone's file from its own banner; None when none
    says."""
    glibc_banner, clone_banner = _cached_banners(path)
    # A program with glibc linked in statically is no libc file, yet carries glibc's banner.
    found = (clone_banner or glibc_banner) if clone else glibc_banner
    if found is None and not clone:
        match = _FILE_NAME.match(os.path.basename(path or ""))
        found = (int(match.group(1)), int(match.group(2))) if match else None
    return Release(*found) if found else None


def of_clone_constant(value):
    """The Release of a clone build whose recorded GLIBC_VERSION is `value` (e.g. 231)."""
    return Release(value // 100, value % 100)


def inferred(layouts, addresses):
    """The oldest release whose layout matches, when neither file nor build says which it is
    (a stripped clone described by a manifest): the random tcache_key came in 2.34, mp_'s
    hp_pagesize in 2.35.  Marked not known, so what is shown says so."""
    if layouts["par"].has("hp_pagesize"):
        return Release(2, 35, known=False)
    if "tcache_key" in addresses:
        return Release(2, 34, known=False)
    return Release(2, 30, known=False)


def _cached_banners(path):
    """(glibc's banner, the clone's banner) of the file, each (major, minor) or None."""
    try:
        status = os.stat(path)
    except (OSError, TypeError):
        return None, None
    key = (path, status.st_size, status.st_mtime_ns)
    if key not in _cache:
        _cache[key] = _read_banners(path)
    return _cache[key]


def _read_banners(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_READ)
    except OSError:
        return None, None
    return tuple((int(match.group(1)), int(match.group(2))) if match else None
                 for match in (_BANNER.search(data), _CLONE_BANNER.search(data)))
