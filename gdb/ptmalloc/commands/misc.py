"""`heap tcache [THREAD]`, `heap top` and `heap mp`."""

from ..errors import HeapError
from ..model import snapshot
from ..render import output
from ..render.views import tcache_json
from . import HeapCommand, command
from .bins import show_tcache


@command
class HeapTcache(HeapCommand):
    """Show the tcache of every thread, or of gdb thread number THREAD.

Usage: heap tcache [THREAD] [--json]"""

    name = "heap tcache"
    aliases = (("tcache", ()),)

    def add_arguments(self, parser):
        parser.add_argument("thread", nargs="?", type=int)

    def run(self, args):
        snap = snapshot.current()
        threads = snap.threads
        if args.thread is not None:
            threads = [t for t in threads if t.num == args.thread]
            if not threads:
                raise HeapError("no thread %d (see `info threads`)" % args.thread)
        if args.json:
            output.write_json({"tcache": [tcache_json(t) for t in threads]})
            return
        out = output.Writer()
        show_tcache(snap, threads, output.Painter(), out)
        out.flush()


@command
class HeapTop(HeapCommand):
    """Show the top chunk of every arena: address, size and where its heap ends.

Usage: heap top [--json]"""

    name = "heap top"
    aliases = (("top_chunk", ()),)

    def run(self, args):
        snap = snapshot.current()
        if args.json:
            output.write_json({"arenas": [{"address": a.address, "main": a.is_main, "top": a.top,
                                           "size": a.top_size, "end": a.top + a.top_size}
                                          for a in snap.arenas]})
            return
        paint = output.Painter()
        out = output.Writer()
        for arena in snap.arenas:
            out.line("%s %s: top %s size %#x (%s), ends at %s" % (
                arena.label(), paint.address(arena.address), paint.address(arena.top),
                arena.top_size, output.human_size(arena.top_size),
                paint.address(arena.top + arena.top_size)))
        out.flush()


@command
class HeapMp(HeapCommand):
    """Show the allocator parameters: every field of mp_ (struct malloc_par), global_max_fast,
narenas and tcache_key.

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
