"""Finding mmapped chunks: they are listed nowhere, so writable mappings outside every heap
segment are read header by header (IS_MMAPPED, prev_size 0, a page-multiple size), one chunk
after another where the kernel placed mappings side by side."""

from .. import constants as C
from ..errors import HeapReadError
from .objects import Chunk
from .states import ChunkState


def _mmapped_header(mem, snap, address, end):
    """(prev_size, size field) when `address` holds the header of an mmapped chunk that fits
    before `end`, else None."""
    geometry = snap.geometry
    try:
        header = mem.read(address, geometry.header_size)
    except HeapReadError:
        return None
    prev_size = int.from_bytes(header[snap.prev_size_offset:snap.prev_size_offset + 8], "little")
    size_field = int.from_bytes(header[snap.size_offset:snap.size_offset + 8], "little")
    size = size_field & geometry.size_mask
    if size_field & geometry.size_bits != geometry.is_mmapped_bit or size == 0 or \
            address + size > end:
        return None
    return prev_size, size_field


def _mapping_header(mem, snap, address, end):
    """The size field of the chunk header that starts a mapping at `address` (prev_size 0, a
    page-multiple size that fits before `end`), or None."""
    header = _mmapped_header(mem, snap, address, end)
    if header is None or header[0] != 0 or \
            (header[1] & snap.geometry.size_mask) % snap.geometry.page_size:
        return None
    return header[1]


def _memaligned_inside(mem, snap, mapping, mapping_size):
    """The header memalign() placed inside an mmapped chunk, or None.

    memalign serves a large alignment from an mmapped chunk by moving the header forward to the
    first aligned user pointer at least MINSIZE in; prev_size then holds that lead, and the
    original header stays at the mapping start.  Only leads memalign can produce are tried:
    one per power-of-two alignment, so the search costs a few reads, not a scan."""
    geometry = snap.geometry
    alignment = 2 * geometry.alignment
    while alignment < mapping_size:
        user = (mapping + geometry.header_size + alignment - 1) & ~(alignment - 1)
        lead = user - geometry.header_size - mapping
        if lead < geometry.min_chunk_size:
            lead += alignment
        if lead < mapping_size:
            found = _mmapped_header(mem, snap, mapping + lead, mapping + mapping_size)
            if found is not None and found[0] == lead and \
                    lead + (found[1] & geometry.size_mask) == mapping_size:
                return Chunk(geometry, mapping + lead, found[1], lead, ChunkState.IN_USE)
        alignment <<= 1
    return None


def _outside_heaps(start, end, heap_ranges):
    """The pieces of [start, end) that no heap segment covers.  Each one starts where a mapping
    starts: a non-contiguous main arena's segments share regions with mmapped chunks."""
    pieces = []
    for low, high in heap_ranges:
        if low < end and start < high:
            if start < low:
                pieces.append((start, low))
            start = max(start, high)
    if start < end:
        pieces.append((start, end))
    return pieces


class MmappedChunks:
    """The mmapped chunks found (`chunks`), and what speaks of ones not found: `expected`
    (mp_.n_mmaps, None when the target has no such field), `rejected` [(address, size field,
    why)] (headers where a chunk was due, IS_MMAPPED with prev_size 0, whose size does not fit
    the mapping) and `overlaps` [(chunk, address of the header it covers)]."""

    def __init__(self, chunks, expected):
        self.chunks = chunks
        self.expected = expected
        self.rejected = []
        self.overlaps = []

    def missing(self):
        """How many chunks mp_.n_mmaps counts that were not found (negative: more found)."""
        return 0 if self.expected is None else self.expected - len(self.chunks)


def _rejected_header(mem, snap, address, end):
    """Why the header at `address`, where an mmapped chunk was due, cannot be one although it
    is flagged as one (IS_MMAPPED alone), or None when it is not flagged so.  A chunk at the
    start of its mapping has prev_size 0: munmap_chunk unmaps from the header back by
    prev_size."""
    geometry = snap.geometry
    try:
        prev_size = mem.u64(address + geometry.prev_size_offset)
        size_field = mem.u64(address + geometry.size_offset)
    except HeapReadError:
        return None
    size = size_field & geometry.size_mask
    if size_field & geometry.size_bits != geometry.is_mmapped_bit or size < geometry.page_size:
        return None
    if size % geometry.page_size:
        return size_field, "its size %#x is not a multiple of the page size" % size
    if address + size > end:
        return size_field, "its size %#x runs past the end of its mapping at %#x" % (size, end)
    if prev_size:
        return size_field, "its prev_size is %#x where its mapping starts, not 0" % prev_size
    return None


