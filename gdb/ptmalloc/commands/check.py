"""`heap check`: the whole-heap audit, failing the command when it finds anything."""

from ..check import audit, leaks, pending_free
from ..check.findings import Finding, Rule
from ..model import unread
from ..errors import HeapVerdict
from ..model import snapshot
from ..render import output
from . import HeapCommand, command, parse_address, size_argument


@command
class HeapCheck(HeapCommand):
    """Audit the whole heap: every arena, heap, bin and thread's tcache.

Usage: heap check [--json] [--free EXPR] [--leaks] [--limit N]

Checks chunk sizes and the walk of each heap from its first chunk to top (or its fencepost),
PREV_INUSE and prev_size against the neighbour, that each free chunk is in exactly one bin and
in-use chunks in none, both directions of every doubly linked bin, sizes of fast and tcache
chunks, tcache counts, safe-linked pointers, large-bin order and skip lists, the binmap, the top
chunk, the NON_MAIN_ARENA bit and each arena's system_mem.  Each finding names the rule, the
chunk, what is wrong, and the abort message the allocator's release (glibc 2.31, 2.36 or 2.41,
or the clone) will raise when the program next touches it; before 2.34, a malloc hook set to
something glibc never stores there is named too.

--free EXPR also judges the call free(EXPR) before the program makes it: a double free (the chunk
is in a bin, carries the tcache key, or was merged into top), an invalid pointer (interior, fake
chunk outside the heap, forged mmapped header) or a chunk whose size was enlarged over a
neighbour still in use is a finding, with the abort that free would raise (none when glibc lets
it through).

--leaks also reports in-use chunks that no live memory points at any more (a conservative scan
of globals, live stacks, registers and reachable chunks), once the heap itself is consistent.

--limit N shows at most N findings in the text (the verdict and --json count them all).

Any finding makes the command fail (so `gdb -batch` exits non-zero).  With --json the report
{"ok": bool, "findings": [{"rule", "address", "message", "predicted_abort"}]} is printed first.
Run by a Python script, gdb.execute("heap check --json", to_string=True) returns the report
whatever the verdict: from Python the command does not fail, and without --json its text ends
with the line the failure would have given."""

    name = "heap check"
    aliases = (("heap_check", ()),)

    def add_arguments(self, parser):
        parser.add_argument("--free", dest="free_expression", metavar="EXPR")
        parser.add_argument("--leaks", action="store_true")
        parser.add_argument("--limit", type=size_argument)

    def run(self, args):
        snap = snapshot.current()
        findings, found_busy, unchecked = audit.audit(snap)
        if args.free_expression:
            judge = pending_free.PendingFree(snap, audit.selected_thread_info(snap))
            pending = judge.judge(parse_address(args.free_expression))
            if pending is not None:
                findings.append(pending)
        reliable = [finding for finding in findings if not finding.unreliable]
        if args.leaks and not reliable:
            roots_unread = unread.leak_roots_unread(snap)
            if roots_unread:
                # A chunk only these could point at would be called a leak: none is named.
                unchecked += [(start, end, "leaks not searched, this memory could not be "
                               "scanned for pointers: %s" % why)
                              for start, end, why in roots_unread]
            else:
                for leak in leaks.find_leaks(snap):
                    findings.append(Finding(
                        Rule.LEAK, leak.address,
                        "in-use chunk %#x (size %#x, user data at %#x) is not referenced from "
                        "any live memory: leaked" % (leak.address, leak.size, leak.user_address)))
        reliable = [finding for finding in findings if not finding.unreliable]
        if args.json:
            report = {"ok": not reliable and not unchecked,
                      "findings": [finding.to_json() for finding in findings]}
            if unchecked:
                report["complete"] = False
                report["unchecked"] = unread.to_json(unchecked)
            if found_busy:
                report["busy"] = found_busy.to_json()
            output.write_json(report)
        else:
            _show(findings, snap, found_busy, unchecked, args.limit)
        if reliable:
            rules = sorted({finding.rule for finding in reliable})
            raise HeapVerdict("check found %d problem%s (%s)%s" % (
                len(reliable), "" if len(reliable) == 1 else "s", ", ".join(rules),
                "; %d part%s could not be checked" % (len(unchecked), "" if len(unchecked) == 1
                                                      else "s") if unchecked else ""), args.json)
        if unchecked:
            raise HeapVerdict("check incomplete: %d part%s of the heap could not be read, see "
                              "above" % (len(unchecked), "" if len(unchecked) == 1 else "s"),
                              args.json)


def _show(findings, snap, found_busy, unchecked, limit=None):
    paint = output.Painter()
    out = output.Writer()
    for entry in unchecked:
        out.line(paint.meta("not checked: %s" % unread.describe(*entry)))
    for address, why in sorted(found_busy.arenas.items()):
        out.line(paint.meta("busy: arena %#x: %s; what is found there may be that call in "
                            "progress" % (address, why)))
    unreliable = sum(1 for finding in findings if finding.unreliable)
    if len(findings) == unreliable and not unchecked:
        heaps = sum(len(arena.heaps) for arena in snap.arenas)
        out.line("heap check: ok (%d arenas, %d heaps, %d threads)%s" % (
            len(snap.arenas), heaps, len(snap.threads),
            ", apart from %d unreliable finding%s on busy arenas" % (
                unreliable, "" if unreliable == 1 else "s") if unreliable else ""))
    for finding in findings if limit is None else findings[:limit]:
        out.line("%s %s %s" % (paint.paint("[%s]" % finding.rule, "highlight"),
                               paint.address(finding.address), finding.message))
        out.line("    %s %s" % (paint.meta("next touch aborts with:"),
                                finding.predicted_abort or "(no abort message predicted)"))
        if finding.unreliable:
            out.line("    %s %s" % (paint.meta("unreliable:"), finding.unreliable))
    if limit is not None and len(findings) > limit:
        out.line(paint.meta("... %s not shown (--limit %d; the verdict counts them all)" % (
            output.plural(len(findings) - limit, "more finding", "more findings"), limit)))
    out.flush()
