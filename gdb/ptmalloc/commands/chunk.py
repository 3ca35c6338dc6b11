"""`heap chunk ADDR`: the chunk containing an address, with its neighbours, bin and links."""

from ..errors import HeapError
from ..model import snapshot
from ..model.chunk_words import decoded_links
from ..model.states import ChunkState
from ..render import output
from . import HeapCommand, command, parse_address
from ..model import history as ring
from .history import EventWords, chunk_history_json, chunk_history_lines


def locate_chunk(snap, address):
    """HeapSnapshot.locate(), failing with one line when no heap or mmapped chunk holds
    `address`."""
    found = snap.locate(address)
    if found.chunk is None:
        raise HeapError("%#x is not inside any heap or mmapped chunk" % address)
    return found


@command
class HeapChunk(HeapCommand):
    """Describe the chunk that contains ADDR: sizes, flags, neighbours, bin and links.

ADDR is its header, user pointer or any interior address, as a gdb expression (`print`'s
syntax).  Shows sizes, flags, usable size, previous and next chunk, state with the exact bin or
tcache position, and its links with safe-linking decoded.  When the program records its
allocation history (PTMALLOC_HISTORY=N, see `help heap history`), also who last allocated and
last freed the chunk, and where.

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
        span = (chunk.address, chunk.address + chunk.size)
        try:
            history, history_problem = ring.current(touching=span), None
        except HeapError as error:
            history, history_problem = None, str(error)
        words = EventWords() if history is not None and history.enabled else None
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
            if history is not None:
                value["history"] = chunk_history_json(history, words, *span)
            else:
                value["history_problem"] = history_problem
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
        if history is not None:
            for line in chunk_history_lines(history, words, *span):
                out.line(line)
        else:
            out.line(paint.meta("  history: %s" % history_problem))
        out.flush()
