"""`heap history [ADDR]`: the allocation history the clone records with PTMALLOC_HISTORY=N, or
the calls in it that touched the chunk holding ADDR; and the words `heap chunk` uses to say who
last allocated and freed a chunk."""

import gdb

from ..model import history as ring
from ..model import snapshot
from ..render import output
from ..target.code_sites import SiteNamer, describe
from . import HeapCommand, command, parse_address, size_argument


class EventWords:
    """Events as text and JSON: call sites named by gdb, threads by gdb's numbers."""

    def __init__(self):
        self._namer = SiteNamer()
        try:
            threads = gdb.selected_inferior().threads()
        except gdb.error:
            threads = ()
        self._thread_numbers = {thread.ptid[1]: thread.num for thread in threads}

    def thread_text(self, lwp):
        number = self._thread_numbers.get(lwp)
        if number is None:
            return "LWP %d (a thread gone by this stop)" % lwp
        return "thread %d (LWP %d)" % (number, lwp)

    def call_text(self, event):
        """The call as the program wrote it, with its result: `malloc(24) = 0x...`."""
        op = event.op
        if op == "free":
            return "free(%#x)" % event.ptr
        if op == "realloc":
            arguments = "%#x, %d" % (event.old_ptr, event.size)
        elif op == "posix_memalign":
            arguments = "&p, %d, %d" % (event.alignment, event.size)
        elif op in ("memalign", "aligned_alloc"):
            arguments = "%d, %d" % (event.alignment, event.size)
        else:
            arguments = "%d" % event.size
        return "%s(%s) = %#x" % (op, arguments, event.ptr)

    def site_text(self, event):
        return describe(self._namer.site(event.caller))

    def line(self, event):
        return "#%d %s in %s at %s" % (event.seq, self.call_text(event),
                                       self.thread_text(event.thread), self.site_text(event))

    def how(self, event, start, end):
        """`allocated by malloc(24) in thread 2 (LWP ..) at file.c:LINE (function)`."""
        what = ring.role(event, start, end)
        call = self.call_text(event) if event.op != "free" else "free"
        if what == "moved":
            what, call = "freed", call + " (moved)"
        return "%s by %s in %s at %s [#%d]" % (what, call, self.thread_text(event.thread),
                                              self.site_text(event), event.seq)

    def json(self, event):
        site = self._namer.site(event.caller)
        return {"seq": event.seq, "op": event.op, "ptr": event.ptr, "size": event.size,
                "caller": event.caller, "thread": event.thread,
                "thread_num": self._thread_numbers.get(event.thread),
                "old_ptr": event.old_ptr if event.op == "realloc" else None,
                "alignment": event.alignment or None,
                "file": site.file, "line": site.line, "function": site.function}


def chunk_history_json(history, words, start, end):
    """`heap chunk`'s added member: the chunk's last allocation and last free, None when
    history is off."""
    if not history.enabled:
        return None
    allocated, freed = ring.last_allocation_and_free(history, start, end)
    return {"allocated": words.json(allocated) if allocated else None,
            "freed": words.json(freed) if freed else None}


def chunk_history_lines(history, words, start, end):
    """`heap chunk`'s added lines: the chunk's last allocation and last free in the ring."""
    if not history.enabled:
        return []
    allocated, freed = ring.last_allocation_and_free(history, start, end)
    lines = []
    for label, event in (("last allocation", allocated), ("last free", freed)):
        lines.append("  %s: %s" % (label, words.how(event, start, end) if event else
                                   "none in the last %d calls recorded" % history.held))
    return lines


def _summary(history):
    overwritten = history.overwritten
    text = "%s recorded, ring of %d: %s" % (
        output.plural(history.recorded, "call"), history.capacity,
        "%d older ones overwritten" % overwritten if overwritten else "none overwritten")
    if history.in_progress:
        text += "; %s in progress (%s)" % (output.plural(len(history.in_progress), "call"),
                                           ", ".join("#%d" % seq for seq in history.in_progress))
    return text


@command
class HeapHistory(HeapCommand):
    """Show the allocation history: the program's last calls to malloc, free and the others.

The calls to malloc, free, calloc, realloc and the memalign family, newest last, each with its
result, size, thread and call site.  The clone records them when the program runs with PTMALLOC_HISTORY=N (or
GLIBC_TUNABLES=glibc.malloc.history=N): a ring of the last N calls, kept outside the heap, read
live or from a core.  With ADDR (a gdb expression, `print`'s syntax), only the calls that
touched the chunk holding ADDR: who allocated it, resized it, freed it.

Usage: heap history [ADDR] [--limit N] [--json]
  --limit N   the last N of them only (default: all the ring holds)"""

    name = "heap history"

    def add_arguments(self, parser):
        parser.add_argument("address", nargs="?")
        parser.add_argument("--limit", type=size_argument, default=None)

    def run(self, args):
        # Without ADDR only the shown events are read; with it, the whole ring is searched and
        # only the chunk's events kept.
        span = chunk = None
        if args.address is not None:
            address = parse_address(args.address)
            chunk = snapshot.current().chunk_at(address)
            span = (chunk.address, chunk.address + chunk.size) if chunk is not None else \
                (address, address + 1)
        history = ring.current(args.limit if args.address is None and args.limit else None,
                               touching=span)
        if not history.enabled:
            if args.json:
                output.write_json({"enabled": False, "events": [], "reason": history.reason})
                return
            gdb.write("allocation history is off: %s\n" % history.reason)
            return
        events = history.events
        shown = events[-args.limit:] if args.limit else events
        left_out = len(events) - len(shown) if args.address is not None else \
            history.held - len(shown) - len(history.in_progress)
        words = EventWords()
        if args.json:
            value = {"enabled": True, "events": [words.json(event) for event in shown],
                     "capacity": history.capacity, "recorded": history.recorded,
                     "overwritten": history.overwritten, "in_progress": history.in_progress,
                     "left_out": left_out}
            if args.address is not None:
                value["address"] = address
                value["chunk"] = chunk.address if chunk is not None else None
            output.write_json(value)
            return
        paint = output.Painter()
        out = output.Writer()
        out.line("%s: %s" % (paint.title("allocation history"), _summary(history)))
        if args.address is not None:
            where = "chunk %s (user %s)" % (paint.address(chunk.address),
                                          paint.address(chunk.user_address)) \
                if chunk is not None else "%s (in no chunk now: calls whose pointer is there)" \
                % paint.address(address)
            out.line("%s: %s of the %d in the ring touched it" % (
                where, output.plural(len(events), "call"), history.held))
        if left_out:
            out.line(paint.meta("  (%d older ones left out: --limit %d)" % (left_out, args.limit)))
        for event in shown:
            if span is None:
                out.line("  " + words.line(event))
            else:
                out.line("  " + words.how(event, *span))
        out.flush()
