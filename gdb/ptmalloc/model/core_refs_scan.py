"""`heap refs` over a core: the core file's share of the word scan, run on a thread of its own
while the heap is walked.

The scan of a core reads every writable byte the core holds (gigabytes for a big heap, growing
with the mappings, not the chunks), and the walk that names the chunk around the address and
each hit's chunk follows every size field and bin list.  Neither needs the other's result except
for the chunk's bounds, so the chunk is first found by pass one of its own segment alone (or
among the mmapped chunks) and the thread scans the file for words pointing into it while the
whole walk runs.  The walk's answer decides: when it finds the same chunk the thread's hits are
used, and otherwise (a segment whose walk resumes past damage, say) the file is scanned again,
for the chunk the walk found.  The thread only reads the file with the C helper
(native_scans.file_words_pointing_into) and touches nothing of gdb's."""

import array
import bisect
import threading

from ..errors import HeapReadError
from ..memory import spans
from . import native, native_scans
from .pass_one import first_impossible_size, low_bytes_of, pass_one, walked_length

# Bytes of a part the thread scans between two looks at its stop flag: an interrupted command
# waits for at most one piece (a few tens of milliseconds), not for a part of gigabytes.
_PIECE_BYTES = 1 << 28


def buffer_hits(part_start, data, low, high):
    """[(address, value)] of each 8-byte word of the bytes `data`, which lie at `part_start`,
    whose value lies in [low, high), in address order."""
    words = memoryview(data).cast("Q")
    if native.available():
        indexes = native_scans.words_pointing_into(data, low, high)
    else:
        indexes = array.array("Q", (index for index, value in enumerate(words)
                                    if low <= value < high))
    return [(part_start + (index << 3), words[index]) for index in indexes]


def first_pass_bounds(snap, address):
    """(header, size) of the chunk around `address` by pass one of the heap segment holding it
    (or of the mmapped chunk holding it), or None: what the whole walk finds when the segment's
    size fields lead from its start to that chunk."""
    geometry = snap.geometry
    for arena in snap.arenas:
        for segment in arena.heaps:
            if segment.start <= address < segment.end:
                return _segment_bounds(snap.memory, geometry, segment, address)
    for chunk in snap.mmapped_chunks():
        if chunk.address <= address < chunk.address + chunk.size:
            return chunk.address, chunk.size
    return None


def _segment_bounds(mem, geometry, segment, address):
    length = walked_length(segment.start, segment.end)
    try:
        data, offset = mem.read_segment_buffer(segment.start, length)
    except HeapReadError:
        return None
    words = memoryview(data)[offset:offset + length].cast("Q")
    positions, fields, _past_end = pass_one(data, offset, words, 0, geometry.size_offset >> 3)
    row = bisect.bisect_right(positions, (address - segment.start) >> 3) - 1
    if row < 0:
        return None
    header = segment.start + (positions[row] << 3)
    size = fields[row] & geometry.size_mask
    # Only a walk that met no impossible size on its way, to a chunk inside its segment: a
    # damaged size could make a "chunk" of most of memory, which every pointer points into.
    if first_impossible_size(low_bytes_of(fields), geometry, row + 1) >= 0 or \
            header + size > segment.end or not header <= address < header + max(size, 1):
        return None
    return header, size


class CoreFileScan:
    """The parts of a core's scanned ranges, and their scan for one chunk's bounds.

    `ranges` are the [(start, end)] to scan, in address order.  Each range's parts are found
    here, on gdb's thread (FileParts the C helper reads from the file, and any other part as
    bytes); `start(low, high)` scans the FileParts on a thread; `hits(low, high)` gives every hit
    and what was not read, in address order, from the thread when it scanned those bounds and
    by scanning now otherwise; `stop()` ends the thread, which every user calls in `finally`."""

    def __init__(self, mem, ranges):
        self._ranges = [spans.core_file_parts(mem, start, end) for start, end in ranges]
        self._stopping = threading.Event()
        self._thread = None
        self._bounds = None
        self._scanned = {}  # FilePart -> its scan (addresses, values, unread)
        self._failure = None

    def start(self, low, high):
        self._bounds = (low, high)
        self._thread = threading.Thread(target=self._scan_all, args=(low, high), daemon=True,
                                        name="heap refs core scan")
        self._thread.start()

    def _scan_all(self, low, high):
        buffer = native_scans.file_buffer()
        try:
            for parts, _lost in self._ranges:
                for part in parts:
                    if isinstance(part, spans.FilePart):
                        self._scanned[part] = self._scan_part(part, low, high, buffer,
                                                              self._stopping)
        except _Stopped:
            pass
        except BaseException as error:  # handed to gdb's thread, which raises it
            self._failure = error

    @staticmethod
    def _scan_part(part, low, high, buffer, stopping=None):
        """file_words_pointing_into for `part`, a piece at a time, until `stopping` is set: a
        piece that cannot be read whole ends the part there, as one scan of the part would."""
        addresses, values = [], []
        done = 0
        while done < part.length:
            if stopping is not None and stopping.is_set():
                raise _Stopped()
            length = min(_PIECE_BYTES, part.length - done)
            piece = spans.FilePart(part.address + done, length, part.fd, part.offset + done)
            piece_addresses, piece_values, lost = native_scans.file_words_pointing_into(
                piece, low, high, buffer)
            addresses += piece_addresses
            values += piece_values
            if lost is not None:
                return addresses, values, (lost[0], part.address + part.length, lost[2])
            done += length
        return addresses, values, None

    def stop(self):
        if self._thread is not None:
            self._stopping.set()
            self._thread.join()
            self._thread = None

    def hits(self, low, high):
        """([(address, value)] of every word pointing into [low, high), [(start, end, why)] of
        what could not be read), both in address order."""
        scanned = {}
        if self._thread is not None and self._bounds == (low, high):
            self._thread.join()
            self._thread = None
            if self._failure is not None:
                raise self._failure
            scanned = self._scanned
        self.stop()
        buffer = None
        hits, unread = [], []
        for parts, lost in self._ranges:
            unread += lost
            for part in parts:
                if not isinstance(part, spans.FilePart):
                    hits += buffer_hits(*part, low, high)
                    continue
                result = scanned.get(part)
                if result is None:
                    buffer = buffer or native_scans.file_buffer()
                    result = self._scan_part(part, low, high, buffer)
                addresses, values, part_lost = result
                hits += zip(addresses, values)
                if part_lost is not None:
                    unread.append(part_lost)
        return hits, unread


class _Stopped(Exception):
    """The thread was asked to stop in the middle of a part."""
