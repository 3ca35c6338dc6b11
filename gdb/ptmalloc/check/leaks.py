"""Leak search for `heap check --leaks`: in-use chunks that nothing live points at any more.

A conservative reachability scan, the way leak checkers for C do it: the roots are every
writable mapping that is not heap (globals of every object, the live part of each thread's stack
from its stack pointer up, thread control blocks, other anonymous memory) and every thread's
registers; any aligned word that points into an in-use chunk (at its start or inside it) makes
that chunk reachable, and a reachable chunk's own words are scanned in turn.  What is left was
allocated and then lost.  Free chunks are never candidates and never roots, so stale pointers in
freed memory do not hide a leak.  Being conservative, the scan can miss a leak (an integer that
happens to look like a pointer) but does not report memory that is still referenced."""

import bisect

import gdb

from .. import constants as C
from ..errors import HeapReadError
from ..model.states import ChunkState

_REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
              "r12", "r13", "r14", "r15")
_SCAN_STEP = 1 << 20


class Leak:
    __slots__ = ("address", "size", "user_address")

    def __init__(self, address, size, user_address):
        self.address = address
        self.size = size
        self.user_address = user_address


def _threads_sp_and_registers():
    """[(stack pointer, [register values])] of every thread; the selection is put back."""
    results = []
    try:
        original = gdb.selected_thread()
    except gdb.error:
        original = None
    try:
        for thread in gdb.selected_inferior().threads():
            try:
                thread.switch()
                frame = gdb.newest_frame()
                values = []
                for name in _REGISTERS:
                    try:
                        values.append(int(frame.read_register(name)) & C.MASK64)
                    except (gdb.error, ValueError):
                        pass
                sp = int(frame.read_register("rsp")) & C.MASK64
                results.append((sp, values))
            except gdb.error:
                continue
    finally:
        if original is not None and original.is_valid():
            original.switch()
    return results


def _subtract(start, end, holes):
    """[start, end) minus the sorted, disjoint `holes`."""
    pieces = []
    cursor = start
    for low, high in holes:
        if high <= cursor or low >= end:
            continue
        if low > cursor:
            pieces.append((cursor, low))
        cursor = max(cursor, high)
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


class _Index:
    """In-use chunks by user range, answering "which chunk does this word point into"."""

    def __init__(self, chunks):
        chunks.sort(key=lambda entry: entry[0])
        self.starts = [entry[0] for entry in chunks]
        self.entries = chunks
        self.low = self.starts[0] if chunks else 0
        self.high = max(entry[1] for entry in chunks) if chunks else 0

    def find(self, word):
        position = bisect.bisect_right(self.starts, word) - 1
        if position >= 0 and word < self.entries[position][1]:
            return position
        return None


def find_leaks(snap):
    """[Leak] of the heap at this stop, ordered by address."""
    geometry = snap.geometry
    tcache_chunks = {geometry.chunk_of(thread.tcache) for thread in snap.threads if thread.tcache}
    candidates = []
    holes = []
    for arena in snap.arenas:
        for segment in arena.heaps:
            low = segment.address if segment.address is not None else segment.start
            high = segment.address + segment.info["size"] if segment.info else segment.end
            holes.append((low, high))
    for _arena, _segment, chunk in snap.iter_chunks():
        if chunk.state == ChunkState.IN_USE and chunk.size >= geometry.min_chunk_size and \
                chunk.address not in tcache_chunks:
            # An in-use chunk's data runs on into the next chunk's prev_size.
            candidates.append((chunk.user_address,
                               chunk.address + chunk.size + geometry.size_sz, chunk))
    for chunk in snap.mmapped_chunks():
        candidates.append((chunk.user_address, chunk.address + chunk.size, chunk))
        holes.append((chunk.address, chunk.address + chunk.size))
    if not candidates:
        return []
    holes.sort()
    index = _Index(candidates)
    reached = [False] * len(index.entries)
    pending = []

    def mark(words):
        low, high = index.low, index.high
        for word in words:
            if low <= word < high:
                position = index.find(word)
                if position is not None and not reached[position]:
                    reached[position] = True
                    pending.append(position)

    threads = _threads_sp_and_registers()
    for _sp, registers in threads:
        mark(registers)
    memory = snap.memory
    for start, end, _name in memory.regions():
        for sp, _registers in threads:
            if start <= sp < end:
                start = sp & ~7
        for low, high in _subtract(start, end, holes):
            _scan_range(memory, low, high, mark, geometry.page_size)
    while pending:
        user_start, user_end, _chunk = index.entries[pending.pop()]
        _scan_range(memory, user_start, user_end & ~7, mark, geometry.page_size)
    leaks = [Leak(chunk.address, chunk.size, chunk.user_address)
             for position, (_start, _end, chunk) in enumerate(index.entries)
             if not reached[position]]
    return leaks


def _scan_range(memory, low, high, mark, page_size):
    address = low
    while address < high:
        length = min(_SCAN_STEP, high - address)
        try:
            data = memory.read(address, length)
        except HeapReadError:
            data = None
        if data is None:
            # Part of a core or a guard page: fall back to page by page.
            page_end = min((address | (page_size - 1)) + 1, high)
            try:
                data = memory.read(address, page_end - address)
            except HeapReadError:
                address = page_end
                continue
            length = page_end - address
        usable = len(data) - len(data) % 8
        mark(memoryview(bytes(data[:usable])).cast("Q"))
        address += length
