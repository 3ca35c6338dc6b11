"""`heap bins`: every bin of every arena and every thread's tcache, chains followed."""

from ..model import snapshot
from ..model.chunk_words import large_bin_rows
from ..render import output
from ..render.views import arena_bins_json, tcache_json
from ..errors import HeapError
from . import HeapCommand, arena_argument, command, parse_address, size_argument

KINDS = ("tcache", "fast", "unsorted", "small", "large")
# Text shows at most this many chunks of a bin unless --limit says otherwise (0: all).
DEFAULT_LIMIT = 16


def _chain_text(paint, chain, limit=None):
    entries = chain.packed if chain.packed is not None else chain.chunks  # no list of millions
    shown = entries if limit is None else entries[:limit]
    text = paint.addresses(shown, " -> ")
    if limit is not None and len(chain) > limit:
        text += " -> ... (%d more)" % (len(chain) - limit)
    if not chain.complete:
        text += paint.meta("  [walk stopped: %s]" % chain.problem)
    return text


def show_tcache(snap, threads, paint, out, limit=None):
    for thread in threads:
        head = "tcache of %s at %s" % (thread.label(), paint.address(thread.tcache))
        if thread.error:
            out.line(paint.title(head) + paint.meta("  (%s)" % thread.error))
            continue
        if not thread.tcache:
            out.line(paint.title("tcache of %s: none" % thread.label()))
            continue
        out.line(paint.title(head))
        if not thread.tcache_bins:
            out.line("  (empty)")
        for chain in thread.tcache_bins:
            mismatch = "" if chain.count == len(chain.chunks) else paint.meta(
                " (count %d, chain %d)" % (chain.count, len(chain.chunks)))
            out.line("  [%2d] %#6x count %d%s: %s" % (chain.index, chain.size, chain.count,
                                                      mismatch, _chain_text(paint, chain, limit)))


def _show_arena_bins(snap, arena, kinds, paint, out, limit):
    out.line(paint.title("%s %#x" % (arena.label(), arena.address)))
    if "fast" in kinds:
        out.line("  fastbins:" + ("" if arena.fastbins else " (empty)"))
        for chain in arena.fastbins:
            out.line("    [%d] %#6x: %s" % (chain.index, chain.size,
                                          _chain_text(paint, chain, limit)))
    if "unsorted" in kinds:
        chain = arena.unsorted
        out.line("  unsorted: %s" % (_chain_text(paint, chain, limit) if chain and chain.chunks
                                      else "(empty)"))
    if "small" in kinds:
        out.line("  smallbins:" + ("" if arena.smallbins else " (empty)"))
        for chain in arena.smallbins:
            out.line("    [%2d] %#6x: %s" % (chain.index, chain.size,
                                           _chain_text(paint, chain, limit)))
    if "large" in kinds:
        out.line("  largebins:" + ("" if arena.largebins else " (empty)"))
        for chain in arena.largebins:
            low, high = chain.size_range
            out.line("    [%3d] %#x-%s: %s" % (chain.index, low, "%#x" % high if high else "...",
                                               output.plural(len(chain.chunks), "chunk")))
            rows = large_bin_rows(snap, chain)
            for row in rows if limit is None else rows[:limit]:
                if row.get("error"):
                    links = paint.meta(row["error"])
                elif row["group_head"]:
                    links = "fd_nextsize %s bk_nextsize %s" % (
                        paint.address(row["fd_nextsize"]), paint.address(row["bk_nextsize"]))
                else:
                    links = paint.meta("(same size as the chunk before: not on the skip list)")
                out.line("      %s size %#x %s" % (paint.address(row["address"]), row["size"],
                                                   links))
            if limit is not None and len(rows) > limit:
                out.line(paint.meta("      ... %d more" % (len(rows) - limit)))
            if not chain.complete:
                out.line(paint.meta("      [walk stopped: %s]" % chain.problem))


def skip_list_json(snap, chain):
    return [{"address": row["address"], "size": row["size"], "fd_nextsize": row["fd_nextsize"],
             "bk_nextsize": row["bk_nextsize"]}
            for row in large_bin_rows(snap, chain) if row["group_head"]]


