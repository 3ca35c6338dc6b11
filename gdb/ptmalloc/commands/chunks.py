"""`heap chunks`: every chunk of every heap, plus mmapped chunks, streamed."""

import json

import gdb

from .. import constants as C
from .. import render, walk
from ..errors import HeapError
from ..model import Chunk, WalkStatus
from . import HeapCommand, command, parse_address, size_argument

STATES = ("in-use", "tcache", "fastbin", "unsorted", "smallbin", "largebin", "top", "free")
FLAG_JSON = [json.dumps(C.flag_words(bits), separators=(",", ":")) for bits in range(8)]


class _WhereCache:
    """The bin-position column ("fastbin[3]#12", "tcache[0]#2 t1"): each chain's prefix is
    rendered once, then only the entry number changes."""

    def __init__(self):
        self._prefixes = {}

    def __call__(self, chain):
        """(format with one %d for the entry number, {address: entry number})."""
        known = self._prefixes.get(id(chain))
        if known is None:
            if chain.kind == "tcache":
                prefix = "tcache[%d]#%%d t%d" % (chain.index,
                                                 chain.thread.num if chain.thread else 0)
            elif chain.kind == "unsorted":
                prefix = "unsorted#%d"
            else:
                prefix = "%s[%d]#%%d" % (chain.kind, chain.index)
            chain.position_of(0)  # builds the map when the walk did not
            known = (prefix, chain.positions())
            self._prefixes[id(chain)] = known
        return known


