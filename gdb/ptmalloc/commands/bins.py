"""`heap bins`: every bin of every arena and every thread's tcache, chains followed."""

from ..model import snapshot
from ..model.chunk_words import large_bin_rows
from ..render import output
from ..render.views import arena_bins_json, tcache_json
from . import HeapCommand, command

KINDS = ("tcache", "fast", "unsorted", "small", "large")


def _chain_text(paint, chain, limit=None):
    entries = chain.packed if chain.packed is not None else chain.chunks  # no list of millions
    shown = entries if limit is None else entries[:limit]
    text = paint.addresses(shown, " -> ")
    if limit is not None and len(chain) > limit:
        text += " -> ... (%d more)" % (len(chain) - limit)
    if not chain.complete:
        text += paint.meta("  [walk stopped: %s]" % chain.problem)
    return text


def show_tcache(snap, threads, paint, out):
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
                                                      mismatch, _chain_text(paint, chain)))


def _show_arena_bins(snap, arena, kinds, paint, out):
    out.line(paint.title("%s %#x" % (arena.label(), arena.address)))
    if "fast" in kinds:
        out.line("  fastbins:" + ("" if arena.fastbins else " (empty)"))
        for chain in arena.fastbins:
            out.line("    [%d] %#6x: %s" % (chain.index, chain.size, _chain_text(paint, chain)))
    if "unsorted" in kinds:
        chain = arena.unsorted
        out.line("  unsorted: %s" % (_chain_text(paint, chain) if chain and chain.chunks
                                      else "(empty)"))
    if "small" in kinds:
        out.line("  smallbins:" + ("" if arena.smallbins else " (empty)"))
        for chain in arena.smallbins:
            out.line("    [%2d] %#6x: %s" % (chain.index, chain.size, _chain_text(paint, chain)))
    if "large" in kinds:
        out.line("  largebins:" + ("" if arena.largebins else " (empty)"))
        for chain in arena.largebins:
            low, high = chain.size_range
            out.line("    [%3d] %#x-%s: %d chunks" % (chain.index, low,
                                                      "%#x" % high if high else "...",
                                                      len(chain.chunks)))
            for row in large_bin_rows(snap, chain):
                if row.get("error"):
                    links = paint.meta(row["error"])
                elif row["group_head"]:
                    links = "fd_nextsize %s bk_nextsize %s" % (
                        paint.address(row["fd_nextsize"]), paint.address(row["bk_nextsize"]))
                else:
                    links = paint.meta("(same size as the chunk before: not on the skip list)")
                out.line("      %s size %#x %s" % (paint.address(row["address"]), row["size"],
                                                   links))
            if not chain.complete:
                out.line(paint.meta("      [walk stopped: %s]" % chain.problem))


def skip_list_json(snap, chain):
    return [{"address": row["address"], "size": row["size"], "fd_nextsize": row["fd_nextsize"],
             "bk_nextsize": row["bk_nextsize"]}
            for row in large_bin_rows(snap, chain) if row["group_head"]]


@command
class HeapBins(HeapCommand):
    """Show the bins: every thread's tcache (by LWP and gdb thread number) and every arena's
fast, unsorted, small and large bins, chains followed to the end with safe-linked pointers
decoded and cycles detected.  Large bins show their size ranges and skip-list links (the
nextsize links of the first chunk of each size; --json: `skip_list`).

Usage: heap bins [tcache|fast|unsorted|small|large] [--json]"""

    name = "heap bins"
    aliases = (("bins", ()), ("tcachebins", ("tcache",)), ("fastbins", ("fast",)),
               ("smallbins", ("small",)), ("largebins", ("large",)),
               ("unsortedbin", ("unsorted",)))

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", choices=KINDS)

    def run(self, args):
        snap = snapshot.current()
        kinds = set(KINDS) if args.kind is None else {args.kind}
        if args.json:
            value = {}
            if "tcache" in kinds:
                value["tcache"] = [tcache_json(t) for t in snap.threads]
            if kinds - {"tcache"}:
                value["arenas"] = [arena_bins_json(a, kinds) for a in snap.arenas]
                if "large" in kinds:
                    for arena, entry in zip(snap.arenas, value["arenas"]):
                        for chain, large in zip(arena.largebins, entry["largebins"]):
                            large["skip_list"] = skip_list_json(snap, chain)
            output.write_json(value)
            return
        paint = output.Painter()
        out = output.Writer()
        if "tcache" in kinds:
            show_tcache(snap, snap.threads, paint, out)
        if kinds - {"tcache"}:
            for arena in snap.arenas:
                _show_arena_bins(snap, arena, kinds, paint, out)
        out.flush()
