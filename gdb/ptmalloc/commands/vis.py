"""`heap vis [ADDR] [--count N]`: consecutive chunks as a hexdump, one colour per chunk."""

import argparse
import string

from ..errors import HeapError
from ..model import snapshot
from ..model.chunk_words import LINE_BYTES, decoded_links, word_pairs
from ..model.objects import WalkStatus
from ..model.states import ChunkState
from ..render import output
from . import HeapCommand, command, parse_address, size_argument
from .chunk import locate_chunk

_PRINTABLE = frozenset(ord(c) for c in
                       string.ascii_letters + string.digits + string.punctuation + " ")
# Chunks alternate between two of gdb's styles, so neighbours are told apart at a glance.
_ALTERNATING = ("address", "function")


def _ascii(data):
    return "".join(chr(b) if b in _PRINTABLE else "." for b in data)


def _following(snap, arena, segment, first, count, status):
    """`count` chunks starting with the one at `first` in `segment`, going on into the arena's
    later heap segments when that one ends first."""
    chunks = []
    later = arena.heaps[arena.heaps.index(segment):] if segment in arena.heaps else [segment]
    for current in later:
        for chunk in snap.iter_segment(arena, current, status):
            if chunk.address < first:
                continue
            chunks.append(chunk)
            if len(chunks) >= count:
                return chunks
        if not status.complete:
            break
    return chunks


@command
class HeapVis(HeapCommand):
    """Show consecutive chunks as a hexdump, each chunk in its own colour.

Two 8-byte words per line, each chunk's header line labelled with size, flags and state
(tcache and fastbin links decoded), so overflows into the next header are easy to see.

ADDR is any address inside the first chunk to show (default: the first chunk of the
selected thread's arena).  Long chunks show their first and last lines only.

Usage: heap vis [ADDR] [--count N] [--lines N] [--json]
       vis_heap_chunks [COUNT] [ADDR]   (pwndbg's order: a first number is the count, but
                                        a lone number of 0x10000 or more is an address)
  --count N   how many chunks (default 10; --limit N is the same)
  --lines N   at most N lines per chunk before eliding its middle (default 8, 0 = all)"""

    name = "heap vis"
    aliases = (("vis_heap_chunks", ("--count-first",)), ("vis", ()))

    def add_arguments(self, parser):
        parser.add_argument("address", nargs="?")
        parser.add_argument("--count", "--limit", type=size_argument, default=None)
        parser.add_argument("--lines", type=size_argument, default=8)
        parser.add_argument("--count-first", action="store_true", help=argparse.SUPPRESS)

    @staticmethod
    def _count_first(args):
        """pwndbg's `vis_heap_chunks [count] [addr]`: a first word that is a number is the
        count, the rest the address; a lone number too big for a count is an address."""
        if not args.count_first or args.address is None:
            return
        first, _space, rest = args.address.partition(" ")
        try:
            count = int(first, 0)
        except ValueError:
            return
        if not rest.strip() and count >= 0x10000:
            return
        if args.count is not None:
            raise HeapError("give the count once: first, or with --count")
        args.count = count
        args.address = rest.strip() or None

    def run(self, args):
        self._count_first(args)
        if args.count is None:
            args.count = 10
        if args.count <= 0:
            raise HeapError("--count must be at least 1")
        snap = snapshot.current()
        status = WalkStatus()
        if args.address is None:
            arena = snap.selected_arena()
            if not arena.heaps:
                raise HeapError("%s %#x has no heap yet" % (arena.label(), arena.address))
            segment = arena.heaps[0]
            chunks = _following(snap, arena, segment, segment.start, args.count, status)
        else:
            address = parse_address(args.address)
            arena, segment, _previous, chunk, _next = locate_chunk(snap, address)
            if arena is None:
                chunks = [chunk]
            else:
                chunks = _following(snap, arena, segment, chunk.address, args.count, status)
        rows = [word_pairs(snap, chunk) for chunk in chunks]
        if args.json:
            output.write_json({"chunks": [
                {"address": chunk.address, "size": chunk.size, "flags": chunk.flags,
                 "state": chunk.state, "words": [w for _a, pair in lines for w in pair]}
                for chunk, lines in zip(chunks, rows)], "complete": status.complete})
            return
        self._text(snap, chunks, rows, args.lines, status)

    @staticmethod
    def _label(snap, chunk):
        text = "%s size %#x %s" % (chunk.state, chunk.size, "|".join(chunk.flags) or "-")
        if chunk.position is not None:
            text += "  " + chunk.position.describe()
        if chunk.state in (ChunkState.TCACHE, ChunkState.FASTBIN):
            cached = chunk.state == ChunkState.TCACHE
            links = decoded_links(snap, chunk)
            if "error" not in links:
                text += "  next %s %#x" % ("entry" if cached else "chunk",
                                           links["next" if cached else "fd"])
        return text

    def _text(self, snap, chunks, rows, max_lines, status):
        paint = output.Painter()
        out = output.Writer()
        for number, (chunk, lines) in enumerate(zip(chunks, rows)):
            style = _ALTERNATING[number % 2]
            shown = lines
            elided = 0
            if max_lines and len(lines) > max_lines:
                shown = lines[:max_lines - 1] + [None] + lines[-1:]
                elided = len(lines) - max_lines + 1
            for index, line in enumerate(shown):
                if line is None:
                    out.line(paint.meta("  ... %d lines (%#x bytes) not shown" % (
                        elided, elided * LINE_BYTES)))
                    continue
                address, (low, high) = line
                data = low.to_bytes(8, "little") + high.to_bytes(8, "little")
                text = "%#x  %s  %s  %s" % (address, paint.paint("0x%016x" % low, style),
                                            paint.paint("0x%016x" % high, style), _ascii(data))
                if index == 0:
                    text += "   " + paint.meta("<- " + self._label(snap, chunk))
                out.line(text)
        if not status.complete:
            out.line(paint.meta("walk stopped: %s" % status.problem))
        out.flush()
