"""A live process's memory read straight from the kernel, for the big reads of heap segments.

gdb reads a live inferior through /proc/PID/mem into a buffer it has just allocated, so every
page of a heap segment costs a page fault as the read fills it in; for the tens of megabytes of a
big heap the faults cost more than the copy.  process_vm_readv into a buffer whose pages are made
in one go (huge pages where the kernel gives them) reads the same bytes in a fraction of the time.

Only for gdb's native target: there inferior.pid is a process of this machine that gdb traces,
which is also what lets us read it.  A remote target's pid names a process elsewhere.  Anything
else (no permission, a seccomp filter, a short read because part of the range is unmapped)
answers None, and the caller reads through gdb as before.

A range of private anonymous memory (a heap) is read sparsely: a page the program never touched
(neither present nor swapped out, says /proc/PID/pagemap) reads as zeros, so it is left out of
the read, which would make the kernel give the program that page, and stays an untouched zero
page in gdb's buffer too.  A main heap of gigabytes that the program reserved but never wrote
then costs gdb nothing.  The kernel moves at most MAX_RW_COUNT (2 GiB less a page) per call, so
a larger range is read in parts."""

import array
import ctypes
import mmap
import re

# Below this, gdb's read is as quick and the mapping not worth making (a fresh heap's main
# segment is 132 KB).
MIN_LENGTH = 64 << 10
# A column of zeros this long or longer is made in huge pages (zeroed): one huge page and more.
LARGE = 2 << 20
_PAGE = mmap.PAGESIZE
# madvise(MADV_POPULATE_WRITE) (Linux 5.14): the pages of one part of a buffer made in one go,
# as MAP_POPULATE makes them all, but after madvise(MADV_HUGEPAGE) has asked for huge pages:
# into 2 MiB pages the kernel copies a heap three to eight times as fast as into 4 KiB ones, and
# the walks that follow miss the TLB far less.  Python 3.11's mmap has no name for it.
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)
# A pagemap entry's top byte: bit 63 (present) or bit 62 (swapped) set means the page holds data.
_HOLDS_DATA = bytes(1 if byte & 0xc0 else 0 for byte in range(256))
_RUN_OF_PAGES = re.compile(b"\x01+")
_READ_PART = 1 << 30


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def _load():
    try:
        function = ctypes.CDLL(None, use_errno=True).process_vm_readv
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_ulong,
                         ctypes.POINTER(_IoVec), ctypes.c_ulong, ctypes.c_ulong]
    function.restype = ctypes.c_ssize_t
    return function


_process_vm_readv = _load()


def is_native(inferior):
    connection = getattr(inferior, "connection", None)
    return connection is not None and getattr(connection, "type", None) == "native" and \
        inferior.pid > 0


def read(inferior, address, length):
    """A writable memoryview of the `length` bytes at `address` in the live inferior, or None
    when they cannot be read this way."""
    if _process_vm_readv is None or length < MIN_LENGTH or not is_native(inferior):
        return None
    runs = _runs_holding_data(inferior.pid, address, length)
    try:
        buffer = mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, ValueError, OverflowError):
        return None
    _advise(buffer, getattr(mmap, "MADV_HUGEPAGE", None), 0, length)
    window = (ctypes.c_char * length).from_buffer(buffer)
    complete = True
    for offset, size in _in_parts(runs if runs is not None else [(0, length)]):
        _populate(buffer, offset, size)
        local = _IoVec(ctypes.addressof(window) + offset, size)
        remote = _IoVec(address + offset, size)
        done = _process_vm_readv(inferior.pid, ctypes.byref(local), 1, ctypes.byref(remote), 1,
                                 0)
        if done != size:
            complete = False
            break
    del window  # the buffer can be closed only once nothing else holds it
    if not complete:
        buffer.close()
        return None
    return memoryview(buffer)


def buffer(length):
    """A writable anonymous buffer of `length` bytes in huge pages where the kernel gives them,
    made present at once, to be read into again and again (a window over a big heap)."""
    made = mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    _advise(made, getattr(mmap, "MADV_HUGEPAGE", None), 0, length)
    _populate(made, 0, length)
    return made


