"""`heap chunks`: every chunk of every heap, plus mmapped chunks, streamed."""

import json
import operator

from ..errors import HeapError
from ..model import snapshot, unread
from ..model.objects import WalkStatus
from ..model.states import ChunkState
from ..render import output, stream, views
from . import HeapCommand, arena_argument, chunk_lines, command, size_argument

# The states --state takes, in the order its help names them.
STATES = (ChunkState.IN_USE, ChunkState.TCACHE, ChunkState.FASTBIN, ChunkState.UNSORTED,
          ChunkState.SMALLBIN, ChunkState.LARGEBIN, ChunkState.TOP, ChunkState.FREE)
# --state also takes `mmapped` (the state `--summary` gives mmapped chunks): every mmapped chunk.
MMAPPED = "mmapped"


def _flag_texts(geometry, render_flags):
    """render_flags(names) for every combination of the size field's flag bits, by value."""
    return [render_flags(geometry.flag_words(bits)) for bits in range(geometry.size_bits + 1)]


class _WhereCache:
    """The state and bin-position columns ("fastbin  fastbin[3]#12", "tcache[0]#2 t1"): each
    chain's format is rendered once, then only the entry number changes."""

    def __init__(self, state_text):
        self._state_text = state_text
        self._formats = {}

    def __call__(self, chain):
        """(format with one %d for the entry number, {address: entry number})."""
        known = self._formats.get(id(chain))
        if known is None:
            known = (self.around(chain)[0].replace("%", "%%") + "%d" +
                     self.around(chain)[1].replace("%", "%%"), chain.positions())
            self._formats[id(chain)] = known
        return known

    def around(self, chain):
        """(the text before a chunk's entry number in `chain`, the text after it)."""
        if chain.kind == ChunkState.TCACHE:
            return ("%stcache[%d]#" % (self._state_text[chain.kind], chain.index),
                    " t%d" % (chain.thread.num if chain.thread else 0))
        if chain.kind == ChunkState.UNSORTED:
            return self._state_text[chain.kind] + "unsorted#", ""
        return "%s%s[%d]#" % (self._state_text[chain.kind], chain.kind, chain.index), ""

    def texts(self, scan):
        """The state and bin-position text of each binned row of a SegmentScan, in row order,
        built with C-level maps: a heap can have hundreds of thousands of binned chunks."""
        unique = dict(zip(map(id, scan.chains), scan.chains))
        by_chain = {key: self(chain) for key, chain in unique.items()}
        known = list(map(by_chain.__getitem__, map(id, scan.chains)))
        formats = map(operator.itemgetter(0), known)
        entry_numbers = map(dict.__getitem__, map(operator.itemgetter(1), known),
                            scan.binned_addresses())
        return map(str.__mod__, formats, entry_numbers)


class _RowCounter:
    """--limit: how many rows may still be shown, and how many were left out."""

    def __init__(self, limit):
        self.limit = limit
        self.shown = 0
        self.left_out = 0

    def take(self, wanted):
        """How many of `wanted` more rows may be shown; the rest count as left out."""
        if self.limit is None:
            self.shown += wanted
            return wanted
        room = min(max(self.limit - self.shown, 0), wanted)
        self.shown += room
        self.left_out += wanted - room
        return room


def _special_rows(scan):
    """(row, state, BinList or None) for every row of a SegmentScan that is not in use."""
    for row, chain in zip(scan.binned_rows, scan.chains):
        yield row, chain.kind, chain
    for row in scan.free_rows:
        yield row, ChunkState.FREE, None
    if scan.top_row >= 0:
        yield scan.top_row, ChunkState.TOP, None


