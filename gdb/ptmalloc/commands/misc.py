"""`heap tcache [THREAD]`, `heap top` and `heap mp`."""

from ..model import snapshot
from ..render import output
from ..render.views import tcache_json
from . import HeapCommand, arena_argument, command, size_argument
from .bins import DEFAULT_LIMIT, show_tcache, tcache_threads


@command
class HeapTcache(HeapCommand):
    """Show the tcache of every thread, or of gdb thread number THREAD.

THREAD may also be the address of a tcache (or inside one), as pwndbg's `tcache ADDR`.

Usage: heap tcache [THREAD] [--limit N] [--json]
  --limit N   at most N chunks of each bin in the text (default 16, 0 = all)"""

    name = "heap tcache"
    aliases = (("tcache", ()),)

    def add_arguments(self, parser):
        parser.add_argument("thread", nargs="?")
        parser.add_argument("--limit", type=size_argument, default=DEFAULT_LIMIT)

    def run(self, args):
        snap = snapshot.current()
        threads = snap.threads
        if args.thread is not None:
            threads = tcache_threads(snap, args.thread)
        if args.json:
            output.write_json({"tcache": [tcache_json(t) for t in threads]})
            return
        out = output.Writer()
        show_tcache(snap, threads, output.Painter(), out, args.limit or None)
        out.flush()


@command
class HeapTop(HeapCommand):
    """Show the top chunk of every arena: address, size and where its heap ends.

ARENA (an arena's address, as pwndbg's `top_chunk ADDR`) shows that arena's only.

Usage: heap top [ARENA] [--arena ADDR] [--json]"""

    name = "heap top"
    aliases = (("top_chunk", ()),)

    def add_arguments(self, parser):
        parser.add_argument("where", nargs="?")
        parser.add_argument("--arena")

    def run(self, args):
        snap = snapshot.current()
        arenas = snap.arenas
        if args.where is not None or args.arena is not None:
            arenas = [arena_argument(snap, args.arena if args.where is None else args.where)]
        if args.json:
            output.write_json({"arenas": [{"address": a.address, "main": a.is_main, "top": a.top,
                                           "size": a.top_size, "end": a.top + a.top_size}
                                          for a in arenas]})
            return
        paint = output.Painter()
        out = output.Writer()
        for arena in arenas:
            out.line("%s %s: top %s size %#x (%s), ends at %s" % (
                arena.label(), paint.address(arena.address), paint.address(arena.top),
                arena.top_size, output.human_size(arena.top_size),
                paint.address(arena.top + arena.top_size)))
        out.flush()


@command
class HeapMp(HeapCommand):
    """Show the allocator parameters: mp_, global_max_fast, narenas and tcache_key.

Every field of mp_ (struct malloc_par), then the other scalar globals.

Usage: heap mp [--json]"""

    name = "heap mp"
    aliases = (("mp", ()),)

    def run(self, args):
        snap = snapshot.current()
        values = dict(snap.mp)
        extra = snap.scalar_globals()
        if args.json:
            output.write_json({"mp_": values, **extra})
            return
        paint = output.Painter()
        out = output.Writer()
        out.line(paint.title("mp_ at %#x" % snap.allocator.addresses["mp_"]))
        for name, value in values.items():  # in the struct's field order
            out.line("  %-22s %s" % (name, "%#x" % value if isinstance(value, int)
                                     and value > 4096 else value))
        for name, value in extra.items():
            out.line("%-24s %s" % (name, "unreadable" if value is None else "%#x" % value))
        out.flush()
