"""Which bytes a core file holds, from its program headers: the oracle's own reading, kept
apart from the extension's (gdb/ptmalloc/core_regions.py) so that the two are not the same
code judging itself.  A PT_LOAD segment holds its first p_filesz bytes, as far as the file
really goes; the rest of its p_memsz bytes were in the program but are not in the core."""
import os
import struct


def held_ranges(path):
    """[[start, end]] of the memory whose bytes the core file holds."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        header = handle.read(64)
        phoff, = struct.unpack_from("<Q", header, 32)
        entry_size, count = struct.unpack_from("<HH", header, 54)
        handle.seek(phoff)
        table = handle.read(entry_size * count)
    held = []
    for index in range(len(table) // entry_size):
        kind, _flags, offset, vaddr, _paddr, file_size, memory_size, _align = \
            struct.unpack_from("<IIQQQQQQ", table, index * entry_size)
        if kind == 1:
            length = max(0, min(file_size, memory_size, size - offset))
            if length:
                held.append([vaddr, vaddr + length])
    return held


def holds(ranges, address, length):
    return any(start <= address and address + length <= end for start, end in ranges)