def _selected_rows(scan, texts, wanted, counter, batch=65536):
    """Yield (addresses, texts) in batches for the rows `wanted` keeps, within --limit."""
    if wanted is None:
        rows = None
        total = counter.take(len(texts))
    else:
        states = [ChunkState.IN_USE] * len(texts)
        for row, state, _chain in _special_rows(scan):
            states[row] = state
        size_mask = scan.geometry.size_mask
        rows = [row for row, (field, state) in enumerate(zip(scan.fields, states))
                if wanted(state, field & size_mask)]
        rows = rows[:counter.take(len(rows))]
        total = len(rows)
    for first in range(0, total, batch):
        last = min(first + batch, total)
        if rows is None:
            yield scan.addresses(first, last), texts[first:last]
        else:
            chosen = rows[first:last]
            start, positions = scan.start, scan.positions
            yield ([start + (positions[row] << 3) for row in chosen],
                   [texts[row] for row in chosen])


def doubt_listing(snap, status, include_mmapped):
    """What keeps a listing whose walks all ran to their ends from being complete: anonymous
    memory a core lacks (heaps or mmapped chunks may be there), mmapped chunks mp_.n_mmaps
    counts that were not found, and a free list broken before its end, which hides which
    chunks it held past the break (they are listed, but as in use)."""
    for start, end, why in unread.unlisted_anonymous(snap):
        status.missing(start, end, why)
    missing = snap.mmapped_report().missing() if include_mmapped else 0
    if missing > 0:
        status.doubt("mp_.n_mmaps counts %d more mmapped chunk%s than were found"
                     % (missing, "s" if missing > 1 else ""))
    broken = snap.broken_list()
    if broken is not None:
        size = " of size %#x" % broken.size if broken.size is not None else ""
        status.doubt("the %s list%s is broken (%s): chunks it held past the break are listed as "
                     "in use" % (broken.kind, size, broken.problem))


def _mmapped_state(states):
    """The state --state matches an mmapped chunk by: `mmapped` when it names that one."""
    if states and MMAPPED in states:
        return lambda chunk: MMAPPED
    return lambda chunk: chunk.state


def _chunk_filter(states, low, high):
    """wanted(state, size) for --state, --min-size and --max-size; None without any, so that the
    listing loops skip the call per chunk."""
    if states is None and not low and high is None:
        return None

    def wanted(state, size):
        return ((states is None or state in states) and size >= low
                and (high is None or size <= high))
    return wanted


