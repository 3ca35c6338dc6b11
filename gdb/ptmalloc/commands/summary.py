"""`heap`: one screen about the whole heap."""

from ..model import malloc_hooks, snapshot
from ..model.states import REPORT_ORDER
from ..render import output
from ..render.views import state_totals
from . import HeapCommand, command

# Past this many arenas or threads, `heap` lists the first ones and sums up the rest (--all
# lists every one): 64 threads still fit one screen.
SCREEN_ROWS = 8


def _number_ranges(numbers):
    """`1-4,7,9-10` for thread numbers."""
    numbers = sorted(numbers)
    ranges = []
    for number in numbers:
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ",".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in ranges)


def _used_by(threads):
    if not threads:
        return "used by no thread"
    return "used by thread%s %s" % ("" if len(threads) == 1 else "s",
                                     _number_ranges(t.num for t in threads))


@command
class HeapSummary(HeapCommand):
    """Show a one-screen summary of the heap: allocator, arenas, heaps, chunk totals, threads.

Past 8 arenas or threads the first ones are listed and the rest summed up; --all lists each.

Usage: heap [--all] [--json]
       heap summary [--all] [--json]"""

    name = "heap summary"

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true")

    def run(self, args):
        snap = snapshot.current()
        totals, status = state_totals(snap)
        mmapped = snap.mmapped_chunks()
        mmapped_bytes = sum(chunk.size for chunk in mmapped)
        hooks = malloc_hooks.read(snap)
        if args.json:
            output.write_json({
                "allocator": {"file": snap.allocator.name, "flavour": snap.allocator.flavour,
                              "types": snap.allocator.source,
                              "release": str(snap.allocator.release)},
                "hooks": [hook.to_json() for hook in hooks],
                "arenas": [{"address": a.address, "main": a.is_main, "heaps": len(a.heaps),
                            "system_mem": a.system_mem, "top": a.top, "top_size": a.top_size,
                            "threads": [t.lwp for t in a.threads],
                            "on_free_list": a.on_free_list} for a in snap.arenas],
                "totals": {state: {"count": c, "bytes": b} for state, (c, b) in totals.items()},
                "mmapped": {"count": len(mmapped), "bytes": mmapped_bytes},
                "threads": [{"thread": t.lwp, "num": t.num, "arena": t.arena, "tcache": t.tcache,
                             "entries": sum(len(c.chunks) for c in t.tcache_bins)}
                            for t in snap.threads],
                "complete": status.complete, "notes": list(snap.notes)
                + ([status.problem] if status.problem else []),
            })
            return
        paint = output.Painter()
        out = output.Writer()
        out.line("%s %s (types from %s)" % (paint.title("Allocator:"), snap.allocator.describe(),
                                            snap.allocator.source))
        heaps = sum(len(a.heaps) for a in snap.arenas)
        system = sum(a.system_mem for a in snap.arenas)
        out.line("%s %d (1 main, %d thread), %s, %s from the system" % (
            paint.title("Arenas:"), len(snap.arenas), len(snap.arenas) - 1,
            output.plural(heaps, "heap"), output.human_size(system)))
        shown = snap.arenas if args.all else snap.arenas[:SCREEN_ROWS]
        for arena in shown:
            out.line("  %-10s %s  heaps %d  system_mem %#x  top %s (%#x)  %s%s" % (
                arena.label(), paint.address(arena.address), len(arena.heaps), arena.system_mem,
                paint.address(arena.top), arena.top_size, _used_by(arena.threads),
                "  [free list]" if arena.on_free_list else ""))
        if len(shown) < len(snap.arenas):
            rest = snap.arenas[len(shown):]
            heaps_left = output.plural(sum(len(a.heaps) for a in rest), "heap")
            system_left = output.human_size(sum(a.system_mem for a in rest))
            out.line(paint.meta("  ... %d more arenas: %s, %s from the system (heap --all, "
                                "heap arenas)" % (len(rest), heaps_left, system_left)))
        out.line("%s" % paint.title("Chunks by state:"))
        for state in REPORT_ORDER + tuple(sorted(set(totals) - set(REPORT_ORDER))):
            if state in totals:
                count, size = totals[state]
                out.line("  %s %8d %-6s %12d bytes" % (paint.state("%-9s" % state), count,
                                                       "chunk" if count == 1 else "chunks", size))
        out.line("  %-9s %8d %-6s %12d bytes (mp_.n_mmaps %s)" % (
            "mmapped", len(mmapped), "chunk" if len(mmapped) == 1 else "chunks", mmapped_bytes,
            snap.mp.get("n_mmaps", "?")))
        if hooks:
            out.line(paint.title("Hooks:"))
            for hook in hooks:
                out.line("  %-21s %s" % (hook.name, _hook_text(hook, paint)))
        out.line(paint.title("Threads:") + " %d" % len(snap.threads))
        names = {a.address: a.label() + " " + ("%#x" % a.address) for a in snap.arenas}
        threads = snap.threads if args.all else snap.threads[:SCREEN_ROWS]
        for thread in threads:
            entries = sum(len(c.chunks) for c in thread.tcache_bins)
            out.line("  %s%s: %s, tcache %s: %s in %s" % (
                thread.label(), " \"%s\"" % thread.name if thread.name else "",
                names.get(thread.arena,
                          "no arena" if not thread.arena else "arena %#x" % thread.arena),
                paint.address(thread.tcache), _counted(entries, "entry", "entries"),
                _counted(len(thread.tcache_bins), "bin", "bins")))
        if len(threads) < len(snap.threads):
            rest = snap.threads[len(threads):]
            entries = sum(len(c.chunks) for t in rest for c in t.tcache_bins)
            out.line(paint.meta("  ... %d more (threads %s): %s in their tcaches (heap --all, "
                                "heap tcache)" % (len(rest), _number_ranges(t.num for t in rest),
                                                  _counted(entries, "entry", "entries"))))
        for note in snap.notes + ([status.problem] if status.problem else []):
            out.line(paint.meta("note: %s" % note))
        out.flush()


def _counted(count, one, many):
    return "%d %s" % (count, one if count == 1 else many)


def _hook_text(hook, paint):
    if hook.value is None:
        return "unreadable"
    if not hook.value:
        return "NULL"
    text = paint.address(hook.value) + (" (%s)" % hook.target if hook.target else "")
    if hook.initial:
        return text + "  [glibc's initial hook: cleared by the first call]"
    if hook.malloc_check:
        return text + "  [glibc's MALLOC_CHECK_ hook]"
    return text + "  [set: called instead of the allocator]"
