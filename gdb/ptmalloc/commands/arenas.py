"""`heap arenas` and `heap arena [ADDR]`: every malloc_state, its heaps and threads."""

from ..model import snapshot
from ..render import output
from ..render.views import arena_json
from . import HeapCommand, arena_argument, command, size_argument


def _show_arena(geometry, arena, paint, out):
    out.line("%s %s%s" % (paint.title(arena.label()), paint.address(arena.address),
                          "  (on the free list)" if arena.on_free_list else ""))
    out.line("  top %s size %#x   last_remainder %s" % (
        paint.address(arena.top), arena.top_size, paint.address(arena.last_remainder)))
    out.line("  system_mem %#x   max_system_mem %#x   flags %#x%s   have_fastchunks %d" % (
        arena.system_mem, arena.max_system_mem, arena.fields.get("flags", 0),
        " (NONCONTIGUOUS)" if arena.fields.get("flags", 0) & geometry.noncontiguous_bit else "",
        arena.fields.get("have_fastchunks", 0)))
    threads = ", ".join(t.label() for t in arena.threads) or "none"
    out.line("  attached_threads %d   threads using it: %s" % (arena.attached_threads, threads))
    out.line("  next %s   next_free %s" % (paint.address(arena.next),
                                          paint.address(arena.next_free)))
    if not arena.heaps:
        out.line("  heaps: none yet")
    for segment in arena.heaps:
        if segment.address is None:
            out.line("  heap (%s) chunks %s - %s" % (
                "sbrk" if segment.kind == "sbrk" else "mmapped, non-contiguous",
                paint.address(segment.start), paint.address(segment.end)))
        else:
            info = segment.info
            out.line("  heap_info %s  size %#x  mprotect_size %#x  prev %s  chunks %s - %s" % (
                paint.address(segment.address), info["size"], info["mprotect_size"],
                paint.address(info["prev"]), paint.address(segment.start),
                paint.address(segment.end)))
    if arena.heap_problem:
        out.line(paint.meta("  note: %s" % arena.heap_problem))


@command
class HeapArenas(HeapCommand):
    """List every arena with its heaps, top chunk, system_mem and threads.

Main and thread arenas, their heaps (heap_info chain), top, last remainder, system_mem,
attached threads and whether the arena is on the free list.

Usage: heap arenas [--limit N] [--json]
  --limit N   at most N arenas in the text (--json lists all)"""

    name = "heap arenas"
    aliases = (("arenas", ()),)

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=size_argument)

    def run(self, args):
        snap = snapshot.current()
        if args.json:
            output.write_json({"arenas": [arena_json(a) for a in snap.arenas],
                               "notes": snap.notes})
            return
        paint = output.Painter()
        out = output.Writer()
        shown = snap.arenas if args.limit is None else snap.arenas[:args.limit]
        for arena in shown:
            _show_arena(snap.geometry, arena, paint, out)
        if len(shown) < len(snap.arenas):
            out.line(paint.meta("... %s not shown (--limit %d)" % (
                output.plural(len(snap.arenas) - len(shown), "more arena", "more arenas"),
                args.limit)))
        for note in snap.notes:
            out.line(paint.meta("note: %s" % note))
        out.flush()


@command
class HeapArena(HeapCommand):
    """Show one arena: the one at ADDR, or the selected thread's arena (main_arena if none).

Usage: heap arena [ADDR] [--json]"""

    name = "heap arena"
    aliases = (("arena", ()),)

    def add_arguments(self, parser):
        parser.add_argument("address", nargs="?")

    def run(self, args):
        snap = snapshot.current()
        if args.address is not None:
            arena = arena_argument(snap, args.address)
        else:
            arena = snap.selected_arena()
        if args.json:
            output.write_json(arena_json(arena))
            return
        out = output.Writer()
        _show_arena(snap.geometry, arena, output.Painter(), out)
        out.flush()