@command
class HeapChunks(HeapCommand):
    """List every chunk of every heap of every arena, then the mmapped chunks.

Each line: header address, size, flags, state (in-use, tcache, fastbin, unsorted, smallbin,
largebin, top, or free for a free chunk in no bin) and its bin position.
Usage: heap chunks [--arena ADDR] [--state STATE[,STATE...]] [--min-size N] [--max-size N]
                   [--limit N] [--summary] [--json]
  --summary   histogram of chunk counts and bytes by size and state
  --limit N   print at most N chunks and say how many were left out"""

    name = "heap chunks"

    def add_arguments(self, parser):
        parser.add_argument("--arena")
        parser.add_argument("--state")
        parser.add_argument("--min-size", type=size_argument)
        parser.add_argument("--max-size", type=size_argument)
        parser.add_argument("--limit", type=size_argument)
        parser.add_argument("--summary", action="store_true")

    def run(self, args):
        snap = walk.snapshot()
        arenas = snap.arenas
        if args.arena is not None:
            address = parse_address(args.arena)
            arena = snap.arena_by_address(address)
            if arena is None:
                raise HeapError("%#x is not an arena (see `heap arenas`)" % address)
            arenas = [arena]
        states = None
        if args.state:
            states = set(s.strip() for s in args.state.split(",") if s.strip())
            unknown = states - set(STATES)
            if unknown:
                raise HeapError("unknown state %s (one of %s)" % (", ".join(sorted(unknown)),
                                                                    ", ".join(STATES)))
        low = args.min_size or 0
        high = args.max_size

        def wanted(state, size):
            return ((states is None or state in states) and size >= low
                    and (high is None or size <= high))

        if states is None and not low and high is None:
            wanted = None  # no filter: the listing loops skip the call per chunk

        include_mmapped = args.arena is None
        if args.summary:
            self._summary(snap, arenas, wanted, include_mmapped, args.json)
        elif args.json:
            self._json(snap, arenas, wanted, include_mmapped, args.limit)
        else:
            self._text(snap, arenas, wanted, include_mmapped, args.limit)

    def _json(self, snap, arenas, wanted, include_mmapped, limit):
        """Streamed: the chunks of a huge heap are written in batches, never held as one list."""
        status = WalkStatus()
        shown = 0
        left_out = 0
        dumps = json.dumps
        gdb.write('{"arenas":[')
        for number, arena in enumerate(arenas):
            heaps = [{"address": s.address if s.address is not None else s.start,
                      "start": s.start, "end": s.end} for s in arena.heaps]
            gdb.write('%s{"address":%d,"main":%s,"heaps":%s,"chunks":[' % (
                "," if number else "", arena.address, "true" if arena.is_main else "false",
                dumps(heaps, separators=(",", ":"))))
            batch = []
            first = True
            for segment in arena.heaps:
                for address, size_field, _prev, state, _chain in snap.iter_segment_raw(
                        arena, segment, status):
                    size = size_field & ~7
                    if wanted is not None and not wanted(state, size):
                        continue
                    if limit is not None and shown >= limit:
                        left_out += 1
                        continue
                    shown += 1
                    batch.append('{"address":%d,"size":%d,"flags":%s,"state":"%s"}' % (
                        address, size, FLAG_JSON[size_field & 7], state))
                    if len(batch) >= 4096:
                        gdb.write(("" if first else ",") + ",".join(batch))
                        first = False
                        batch = []
            if batch:
                gdb.write(("" if first else ",") + ",".join(batch))
            gdb.write("]}")
            if arena.heap_problem and status.complete:
                status.stop(arena.address, arena.heap_problem)
        mmapped = []
        if include_mmapped:
            for chunk in snap.mmapped_chunks():
                if wanted is None or wanted(chunk.state, chunk.size):
                    mmapped.append({"address": chunk.address, "size": chunk.size,
                                    "prev_size": chunk.prev_size, "flags": chunk.flags,
                                    "state": chunk.state})
        tail = {"mmapped": mmapped, "complete": status.complete}
        if status.problem:
            tail["problem"] = status.problem
        if limit is not None:
            tail["left_out"] = left_out
        gdb.write("]," + dumps(tail, separators=(",", ":"))[1:] + "\n")

    def _text(self, snap, arenas, wanted, include_mmapped, limit):
        """One line per chunk from the raw walk: the per-line work is one format operation
        over pre-rendered pieces, and lines go to gdb in batches after the first one."""
        paint = render.Painter()
        status = WalkStatus()
        shown = 0
        left_out = 0
        flags_text = ["%-26s" % ("|".join(C.flag_words(bits)) or "-") for bits in range(8)]
        state_text = {state: paint.state("%-8s" % state) for state in STATES}
        line_format = "  " + paint.paint("%#x", "address") + "  %#9x  %s %s %s"
        where_of = _WhereCache()
        batch = []
        emit = batch.append

        def flush():
            if batch:
                gdb.write("\n".join(batch) + "\n")
                batch.clear()
                gdb.flush()

        for arena in arenas:
            # The title needs no bins: written before the walk pays for reading them.
            gdb.write(paint.title("%s %#x" % (arena.label(), arena.address)) + "\n")
            gdb.flush()
            for segment in arena.heaps:
                emit(paint.meta("  heap %#x-%#x" % (segment.start, segment.end)))
                for addresses, fields, states, binned in snap.segment_rows(arena, segment,
                                                                           status):
                    wheres = [""] * len(addresses)
                    for row, chain in binned:
                        prefix, positions = where_of(chain)
                        wheres[row] = prefix % positions[addresses[row]]
                    sizes = [field & ~7 for field in fields]
                    columns = (addresses, sizes, [flags_text[f & 7] for f in fields],
                               list(map(state_text.__getitem__, states)), wheres)
                    if wanted is not None:
                        keep = [row for row in range(len(addresses))
                                if wanted(states[row], sizes[row])]
                        columns = [[column[row] for row in keep] for column in columns]
                    rows = zip(*columns)
                    if limit is not None:
                        rows = list(rows)
                        room = max(limit - shown, 0)
                        left_out += max(len(rows) - room, 0)
                        rows = rows[:room]
                    before = len(batch)
                    batch.extend(map(line_format.__mod__, rows))
                    shown += len(batch) - before
                    flush()
            if arena.heap_problem and status.complete:
                status.stop(arena.address, arena.heap_problem)
        if include_mmapped:
            mmapped = [c for c in snap.mmapped_chunks()
                       if wanted is None or wanted(c.state, c.size)]
            if mmapped:
                emit(paint.title("mmapped chunks"))
            for chunk in mmapped:
                if limit is not None and shown >= limit:
                    left_out += 1
                    continue
                shown += 1
                emit("  %s  %#9x  %s %s" % (paint.address(chunk.address), chunk.size,
                                            flags_text[chunk.size_field & 7],
                                            state_text[chunk.state]))
        if left_out:
            emit(paint.meta("... %d more chunks not shown (--limit %d)" % (left_out, limit)))
        if not status.complete:
            emit(paint.meta("walk incomplete: %s" % status.problem))
        flush()

    def _summary(self, snap, arenas, wanted, include_mmapped, as_json):
        counts, status = snap.size_state_histogram(arenas)
        histogram = {key: [count, key[0] * count] for key, count in counts.items()
                     if wanted is None or wanted(key[1], key[0])}
        if include_mmapped:
            for chunk in snap.mmapped_chunks():
                if wanted is None or wanted(chunk.state, chunk.size):
                    entry = histogram.setdefault((chunk.size, "mmapped"), [0, 0])
                    entry[0] += 1
                    entry[1] += chunk.size
        rows = sorted(histogram.items())
        if as_json:
            render.write_json({"summary": [{"size": size, "state": state, "count": c, "bytes": b}
                                           for (size, state), (c, b) in rows],
                               "complete": status.complete})
            return
        paint = render.Painter()
        out = render.Writer()
        out.line(paint.title("%12s  %-9s %9s %14s" % ("size", "state", "count", "bytes")))
        for (size, state), (count, total) in rows:
            out.line("%#12x  %s %9d %14d" % (size, paint.state("%-9s" % state), count, total))
        count = sum(c for c, _b in histogram.values())
        total = sum(b for _c, b in histogram.values())
        out.line("%12s  %-9s %9d %14d" % ("total", "", count, total))
        if not status.complete:
            out.line(paint.meta("walk incomplete: %s" % status.problem))
        out.flush()
