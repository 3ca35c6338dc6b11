"""`heap chunk ADDR`: the chunk containing an address, with its neighbours, bin and links."""

from ..render import output
from ..model import snapshot
from ..errors import HeapError, HeapReadError
from ..model.objects import WalkStatus
from ..model.states import BINNED, ChunkState
from . import HeapCommand, command, parse_address


def locate(snap, address):
    """(arena, segment, previous chunk, chunk, next chunk) for the chunk containing `address`."""
    for arena in snap.arenas:
        for segment in arena.heaps:
            if not segment.start <= address < segment.end:
                continue
            previous = None
            chunks = snap.iter_segment(arena, segment, WalkStatus())
            for chunk in chunks:
                if chunk.address <= address < chunk.address + max(chunk.size,
                                                                  snap.geometry.header_size):
                    following = next(chunks, None)
                    return arena, segment, previous, chunk, following
                previous = chunk
            return arena, segment, None, None, None
    for chunk in snap.mmapped_chunks():
        if chunk.address <= address < chunk.address + chunk.size:
            return None, None, None, chunk, None
    return None, None, None, None, None


def locate_chunk(snap, address):
    """locate(), failing with one line when no heap or mmapped chunk holds `address`."""
    found = locate(snap, address)
    if found[3] is None:
        raise HeapError("%#x is not inside any heap or mmapped chunk" % address)
    return found


def decoded_links(snap, chunk):
    """{link name: value} as the allocator reads them, safe-linking undone."""
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


@command
class HeapChunk(HeapCommand):
    """Describe the chunk that contains ADDR (its header, user pointer or any interior address):
sizes, flags, usable size, previous and next chunk, state with the exact bin or tcache
position, and its links with safe-linking decoded.

Usage: heap chunk ADDR [--json]"""

    name = "heap chunk"
    aliases = (("malloc_chunk", ()), ("hi", ()))

    def add_arguments(self, parser):
        parser.add_argument("address")

    def run(self, args):
        snap = snapshot.current()
        address = parse_address(args.address)
        arena, segment, previous, chunk, following = locate_chunk(snap, address)
        links = decoded_links(snap, chunk)
        key = snap.tcache_key(snap.selected_thread()) if chunk.state == ChunkState.TCACHE \
            else None
        if args.json:
            value = chunk.to_json()
            value.update({
                "user_address": chunk.user_address, "prev_size": chunk.prev_size,
                "usable_size": chunk.usable_size, "mmapped": chunk.is_mmapped,
                "arena": arena.address if arena else None,
                "heap": (segment.address if segment.address is not None else segment.start)
                if segment else None,
                "prev_chunk": previous.address if previous else None,
                "next_chunk": following.address if following else None,
                "links": links,
            })
            if chunk.position is not None:
                position = chunk.position
                value["bin"] = {"kind": position.kind, "index": position.index,
                                "position": position.position, "arena": position.arena,
                                "thread": position.thread.lwp if position.thread else None}
            if key is not None:
                value["key_matches_tcache_key"] = links.get("key") == key
            output.write_json(value)
            return
        paint = output.Painter()
        out = output.Writer()
        where = "mmapped chunk" if arena is None else "%s %#x" % (arena.label(), arena.address)
        out.line("%s %s (user %s) in %s" % (paint.title("chunk"), paint.address(chunk.address),
                                            paint.address(chunk.user_address), where))
        out.line("  size %#x  flags %s  usable %d  prev_size %#x" % (
            chunk.size, " ".join(chunk.flags) or "none", chunk.usable_size, chunk.prev_size))
        state = paint.state(chunk.state)
        if chunk.position is not None:
            out.line("  state %s: %s" % (state, chunk.position.describe()))
        else:
            out.line("  state %s" % state)
        if address != chunk.address:
            out.line("  %#x is at offset %#x from the header" % (address, address - chunk.address))
        if arena is not None:
            out.line("  prev chunk %s%s   next chunk %s" % (
                paint.address(previous.address) if previous else "none (first in heap)",
                "" if previous is None else " (%s)" % previous.state,
                "%s (%s)" % (paint.address(following.address), following.state)
                if following else "none"))
        for name, value in links.items():
            if name == "error":
                out.line(paint.meta("  links: %s" % value))
            elif name.endswith("_stored"):
                continue
            elif name == "next":
                out.line("  next %s (chunk %s, stored %#x safe-linked)" % (
                    paint.address(value),
                    paint.address(snap.geometry.chunk_of(value)) if value else "none",
                    links["next_stored"]))
            elif name == "key":
                verdict = ""
                if key is not None:
                    verdict = " (= tcache_key)" if value == key else " (not tcache_key)"
                out.line("  key %#x%s" % (value, verdict))
            elif name == "fd" and "fd_stored" in links:
                out.line("  fd %s (stored %#x safe-linked)" % (paint.address(value),
                                                                links["fd_stored"]))
            else:
                out.line("  %s %s" % (name, paint.address(value)))
        out.flush()
