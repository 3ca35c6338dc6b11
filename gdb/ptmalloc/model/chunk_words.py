"""What a chunk's words say, read the way the allocator reads them: its links (safe-linking
undone), the skip list of a large bin, and the raw words for a picture of memory.  Commands show
these; they do not read memory themselves."""

from ..errors import HeapReadError
from . import native_live
from .states import BINNED, ChunkState


def size_field_at(snap, chunk_address):
    """The size field of the chunk header at `chunk_address`, or None when it cannot be read
    (an unreadable header is part of a verdict, not an error)."""
    try:
        return snap.memory.u64(chunk_address + snap.geometry.size_offset)
    except HeapReadError:
        return None


def decoded_links(snap, chunk):
    """{link name: value} as the allocator reads them, safe-linking undone; `error` holds why
    a link could not be read."""
    mem = snap.memory
    geometry = snap.geometry
    links = {}
    try:
        if chunk.state == ChunkState.TCACHE:
            slot = chunk.user_address + geometry.tcache_next_offset
            stored = mem.u64(slot)
            links["next"] = geometry.reveal(slot, stored) if stored else 0
            links["next_stored"] = stored
            links["key"] = mem.u64(chunk.user_address + geometry.tcache_key_offset)
        elif chunk.state == ChunkState.FASTBIN:
            slot = chunk.address + geometry.fd_offset
            stored = mem.u64(slot)
            links["fd"] = geometry.reveal(slot, stored) if stored else 0
            links["fd_stored"] = stored
        elif chunk.state in BINNED or chunk.state == ChunkState.FREE:
            links["fd"] = mem.u64(chunk.address + geometry.fd_offset)
            links["bk"] = mem.u64(chunk.address + geometry.bk_offset)
            if chunk.state == ChunkState.LARGEBIN:
                links["fd_nextsize"] = mem.u64(chunk.address + geometry.fd_nextsize_offset)
                links["bk_nextsize"] = mem.u64(chunk.address + geometry.bk_nextsize_offset)
    except HeapReadError as error:
        links["error"] = str(error)
    return links


def large_bin_rows(snap, chain):
    """Each chunk of a large bin in list order: its size and, for the first chunk of each size
    (the only ones glibc links into the skip list), its nextsize links.  The other chunks'
    nextsize words are whatever their memory held, so they are not shown as links.  The words
    are read in two batches (a live process's through its pages, a batch of pages at a time:
    a large bin of a big heap holds tens of thousands of chunks); a word that cannot be read
    sends the bin through the word-by-word reading, which says why."""
    geometry, mem = snap.geometry, snap.memory
    addresses = list(chain.chunks)
    fields = native_live.words_at(mem, [address + geometry.size_offset for address in addresses])
    if None in fields:
        return _large_bin_rows_word_by_word(snap, addresses)
    rows, previous_size = [], None
    for address, field in zip(addresses, fields):
        size = geometry.chunk_size(field)
        rows.append({"address": address, "size": size, "group_head": size != previous_size})
        previous_size = size
    heads = [row for row in rows if row["group_head"]]
    links = native_live.words_at(mem, [row["address"] + offset for row in heads for offset in (
        geometry.fd_nextsize_offset, geometry.bk_nextsize_offset)])
    if None in links:
        return _large_bin_rows_word_by_word(snap, addresses)
    for row, forward, backward in zip(heads, links[0::2], links[1::2]):
        row["fd_nextsize"], row["bk_nextsize"] = forward, backward
    return rows


def _large_bin_rows_word_by_word(snap, addresses):
    """large_bin_rows one word at a time: a row whose words cannot be read says why, and the
    row after it starts a group of its own."""
    geometry = snap.geometry
    rows, previous_size = [], None
    for address in addresses:
        try:
            size = geometry.chunk_size(snap.memory.u64(address + geometry.size_offset))
            row = {"address": address, "size": size, "group_head": size != previous_size}
            if row["group_head"]:
                row["fd_nextsize"] = snap.memory.u64(address + geometry.fd_nextsize_offset)
                row["bk_nextsize"] = snap.memory.u64(address + geometry.bk_nextsize_offset)
            previous_size = size
        except HeapReadError as error:
            row, previous_size = {"address": address, "size": 0, "group_head": False,
                                  "error": str(error)}, None
        rows.append(row)
    return rows


# A line of a memory picture: two 8-byte words, as `x/2gx` shows them.
LINE_BYTES = 16


def word_pairs(snap, chunk):
    """[(address, (word, word))] covering the chunk, header included, up to the first
    unreadable line; the top chunk and mmapped chunks give their first four headers' worth
    only (they can be megabytes)."""
    line_bytes = LINE_BYTES
    span = max(chunk.size, snap.geometry.header_size)
    if chunk.state == ChunkState.TOP or chunk.is_mmapped:
        span = min(span, 4 * snap.geometry.header_size)
    rows = []
    for address in range(chunk.address, chunk.address + span, line_bytes):
        try:
            data = snap.memory.read(address, line_bytes)
        except HeapReadError:
            break
        rows.append((address, (int.from_bytes(data[:8], "little"),
                               int.from_bytes(data[8:], "little"))))
    return rows
