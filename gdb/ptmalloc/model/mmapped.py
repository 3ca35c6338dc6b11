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


def scan_mmapped(snap):
    """[Chunk] of the mmapped chunks in writable memory outside every heap segment; a note when
    their number differs from mp_.n_mmaps."""
    heap_ranges = sorted((segment.address or segment.start, segment.end)
                         for arena in snap.arenas for segment in arena.heaps)
    pieces = []
    mem = snap.memory
    for start, end, name in mem.regions():
        if name.startswith("/") or name in ("[stack]", "[vvar]", "[vsyscall]", "[heap]"):
            continue
        pieces += _outside_heaps(start, end, heap_ranges)
    found = []
    geometry = snap.geometry
    for start, end in pieces:
        address = start
        while address + geometry.header_size <= end and len(found) < C.MAX_CHAIN_LENGTH:
            header = _mmapped_header(mem, snap, address, end)
            if header is None or header[0] != 0 or \
                    (header[1] & geometry.size_mask) % geometry.page_size:
                break
            size = header[1] & geometry.size_mask
            aligned = _memaligned_inside(mem, snap, address, size)
            found.append(aligned or Chunk(geometry, address, header[1], 0, ChunkState.IN_USE))
            address += size
    expected = snap.mp.get("n_mmaps")
    if expected is not None and expected != len(found):
        snap.notes.append("found %d mmapped chunks, mp_.n_mmaps says %d" % (len(found), expected))
    return found
