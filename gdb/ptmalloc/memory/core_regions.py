"""What a core file holds, from its own ELF program headers and notes, read straight from it.

gdb answers a read of a core's memory from the core when it can, and otherwise, for memory a
file was mapped at, from that file (the executable, a library).  For a heap that second answer
is wrong without a word: a core whose writable segments were left out (coredump_filter) or cut
off (a core file truncated by a size limit or a full disk) gives the library's initial
`main_arena` from its file, or nothing, and a walk that trusts either reports a healthy empty
heap or a corruption that is not there.  So the extension asks the core itself which bytes it
holds:

- a PT_LOAD segment's first p_filesz bytes are in the core, as far as the file really goes;
- its remaining bytes (p_filesz < p_memsz, or past the end of a truncated file) were mapped in
  the program but are *not in the core*;
- an address in no segment was *not mapped* when the core was made.

The notes say more: NT_FILE names the file behind each file-backed mapping, NT_PRSTATUS gives
one entry per thread (with its registers), NT_AUXV where the executable's program headers were
mapped.  The kernel writes the notes first, gdb's `gcore` last: a cut core may have none."""

import os
import re
import struct

from ..errors import NOT_IN_CORE

_ELF_MAGIC = b"\x7fELF\x02\x01"
_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
_NOTE_HEADER = struct.Struct("<III")
_PT_LOAD, _PT_NOTE = 1, 4
_PF_X, _PF_W = 1, 2
_PN_XNUM = 0xffff
_NT_PRSTATUS, _NT_AUXV, _NT_FILE = 1, 6, 0x46494c45
_NT_GNU_BUILD_ID = 3
_AT_PHDR = 3
# Notes are a few hundred KB even for thousands of threads; a bound keeps a hostile file cheap.
_MAX_NOTES = 64 << 20
_MAX_PROGRAM_HEADERS = 1 << 20
# An executable's own ELF and program headers sit in its first page.
_ELF_HEADERS_SPAN = 4096

NOT_MAPPED = "not mapped in the program when the core was made"

# A shared object's name: its text is never in a gcore'd core, so its segments cannot say it ran
# code.
_SHARED_OBJECT = re.compile(r"\.so(\.[0-9.]+)?$")

_cache = {}  # (path, size, mtime) -> CoreRegions


class Segment:
    """One PT_LOAD: [start, end) in memory, `held_end` the end of the bytes the core file really
    holds (start when none), `offset` in the file, `writable`."""

    __slots__ = ("start", "end", "held_end", "dumped_end", "offset", "writable", "code")

    def __init__(self, start, memory_size, offset, file_size, flags, core_size):
        self.start = start
        self.end = start + memory_size
        self.offset = offset
        self.writable = bool(flags & _PF_W)
        self.code = bool(flags & _PF_X)
        # What the writer dumped (p_filesz), and what of it a truncation left in the file.
        self.dumped_end = start + min(file_size, memory_size)
        self.held_end = start + max(0, min(file_size, memory_size, core_size - offset))