# Probes for a header an enlarged mmapped chunk may cover: one per page, so a few thousand at most.
_MAX_COVER_PROBES = 1 << 12


def _covered_header(mem, snap, chunk, end):
    """An mmapped chunk header at a page boundary inside `chunk`, or None: a chunk whose size
    grew over the mapping after it hides that mapping's chunk.  Probed from the chunk's end
    back, where a size grown a little puts the covered header."""
    page = snap.geometry.page_size
    first = (chunk.address + page) & ~(page - 1)
    last = (chunk.address + chunk.size - 1) & ~(page - 1)
    lowest = max(first, last - (_MAX_COVER_PROBES - 1) * page)
    for address in range(last, lowest - 1, -page):
        if _mapping_header(mem, snap, address, end) is not None:
            return address
    return None


def _walk_piece(mem, snap, address, end, found, stops):
    """Add the mmapped chunks laid side by side from `address` to `found` [(chunk, end)]; where
    no chunk header is (other memory, or damage), add (address, end) to `stops` and stop."""
    geometry = snap.geometry
    while address + geometry.header_size <= end and len(found) < C.MAX_CHAIN_LENGTH:
        size_field = _mapping_header(mem, snap, address, end)
        if size_field is None:
            stops.append((address, end))
            return
        size = size_field & geometry.size_mask
        aligned = _memaligned_inside(mem, snap, address, size)
        found.append((aligned or Chunk(geometry, address, size_field, 0, ChunkState.IN_USE), end))
        address += size


# Pages probed past a stop for chunks the walk did not reach, when chunks are missing.
_MAX_RESUME_PROBES = 1 << 16


def _resume_past_stops(mem, snap, stops, found, result):
    """Chunks the count says exist may lie past memory that is no chunk: the kernel merges an
    mmapped chunk's mapping with any other anonymous mapping beside it.  Every page past each
    stop is probed for a chunk header (a mapping starts on a page) and the walk resumes there;
    a page that starts with a header flagged mmapped whose size cannot fit is a rejected one."""
    page = snap.geometry.page_size
    pending = list(stops)
    probes = 0
    while pending and probes < _MAX_RESUME_PROBES:
        address, end = pending.pop()
        rejected = _rejected_header(mem, snap, address, end)
        if rejected is not None:
            result.rejected.append((address,) + rejected)
        probe = (address + page) & ~(page - 1)
        while probe + snap.geometry.header_size <= end and probes < _MAX_RESUME_PROBES:
            probes += 1
            if _mapping_header(mem, snap, probe, end) is not None:
                known = len(found)
                _walk_piece(mem, snap, probe, end, found, pending)
                result.chunks += [chunk for chunk, _end in found[known:]]
                break
            rejected = _rejected_header(mem, snap, probe, end)
            if rejected is not None:
                result.rejected.append((probe,) + rejected)
            probe += page


def scan_mmapped(snap):
    """The MmappedChunks in writable memory outside every heap segment; a note when their
    number differs from mp_.n_mmaps, and then what may have hidden the others."""
    heap_ranges = sorted((segment.address or segment.start, segment.end)
                         for arena in snap.arenas for segment in arena.heaps)
    pieces = []
    mem = snap.memory
    for start, end, name in mem.regions():
        if name.startswith("/") or name in ("[stack]", "[vvar]", "[vsyscall]", "[heap]"):
            continue
        pieces += _outside_heaps(start, end, heap_ranges)
    found = []
    stops = []  # (address where a chunk was due but none was found, end of its piece)
    for start, end in pieces:
        _walk_piece(mem, snap, start, end, found, stops)
    result = MmappedChunks([chunk for chunk, _end in found], snap.mp.get("n_mmaps"))
    if result.missing() > 0:
        _resume_past_stops(mem, snap, stops, found, result)
        result.chunks.sort(key=lambda chunk: chunk.address)
    if result.missing():
        snap.notes.append("found %d mmapped chunks, mp_.n_mmaps says %d"
                          % (len(result.chunks), result.expected))
    if result.missing() > 0:
        for chunk, end in found:
            covered = _covered_header(mem, snap, chunk, end)
            if covered is not None:
                result.overlaps.append((chunk, covered))
    return result