def zeroed(typecode, count):
    """`count` zeros of the array typecode `typecode`, to be filled in place: past LARGE bytes
    a memoryview of that format over a buffer(), else an array.  On this kind of virtual
    machine a fresh array's 4 KiB pages cost more, faulted in one by one and then missed in
    the TLB, than writing them: a ten-million-row column in huge pages made at once is written
    in half the time."""
    length = count * array.array(typecode).itemsize
    if length >= LARGE:
        try:
            return memoryview(buffer(length)).cast(typecode)
        except (OSError, ValueError, OverflowError):
            pass  # no such mapping: an array, with its faults
    return array.array(typecode, (0,)) * count


def read_into(inferior, address, target, length):
    """Read the `length` bytes at `address` of the live inferior into the start of `target`
    (a writable buffer, such as buffer() makes): True, or False when they cannot be read this
    way.  Pages the program never touched read as zeros without being read, as in read()."""
    if _process_vm_readv is None or not is_native(inferior) or length > len(target):
        return False
    runs = _runs_holding_data(inferior.pid, address, length)
    window = (ctypes.c_char * len(target)).from_buffer(target)
    try:
        cursor = 0
        for offset, size in _in_parts(runs if runs is not None else [(0, length)]):
            ctypes.memset(ctypes.addressof(window) + cursor, 0, offset - cursor)
            local = _IoVec(ctypes.addressof(window) + offset, size)
            remote = _IoVec(address + offset, size)
            if _process_vm_readv(inferior.pid, ctypes.byref(local), 1, ctypes.byref(remote), 1,
                                 0) != size:
                return False
            cursor = offset + size
        ctypes.memset(ctypes.addressof(window) + cursor, 0, length - cursor)
        return True
    finally:
        del window


def never_written(inferior, address, length):
    """Whether the live inferior's [address, address + length) is private anonymous memory of
    which the program touched no page (pagemap): all zeros, so nothing there points anywhere.
    False whenever that cannot be told."""
    if _process_vm_readv is None or not is_native(inferior):
        return False
    return _runs_holding_data(inferior.pid, address, length) == []


def _in_parts(runs):
    for offset, size in runs:
        for part in range(offset, offset + size, _READ_PART):
            yield part, min(_READ_PART, offset + size - part)


def _populate(buffer, offset, size):
    """The pages of one part of the buffer made before the read fills them (an older kernel
    without MADV_POPULATE_WRITE: the read faults them in one by one)."""
    start = offset - offset % _PAGE
    _advise(buffer, _MADV_POPULATE_WRITE, start, offset + size - start)


def _advise(buffer, advice, start, length):
    if advice is None:
        return
    try:
        buffer.madvise(advice, start, length)
    except (OSError, ValueError, AttributeError):
        pass


def _runs_holding_data(pid, address, length):
    """[(offset, size)] of the parts of [address, address + length) in pages the process has
    touched, when the whole range is private anonymous memory and its pagemap can be read;
    else None (read it all)."""
    if address % _PAGE or not _private_anonymous(pid, address, address + length):
        return None
    first, pages = address // _PAGE, (length + _PAGE - 1) // _PAGE
    try:
        with open("/proc/%d/pagemap" % pid, "rb") as pagemap:
            pagemap.seek(first * 8)
            entries = pagemap.read(pages * 8)
    except (OSError, ValueError, OverflowError):
        return None
    if len(entries) != pages * 8:
        return None
    marks = entries[7::8].translate(_HOLDS_DATA)
    runs = []
    for match in _RUN_OF_PAGES.finditer(marks):
        offset = match.start() * _PAGE
        runs.append((offset, min(match.end() * _PAGE, length) - offset))
    return runs


def _private_anonymous(pid, start, end):
    """True when /proc/PID/maps covers [start, end) with private mappings of no file."""
    try:
        with open("/proc/%d/maps" % pid, encoding="utf-8", errors="replace") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return False
    covered = start
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 5 or "-" not in parts[0]:
            continue
        low, high = (int(value, 16) for value in parts[0].split("-"))
        if high <= covered:
            continue
        if low > covered:
            return False  # a hole in the range
        name = parts[5].strip() if len(parts) > 5 else ""
        if parts[1][3:4] != "p" or parts[4] != "0" or (name and not name.startswith("[heap]")
                                                        and not name.startswith("[anon")):
            return False
        covered = high
        if covered >= end:
            return True
    return False