class CoreRegions:
    """The segments, mapped files and threads of one core file."""

    def __init__(self, path):
        self.path = path
        self.size = 0
        self.segments = []   # [Segment], sorted by start
        self.files = []      # [(start, end, file offset, path)] from NT_FILE
        self.thread_count = None  # NT_PRSTATUS notes; None when the notes are not in the file
        self.notes_cut = False
        self.expected_size = 0
        self._auxv = {}
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            self.size = handle.tell()
            self._read(handle)
        self.segments.sort(key=lambda segment: segment.start)
        self._starts = [segment.start for segment in self.segments]

    # -- parsing ------------------------------------------------------------------------------

    def _read(self, handle):
        handle.seek(0)
        header = handle.read(_ELF_HEADER.size)
        if len(header) < _ELF_HEADER.size or not header.startswith(_ELF_MAGIC):
            raise ValueError("not an ELF64 little-endian core")
        fields = _ELF_HEADER.unpack(header)
        phoff, entry_size, count = fields[5], fields[9], fields[10]
        if count == _PN_XNUM:
            count = _extended_count(handle, fields)
        if entry_size < _PROGRAM_HEADER.size or count > _MAX_PROGRAM_HEADERS:
            raise ValueError("implausible program headers")
        handle.seek(phoff)
        table = handle.read(entry_size * count)
        notes = []
        for index in range(len(table) // entry_size):
            kind, flags, offset, vaddr, _paddr, file_size, memory_size, _align = \
                _PROGRAM_HEADER.unpack_from(table, index * entry_size)
            self.expected_size = max(self.expected_size, offset + file_size)
            if kind == _PT_LOAD:
                self.segments.append(Segment(vaddr, memory_size, offset, file_size, flags,
                                             self.size))
            elif kind == _PT_NOTE:
                notes.append((offset, file_size))
        for offset, file_size in notes:
            if offset + file_size > self.size:
                self.notes_cut = True
            handle.seek(offset)
            threads, files, auxv, cut = _read_notes(handle.read(min(file_size, _MAX_NOTES)))
            if threads:
                self.thread_count = (self.thread_count or 0) + threads
            self.files = files or self.files
            self._auxv = auxv or self._auxv
            self.notes_cut = self.notes_cut or cut

    # -- questions ----------------------------------------------------------------------------

    def segment_of(self, address):
        index = _bisect_right(self._starts, address) - 1
        if index >= 0 and address < self.segments[index].end:
            return self.segments[index]
        return None

    def missing(self, address, length):
        """None when the core file holds all `length` bytes at `address`; else (first address
        it lacks, why), `why` starting with NOT_IN_CORE or NOT_MAPPED."""
        cursor, end = address, address + max(length, 1)
        while cursor < end:
            segment = self.segment_of(cursor)
            if segment is None:
                return cursor, NOT_MAPPED
            if cursor >= segment.held_end:
                return cursor, self.why_not_held(segment)
            cursor = min(segment.end, segment.held_end)
        return None

    def held_length(self, address, length):
        """How many bytes from `address` (at most `length`) the core file holds in a row."""
        cursor, end = address, address + length
        while cursor < end:
            segment = self.segment_of(cursor)
            if segment is None or cursor >= segment.held_end:
                break
            cursor = min(segment.held_end, end)
        return cursor - address

    def why_not_held(self, segment):
        """Why the core lacks the end of `segment`, in the user's words."""
        mapped = self.file_at(segment.start)
        what = "a mapping of %s" % mapped if mapped else "anonymous memory"
        if segment.held_end == segment.dumped_end:
            return ("%s: the core leaves out %#x-%#x (%s; the kernel's coredump_filter or "
                    "gcore did not dump it)" % (NOT_IN_CORE, segment.held_end, segment.end, what))
        return ("%s: the core file is cut short (%d of its %d bytes), it ends before %#x-%#x "
                "(%s)" % (NOT_IN_CORE, self.size, self.expected_size, segment.held_end,
                          segment.end, what))

    def is_cut(self):
        return self.size < self.expected_size

    def file_at(self, address):
        """The path of the file mapped at `address` (NT_FILE), or None."""
        for start, end, _offset, path in self.files:
            if start <= address < end:
                return path
        return None

    def writable_regions(self):
        """[(start, end, description)] of every writable segment, held or not: what the
        program had mapped writable, whatever the core kept of it."""
        return [(segment.start, segment.end, self.file_at(segment.start) or "")
                for segment in self.segments if segment.writable]

    def unheld_anonymous(self):
        """[(start, end, why)] of writable anonymous memory the core does not hold: where
        mmapped chunks, heaps or thread stacks may be that nothing can read."""
        gaps = []
        for segment in self.segments:
            if segment.writable and segment.held_end < segment.end and \
                    self.file_at(segment.start) is None:
                gaps.append((segment.held_end, segment.end, self.why_not_held(segment)))
        return gaps

    def executable(self):
        """(path, start of its first mapping) of the program's executable, from AT_PHDR and
        NT_FILE; None when the notes do not say."""
        phdr = self._auxv.get(_AT_PHDR)
        if phdr is None:
            return None
        for start, end, _offset, path in self.files:
            if start <= phdr < end:
                return path, self.code_files().get(path, start)
        return None

    def code_files(self):
        """{path: start of its offset-0 mapping} of every file the program ran code from (one
        of its mappings is executable): the executable, the dynamic linker, the libraries; not
        data files such as the locale archive."""
        with_code = set()
        for start, _end, _offset, path in self.files:
            segment = self.segment_of(start)
            if (segment is not None and segment.code) or _SHARED_OBJECT.search(path):
                with_code.add(path)
        found = {}
        for start, _end, offset, path in self.files:
            if offset == 0 and path in with_code and path not in found:
                found[path] = start
        return found

    def build_id_at(self, start):
        """The build-id (hex) of the ELF image mapped at `start`, read from its headers in the
        core; None when the core does not hold them (coredump_filter bit 4 off) or has none."""
        headers = self._held_bytes(start, _ELF_HEADERS_SPAN)
        if headers is None or not headers.startswith(_ELF_MAGIC):
            return None
        fields = _ELF_HEADER.unpack_from(headers)
        phoff, entry_size, count = fields[5], fields[9], fields[10]
        if entry_size < _PROGRAM_HEADER.size or phoff + entry_size * count > len(headers):
            return None
        bias = None
        notes = []
        for index in range(count):
            kind, _flags, offset, vaddr, _paddr, file_size, _memsz, _align = \
                _PROGRAM_HEADER.unpack_from(headers, phoff + index * entry_size)
            if kind == _PT_LOAD and bias is None:
                bias = start - (vaddr - offset)
            elif kind == _PT_NOTE:
                notes.append((vaddr, file_size))
        for vaddr, file_size in notes:
            data = self._held_bytes((bias or 0) + vaddr, file_size) if bias is not None else None
            found = _build_id_note(data) if data else None
            if found:
                return found
        return None

    def _held_bytes(self, address, length):
        segment = self.segment_of(address)
        if segment is None or address + length > segment.held_end or length > _MAX_NOTES:
            return None
        with open(self.path, "rb") as handle:
            handle.seek(segment.offset + address - segment.start)
            return handle.read(length)


def _extended_count(handle, fields):
    """e_phnum past 0xfffe lives in section header 0's sh_info."""
    shoff = fields[6]
    handle.seek(shoff + 44)
    raw = handle.read(4)
    return struct.unpack("<I", raw)[0] if len(raw) == 4 else 0


def _read_notes(data):
    """(NT_PRSTATUS count, NT_FILE's mapped files, NT_AUXV as a dict, whether the notes are
    cut short) of one PT_NOTE segment's bytes."""
    threads, files, auxv, cut = 0, [], {}, False
    position = 0
    while position + _NOTE_HEADER.size <= len(data):
        name_size, desc_size, kind = _NOTE_HEADER.unpack_from(data, position)
        name_start = position + _NOTE_HEADER.size
        desc_start = name_start + _align4(name_size)
        desc_end = desc_start + desc_size
        if desc_end > len(data):
            cut = True
            break
        name = data[name_start:name_start + name_size].rstrip(b"\0")
        desc = data[desc_start:desc_end]
        if name == b"CORE" and kind == _NT_PRSTATUS:
            threads += 1
        elif name == b"CORE" and kind == _NT_FILE:
            files = _mapped_files(desc)
        elif name == b"CORE" and kind == _NT_AUXV:
            words = struct.unpack_from("<%dQ" % (len(desc) // 8), desc)
            auxv = dict(zip(words[0::2], words[1::2]))
        position = desc_start + _align4(desc_size)
    return threads, files, auxv, cut


def _align4(value):
    return (value + 3) & ~3


def _bisect_right(values, value):
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) // 2
        if value < values[middle]:
            high = middle
        else:
            low = middle + 1
    return low


def _mapped_files(desc):
    """[(start, end, file offset, path)] of an NT_FILE note."""
    if len(desc) < 16:
        return []
    count, page_size = struct.unpack_from("<QQ", desc)
    table_end = 16 + 24 * count
    if table_end > len(desc):
        return []
    names = desc[table_end:].split(b"\0")
    files = []
    for index in range(count):
        start, end, page_offset = struct.unpack_from("<QQQ", desc, 16 + 24 * index)
        name = names[index].decode("utf-8", "replace") if index < len(names) else "?"
        files.append((start, end, page_offset * page_size, name))
    return files


def _build_id_note(data):
    position = 0
    while position + _NOTE_HEADER.size <= len(data):
        name_size, desc_size, kind = _NOTE_HEADER.unpack_from(data, position)
        name_start = position + _NOTE_HEADER.size
        desc_start = name_start + _align4(name_size)
        if desc_start + desc_size > len(data):
            return None
        if kind == _NT_GNU_BUILD_ID and data[name_start:name_start + name_size] == b"GNU\0":
            return data[desc_start:desc_start + desc_size].hex()
        position = desc_start + _align4(desc_size)
    return None


def of_file(path):
    """The CoreRegions of the core file at `path` (cached per version of the file), or None
    when it cannot be read as an ELF core."""
    try:
        status = os.stat(path)
        key = (path, status.st_size, status.st_mtime_ns)
        regions = _cache.get(key)
        if regions is None:
            regions = CoreRegions(path)
            _cache[key] = regions
        return regions
    except (OSError, ValueError, struct.error, OverflowError):
        return None
