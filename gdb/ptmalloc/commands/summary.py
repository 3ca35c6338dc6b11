"""`heap`: one screen about the whole heap."""

from ..model import malloc_hooks, snapshot
from ..model.states import REPORT_ORDER
from ..render import output
from ..render.views import state_totals
from . import HeapCommand, command



@command
class HeapSummary(HeapCommand):
    """One-screen summary of the heap: allocator, arenas, heaps, chunk totals by state, threads.

Usage: heap [--json]
       heap summary [--json]"""

    name = "heap summary"

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
        out.line("%s %d (1 main, %d thread), %d heaps, %s from the system" % (
            paint.title("Arenas:"), len(snap.arenas), len(snap.arenas) - 1, heaps,
            output.human_size(system)))
        for arena in snap.arenas:
            out.line("  %-10s %s  heaps %d  system_mem %#x  top %s (%#x)  threads %s%s" % (
                arena.label(), paint.address(arena.address), len(arena.heaps), arena.system_mem,
                paint.address(arena.top), arena.top_size,
                ",".join(str(t.num) for t in arena.threads) or "-",
                "  [free list]" if arena.on_free_list else ""))
        out.line("%s" % paint.title("Chunks by state:"))
        for state in REPORT_ORDER + tuple(sorted(set(totals) - set(REPORT_ORDER))):
            if state in totals:
                count, size = totals[state]
                out.line("  %-9s %8d chunks %12d bytes" % (paint.state(state), count, size))
        out.line("  %-9s %8d chunks %12d bytes (mp_.n_mmaps %s)" % (
            "mmapped", len(mmapped), mmapped_bytes, snap.mp.get("n_mmaps", "?")))
        if hooks:
            out.line(paint.title("Hooks:"))
            for hook in hooks:
                out.line("  %-21s %s" % (hook.name, _hook_text(hook, paint)))
        out.line(paint.title("Threads:"))
        names = {a.address: a.label() + " " + ("%#x" % a.address) for a in snap.arenas}
        for thread in snap.threads:
            entries = sum(len(c.chunks) for c in thread.tcache_bins)
            out.line("  %s%s: arena %s, tcache %s: %s in %s" % (
                thread.label(), " \"%s\"" % thread.name if thread.name else "",
                names.get(thread.arena, "none" if not thread.arena else "%#x" % thread.arena),
                paint.address(thread.tcache), _counted(entries, "entry", "entries"),
                _counted(len(thread.tcache_bins), "bin", "bins")))
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
    return text + ("  [glibc's initial hook: cleared by the first call]" if hook.initial else
                   "  [set: called instead of the allocator]")