def tcache_threads(snap, text):
    """The threads `text` names: a gdb thread number, or the address of (or inside) a tcache."""
    text = text.strip()
    if text.isdigit():
        threads = [t for t in snap.threads if t.num == int(text)]
        if not threads:
            raise HeapError("no thread %s (see `info threads`)" % text)
        return threads
    address = parse_address(text)
    threads = [t for t in snap.threads if t.tcache and t.tcache <= address < t.tcache + 0x290]
    if not threads:
        raise HeapError("%#x is neither a thread number nor a tcache (see `heap tcache`)"
                        % address)
    return threads


@command
class HeapBins(HeapCommand):
    """Show the bins: every thread's tcache and every arena's fast, unsorted, small and large bins.

Chains are followed to the end with safe-linked pointers decoded and cycles detected.  Large
bins show their size ranges and skip-list links (the nextsize links of the first chunk of each
size; --json: `skip_list`).

Usage: heap bins [tcache|fast|unsorted|small|large] [WHERE] [--arena ADDR] [--limit N] [--json]
  WHERE       an arena's address (only its bins, and the tcaches of its threads); with
              tcache, a gdb thread number or a tcache's address (pwndbg's `tcachebins ADDR`)
  --arena A   the same as an arena's address for WHERE
  --limit N   at most N chunks of each bin in the text (default 16, 0 = all); --json lists all"""

    name = "heap bins"
    aliases = (("bins", ()), ("tcachebins", ("tcache",)), ("fastbins", ("fast",)),
               ("smallbins", ("small",)), ("largebins", ("large",)),
               ("unsortedbin", ("unsorted",)))

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", choices=KINDS + ("all",))
        parser.add_argument("where", nargs="?")
        parser.add_argument("--arena")
        parser.add_argument("--limit", type=size_argument, default=DEFAULT_LIMIT)

    def group_positionals(self, words):
        if not words:
            return []
        if words[0] in KINDS:
            return words[:1] + ([" ".join(words[1:])] if words[1:] else [])
        return ["all", " ".join(words)]

    def complete_words(self, words, word):
        if not any(w in KINDS for w in words):
            return [kind for kind in KINDS if kind.startswith(word)] or None
        return None

    def run(self, args):
        snap = snapshot.current()
        kinds = set(KINDS) if args.kind in (None, "all") else {args.kind}
        threads = snap.threads
        arenas = snap.arenas
        where = args.where
        if args.arena is not None:
            if where is not None:
                raise HeapError("give the arena once: as WHERE or with --arena")
            where = args.arena
        if where is not None and kinds == {"tcache"} and args.arena is None:
            threads = tcache_threads(snap, where)
        elif where is not None:
            try:
                arena = arena_argument(snap, where)
            except HeapError as error:
                if args.kind != "all" or args.arena is not None:
                    raise
                raise HeapError("heap bins: %r is neither a bin kind (%s) nor an arena: %s" % (
                    where, ", ".join(KINDS), error)) from None
            arenas = [arena]
            threads = [t for t in threads if t.arena == arena.address or
                       (not t.arena and arena.is_main)]
        limit = args.limit or None
        if args.json:
            value = {}
            if "tcache" in kinds:
                value["tcache"] = [tcache_json(t) for t in threads]
            if kinds - {"tcache"}:
                value["arenas"] = [arena_bins_json(a, kinds) for a in arenas]
                if "large" in kinds:
                    for arena, entry in zip(arenas, value["arenas"]):
                        for chain, large in zip(arena.largebins, entry["largebins"]):
                            large["skip_list"] = skip_list_json(snap, chain)
            output.write_json(value)
            return
        paint = output.Painter()
        out = output.Writer()
        if "tcache" in kinds:
            show_tcache(snap, threads, paint, out, limit)
        if kinds - {"tcache"}:
            for arena in arenas:
                _show_arena_bins(snap, arena, kinds, paint, out, limit)
        out.flush()