@command
class HeapChunks(HeapCommand):
    """List every chunk of every heap of every arena, then the mmapped chunks.

Each line: header address, size, flags, state and its bin position.
Usage: heap chunks [--arena ADDR] [--state STATE[,STATE...]] [--min-size N] [--max-size N]
                   [--limit N] [--summary] [--json]
  --state S   in-use, tcache, fastbin, unsorted, smallbin, largebin, top, free or mmapped
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
        snap = snapshot.current()
        arenas = snap.arenas
        if args.arena is not None:
            arenas = [arena_argument(snap, args.arena)]
        states = None
        if args.state:
            states = set(s.strip() for s in args.state.split(",") if s.strip())
            unknown = states - set(STATES) - {MMAPPED}
            if unknown:
                raise HeapError("unknown state %s (one of %s)" % (
                    ", ".join(sorted(unknown)), ", ".join(STATES + (MMAPPED,))))
            arenas = [] if states == {MMAPPED} else arenas
        wanted = _chunk_filter(states, args.min_size or 0, args.max_size)
        self._mmapped_state = _mmapped_state(states)
        include_mmapped = args.arena is None
        if args.summary:
            _summary(snap, arenas, wanted, include_mmapped, args.json, self._mmapped_state)
        elif args.json:
            self._json(snap, arenas, wanted, include_mmapped, args.limit)
        else:
            self._text(snap, arenas, wanted, include_mmapped, args.limit)

    def _json(self, snap, arenas, wanted, include_mmapped, limit):
        """Streamed: the chunks of a huge heap are written in batches, never held as one list."""
        status = WalkStatus()
        counter = _RowCounter(limit)
        dumps = json.dumps
        suffixes = {}
        geometry = snap.geometry
        size_mask, size_bits = geometry.size_mask, geometry.size_bits
        flag_json = _flag_texts(geometry, lambda names: dumps(names, separators=(",", ":")))

        def suffix(field, state):
            text = suffixes.get((field, state))
            if text is None:
                text = suffixes[(field, state)] = ',"size":%d,"flags":%s,"state":"%s"}' % (
                    field & size_mask, flag_json[field & size_bits], state)
            return text

        out = stream.Stream()
        out.write('{"arenas":[')
        for number, arena in enumerate(arenas):
            heaps = [views.heap_json(segment) for segment in arena.heaps]
            out.write('%s{"address":%d,"main":%s,"heaps":%s,"chunks":[' % (
                "," if number else "", arena.address, "true" if arena.is_main else "false",
                dumps(heaps, separators=(",", ":"))))
            separator = ""
            for segment in arena.heaps:
                scan = snap.scan(arena, segment, status)
                if chunk_lines.whole_listing(wanted, limit):
                    counter.take(len(scan.fields))
                    for piece in chunk_lines.json_pieces(scan, suffix):
                        out.write(separator + piece)
                        separator = ","
                    continue
                fields = scan.fields
                in_use = {field: suffix(field, ChunkState.IN_USE) for field in set(fields)}
                tails = list(map(in_use.__getitem__, fields))
                binned_keys = list(zip(map(fields.__getitem__, scan.binned_rows),
                                       map(operator.attrgetter("kind"), scan.chains)))
                for field, state in set(binned_keys).difference(suffixes):
                    suffix(field, state)
                for row, text in zip(scan.binned_rows, map(suffixes.__getitem__, binned_keys)):
                    tails[row] = text
                for row in scan.free_rows:
                    tails[row] = suffix(fields[row], ChunkState.FREE)
                if scan.top_row >= 0:
                    tails[scan.top_row] = suffix(fields[scan.top_row], ChunkState.TOP)
                for addresses, texts in _selected_rows(scan, tails, wanted, counter):
                    out.write(separator + ",".join(map('{"address":%d%s'.__mod__,
                                                       zip(addresses, texts))))
                    separator = ","
            out.write("]}")
            if arena.heap_problem and status.complete:
                status.stop(arena.address, arena.heap_problem)
        mmapped = []
        if include_mmapped:
            for chunk in snap.mmapped_chunks():
                state = self._mmapped_state(chunk)
                if (wanted is None or wanted(state, chunk.size)) and counter.take(1):
                    mmapped.append({"address": chunk.address, "size": chunk.size,
                                    "prev_size": chunk.prev_size, "flags": chunk.flags,
                                    "state": chunk.state})
        doubt_listing(snap, status, include_mmapped)
        tail = {"mmapped": mmapped, "complete": status.complete}
        if status.problem:
            tail["problem"] = status.problem
        if limit is not None:
            tail["left_out"] = counter.left_out
        out.write("]," + dumps(tail, separators=(",", ":"))[1:] + "\n")

    def _text(self, snap, arenas, wanted, include_mmapped, limit):
        """One line per chunk from the segment's columns: each line is one format operation
        over pre-rendered pieces (size and flags rendered once per distinct size field), and
        lines go to gdb in batches after the first one."""
        paint = output.Painter()
        status = WalkStatus()
        counter = _RowCounter(limit)
        geometry = snap.geometry
        size_mask, size_bits = geometry.size_mask, geometry.size_bits
        flags_text = _flag_texts(geometry, lambda names: "%-26s" % ("|".join(names) or "-"))
        state_text = {state: paint.state("%-8s" % state) + " " for state in STATES}
        line_format = "  " + paint.paint("%#x", "address") + "  %s"
        field_texts = {}
        where_of = _WhereCache(state_text)
        batch = []
        emit = batch.append
        out = stream.Stream()

        def flush():
            if batch:
                out.write("\n".join(batch) + "\n")
                batch.clear()
                out.flush()

        for arena in arenas:
            # The title needs no bins: written before the walk pays for reading them.
            out.write(paint.title("%s %#x" % (arena.label(), arena.address)) + "\n")
            out.flush()
            for segment in arena.heaps:
                emit(paint.meta("  heap %#x-%#x" % (segment.start, segment.end)))
                scan = snap.scan(arena, segment, status)
                fields = scan.fields
                for field in set(fields).difference(field_texts):
                    field_texts[field] = "%#9x  %s " % (field & size_mask,
                                                        flags_text[field & size_bits])
                if chunk_lines.whole_listing(wanted, limit):
                    flush()
                    counter.take(len(fields))
                    for piece in chunk_lines.text_pieces(scan, line_format, field_texts,
                                                         state_text, where_of):
                        out.write(piece)
                    out.flush()
                    continue
                texts = list(map(field_texts.__getitem__, fields))
                tails = [state_text[ChunkState.IN_USE]] * len(fields)
                for row in scan.free_rows:
                    tails[row] = state_text[ChunkState.FREE]
                if scan.top_row >= 0:
                    tails[scan.top_row] = state_text[ChunkState.TOP]
                for row, text in zip(scan.binned_rows, where_of.texts(scan)):
                    tails[row] = text
                columns = list(map(str.__add__, texts, tails))
                for addresses, lines in _selected_rows(scan, columns, wanted, counter):
                    batch.extend(map(line_format.__mod__, zip(addresses, lines)))
                    flush()
                flush()
            if arena.heap_problem and status.complete:
                status.stop(arena.address, arena.heap_problem)
        if include_mmapped:
            mmapped = [c for c in snap.mmapped_chunks()
                       if wanted is None or wanted(self._mmapped_state(c), c.size)]
            mmapped = mmapped[:counter.take(len(mmapped))]
            if mmapped:
                emit(paint.title("mmapped chunks"))
            for chunk in mmapped:
                emit("  %s  %#9x  %s %s" % (paint.address(chunk.address), chunk.size,
                                            flags_text[chunk.size_field & size_bits],
                                            state_text[chunk.state][:-1]))
        if counter.left_out:
            emit(paint.meta("... %s not shown (--limit %d)" % (
                output.plural(counter.left_out, "more chunk", "more chunks"), limit)))
        doubt_listing(snap, status, include_mmapped)
        if not status.complete:
            emit(paint.meta("walk incomplete: %s" % status.problem))
        flush()


def _summary(snap, arenas, wanted, include_mmapped, as_json, mmapped_state):
    """`heap chunks --summary`: the size/state histogram, from no per-chunk object;
    `mmapped_state(chunk)` is the state --state matches an mmapped chunk by."""
    counts, status = snap.size_state_histogram(arenas)
    histogram = {key: [count, key[0] * count] for key, count in counts.items()
                 if wanted is None or wanted(key[1], key[0])}
    if include_mmapped:
        for chunk in snap.mmapped_chunks():
            if wanted is None or wanted(mmapped_state(chunk), chunk.size):
                entry = histogram.setdefault((chunk.size, "mmapped"), [0, 0])
                entry[0] += 1
                entry[1] += chunk.size
    rows = sorted(histogram.items())
    doubt_listing(snap, status, include_mmapped)
    if as_json:
        output.write_json({"summary": [{"size": size, "state": state, "count": c, "bytes": b}
                                       for (size, state), (c, b) in rows],
                           "complete": status.complete})
        return
    paint = output.Painter()
    out = output.Writer()
    out.line(paint.title("%12s  %-9s %9s %14s" % ("size", "state", "count", "bytes")))
    for (size, state), (count, total) in rows:
        out.line("%#12x  %s %9d %14d" % (size, paint.state("%-9s" % state), count, total))
    count = sum(c for c, _b in histogram.values())
    total = sum(b for _c, b in histogram.values())
    out.line("%12s  %-9s %9d %14d" % ("total", "", count, total))
    if not status.complete:
        out.line(paint.meta("walk incomplete: %s" % status.problem))
    out.flush()
