"""A core dump's writable memory, straight from the core file.

gdb reads a core's memory out of the file's load sections; for a heap of a hundred megabytes that
read, and the copy it hands to Python, cost more than the whole walk.  `maint info sections`
names the core file and gives each load section's address range and file offset, so the same
bytes can be mapped from the file instead: no read, no copy, and pages are only touched when the
walk touches them.  The mapping is private copy-on-write (ctypes needs a writable buffer; nothing
writes to it).  Each section's first, middle and last bytes are compared with what gdb reads
before the section is trusted, and anything unexpected falls back to gdb's own reads."""

import mmap
import os
import re

import gdb

_CORE_FILE = re.compile(r"^Core file: `(.*)', file type")
_SECTION = re.compile(r"\[\d+\]\s+(0x[0-9a-f]+)->(0x[0-9a-f]+) at (0x[0-9a-f]+): (load\d+\S*) (.*)$")
# Enough bytes to tell a wrong file offset from a right one.
_PROBE_BYTES = 256

_mapped = {}  # (path, size, mtime) -> _MappedCore of a core file, shared by every stop
# Core files kept mapped at once: a session that opens core after core (or one file rewritten
# again and again) would otherwise keep every one's mapping and open file until gdb's address
# space ran out.  A mapping let go is unmapped once no stop's buffer still views it.
_MAPPED_CORES = 4


class CoreSections:
    """The writable load sections of the core gdb has open: `regions` [(start, end, name)], and
    `view(address, length)`, the file's bytes for that range, or None."""

    def __init__(self, text):
        self.regions = []
        self._sections = []  # (start, end, file offset), sorted by start
        self._trusted = {}   # section start -> whether its bytes match gdb's
        self._file = None
        path = None
        in_core = False
        for line in text.splitlines():
            header = _CORE_FILE.match(line)
            if header:
                in_core, path = True, header.group(1)
                continue
            if not in_core:
                continue
            match = _SECTION.search(line)
            if match and "READONLY" not in match.group(5) and "HAS_CONTENTS" in match.group(5):
                start, end = int(match.group(1), 16), int(match.group(2), 16)
                self.regions.append((start, end, match.group(4)))
                self._sections.append((start, end, int(match.group(3), 16)))
        self._sections.sort()
        self._path = path

    def path(self):
        """The core file gdb has open, as `maint info sections` names it (None if unknown)."""
        return self._path

    def view(self, inferior, address, length):
        """A writable memoryview of the core file's bytes at [address, address + length) when
        one section holds them all and its bytes are trusted; else None."""
        place = self._place(inferior, address, length)
        if place is None:
            return None
        first = place[1]
        return memoryview(place[0].mapping)[first:first + length]

    def file_extent(self, inferior, address, length):
        """(file descriptor, offset) of the core file's bytes at [address, address + length),
        open for as long as gdb's core is, when one section holds them all and its bytes are
        trusted, for a reader that copies them out (os.pread) instead of mapping them; else
        None."""
        place = self._place(inferior, address, length)
        return None if place is None else (place[0].handle.fileno(), place[1])

    def _place(self, inferior, address, length):
        """(the _MappedCore, the file offset of `address`) when one trusted section holds
        [address, address + length), else None."""
        for start, end, offset in self._sections:
            if start <= address and address + length <= end:
                core = self._core()
                if core is None or offset + (end - start) > len(core.mapping):
                    return None
                if not self._trust(inferior, core.mapping, start, offset, end - start):
                    return None
                return core, offset + address - start
        return None

    def _core(self):
        if self._file is None and self._path:
            self._file = _map(self._path) or False
        return self._file or None

    def _trust(self, inferior, core, start, offset, size):
        """Whether the file's bytes for the section at `start` are the ones gdb reads: its
        first, middle and last bytes are compared (a core rewritten under the same name since
        gdb opened it would differ somewhere)."""
        trusted = self._trusted.get(start)
        if trusted is None:
            probe = min(size, _PROBE_BYTES)
            trusted = True
            for at in sorted({0, (size // 2) & ~7, size - probe}):
                try:
                    seen = bytes(inferior.read_memory(start + at, probe))
                except (gdb.MemoryError, gdb.error):
                    seen = None
                if seen != core[offset + at:offset + at + probe]:
                    trusted = False
                    break
            self._trusted[start] = trusted
        return trusted


class _MappedCore:
    """A core file's bytes mapped (`mapping`), and the file they were mapped from (`handle`),
    kept open so that a reader copying bytes out reads the very file that was mapped."""

    __slots__ = ("mapping", "handle")

    def __init__(self, mapping, handle):
        self.mapping, self.handle = mapping, handle


def _map(path):
    try:
        status = os.stat(path)
        key = (path, status.st_size, status.st_mtime_ns)
        core = _mapped.get(key)
        if core is None:
            handle = open(path, "rb")  # kept open by the _MappedCore
            try:
                core = _MappedCore(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY), handle)
            except (OSError, ValueError):
                handle.close()
                raise
            for stale in [known for known in _mapped if known[0] == path]:
                del _mapped[stale]  # an older version of this file
            while len(_mapped) >= _MAPPED_CORES:
                del _mapped[next(iter(_mapped))]  # the one mapped longest ago
            _mapped[key] = core
        return core
    except (OSError, ValueError):
        return None


def inferior_is_core():
    inferior = gdb.selected_inferior()
    connection = getattr(inferior, "connection", None)
    return connection is not None and getattr(connection, "type", None) == "core"


def sections():
    """The CoreSections of the core gdb has open (empty when it cannot tell)."""
    try:
        text = gdb.execute("maint info sections", to_string=True)
    except gdb.error:
        text = ""
    return CoreSections(text)
