"""`heap refs`: every word of the program's writable memory that points into one chunk.

What is scanned: every writable mapping of the program (live: /proc/PID/maps; a core: its
writable segments), which takes in every arena's heap segments, the mmapped chunks, every
thread's stack and TLS, and the .data, .bss and other writable memory of the executable and its
libraries.  Only one part of a writable mapping is left out, on purpose: a thread's stack below
its stack pointer less the red zone, which holds dead frames (thread_places.py).

Each thread's registers (those of its newest frame) are looked at too: a pointer held in a
register alone is listed apart, by thread and register.

What counts: a word, 8-byte aligned, whose value lies in [chunk header, chunk header + size):
a pointer to the user data, to the header or anywhere inside the chunk (a one-past-the-end
pointer is the next chunk's).  Each hit is named by the region it lies in (`name_of`), and
memory that could not be read is listed, never passed over in silence.

The scan itself is the C helper's, a compare per word: over buffers read once per mapping
(native_scans.words_pointing_into; a live mapping longer than a window, a window at a time into
one buffer: native_live.readable_windows), and from a core, over the core file's bytes copied out
a piece at a time into one buffer (native_scans.file_words_pointing_into), which costs no page
fault per page of a core of gigabytes, on a thread of its own while the heap is walked
(core_refs_scan.py); Python only names the hits."""

import collections
import os

import gdb

from ..errors import HeapError
from ..memory.core_file import inferior_is_core
from . import chunk_table, core_refs_scan, native, native_live, object_sections, thread_places

Reference = collections.namedtuple("Reference", "address value region chunk chunk_state")
# A thread's register whose value lies in the chunk: gdb's thread number, the register's name.
RegisterReference = collections.namedtuple("RegisterReference", "thread lwp register value")
# `target` (chunk header, size, state name, arena address or None), `refs` [Reference] in
# address order, `registers` [RegisterReference] by thread, `unread` [(start, end, why)],
# `problems` [one-line text] of what kept the scan from being whole (a thread whose stack is
# unknown, a heap walk that stopped).
RefsReport = collections.namedtuple("RefsReport", "target refs registers unread problems")


def find(snap, address):
    """The RefsReport for the chunk holding `address` (HeapError when no chunk holds it)."""
    mem = snap.memory
    threads, problems = thread_places.of_threads(mem)
    regions = sorted(mem.regions())
    ranges = _scanned_ranges(regions, threads)
    core_scan = core_refs_scan.CoreFileScan(mem, ranges) if native.available() and \
        inferior_is_core() else None
    try:
        if core_scan is not None:
            bounds = core_refs_scan.first_pass_bounds(snap, address)
            if bounds is not None:
                core_scan.start(bounds[0], bounds[0] + bounds[1])
        chunks = chunk_table.ChunkFinder(snap)
        chunk = chunks.chunk_holding(address)
        if chunk is None:
            raise HeapError("%#x is in no chunk of the heap (see `heap chunks`)%s" % (
                address, "; the heap walk is incomplete: %s" % chunks.problems[0]
                if chunks.problems else ""))
        low, high = chunk.address, chunk.address + chunk.size
        if core_scan is not None:
            hits, unread = core_scan.hits(low, high)
        else:
            hits, unread = _window_hits(mem, ranges, low, high)
    finally:
        if core_scan is not None:
            core_scan.stop()
    target = (chunk.address, chunk.size, chunk.state, chunk.arena or None)
    names = _RegionNames(snap, chunks, threads, object_sections.current(), regions)
    refs = [Reference(where, value, *names.of(where)) for where, value in hits]
    registers = [RegisterReference(thread.num, thread.lwp, name, value) for thread in threads
                 for name, value in thread.registers if low <= value < high]
    problems += chunks.problems
    return RefsReport(target, refs, registers, unread, problems)


def _window_hits(mem, ranges, low, high):
    """([(address, value)] of each word of the `ranges` whose value lies in [low, high), what
    was not read) in address order, a mapping of gigabytes a window at a time, never held whole
    (a core's, with the C helper, are CoreFileScan's)."""
    hits, unread = [], []
    for start, end in ranges:
        for part_start, data in native_live.readable_windows(mem, start, end, unread):
            hits += core_refs_scan.buffer_hits(part_start, data, low, high)
    return hits, unread


def _scanned_ranges(regions, threads):
    """[(start, end)] of every writable region, 8-byte aligned, a stack from its thread's
    stack pointer less the red zone."""
    live_from = {}
    for thread in threads:
        region = _region_of(regions, thread.sp)
        if region is not None:
            low = max(region[0], (thread.sp - thread_places.RED_ZONE) & ~7)
            live_from[region[0]] = min(live_from.get(region[0], low), low)
    ranges = []
    for start, end, _name in regions:
        start = live_from.get(start, start)
        start, end = (start + 7) & ~7, end & ~7
        if end > start:
            ranges.append((start, end))
    return ranges


def _region_of(regions, address):
    for region in regions:
        if region[0] <= address < region[1]:
            return region
    return None


def _thread_descriptor_size():
    """sizeof(struct pthread) from the libc's debug info, or None: the descriptor lies at the
    thread pointer (the main thread's apart from any stack, so only its size can place it)."""
    try:
        return gdb.lookup_type("struct pthread").sizeof
    except (gdb.error, RuntimeError):
        return None


class _RegionNames:
    """What a hit's address is, in words: `of(address)` -> (region text, chunk header or None,
    chunk state or None)."""

    def __init__(self, snap, chunks, threads, sections, regions):
        self._chunks = chunks
        self._segments = [(segment.address or segment.start, segment.end, arena.address)
                          for arena in snap.arenas for segment in arena.heaps]
        self._threads = threads
        self._sections = sections
        self._regions = regions
        self._descriptor_size = _thread_descriptor_size()

    def of(self, address):
        chunk = self._chunks.chunk_holding(address)
        if chunk is not None:
            where = "heap arena %#x chunk %#x" % (chunk.arena, chunk.address) if chunk.arena \
                else "mmapped chunk %#x" % chunk.address
            return where, chunk.address, chunk.state
        for start, end, arena in self._segments:
            if start <= address < end:
                return "heap arena %#x outside any chunk (segment %#x-%#x)" % (
                    arena, start, end), None, None
        region = _region_of(self._regions, address)
        for thread in self._threads:
            if thread.tls_low is not None and thread.tls_low <= address < thread.tp:
                return "TLS of thread %d" % thread.num, None, None
            if thread.tp is not None and self._descriptor_size and \
                    thread.tp <= address < thread.tp + self._descriptor_size:
                return "thread descriptor of thread %d" % thread.num, None, None
            if region is not None and region[0] <= thread.sp < region[1]:
                if thread.tp is not None and region[0] <= thread.tp <= address:
                    return "thread descriptor of thread %d" % thread.num, None, None
                return "stack of thread %d" % thread.num, None, None
        section = self._sections.name_of(address)
        if section is not None:
            return section, None, None
        if region is not None and region[2].strip():
            return "writable mapping of %s" % os.path.basename(region[2].strip()), None, None
        if region is not None:
            return "anonymous mapping %#x-%#x" % (region[0], region[1]), None, None
        return "unnamed memory", None, None
