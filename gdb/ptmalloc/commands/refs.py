"""`heap refs ADDR`: who points into the chunk holding ADDR (model/references.py scans)."""

from ..model import references, snapshot
from ..render import output
from . import HeapCommand, command, parse_address, size_argument


@command
class HeapRefs(HeapCommand):
    """List the words of heap, stacks, TLS and writable data pointing into ADDR's chunk.

A word counts when it is 8-byte aligned and its value lies anywhere in the chunk, from its
header to its end (a pointer to the user data, the header or inside).  Each line: where the
word is, its value, and its region (heap chunk, stack or TLS of a thread, .data of an object).
A thread's register (of its newest frame) holding such a value is listed too.
Memory that could not be read is listed as such.  Stacks are scanned from each thread's stack
pointer (less the 128-byte red zone) up: the words below are dead frames.

Usage: heap refs ADDR [--limit N] [--json]
  --limit N   at most N references (the count of the others is given; 0 = all)"""

    name = "heap refs"

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("--limit", type=size_argument)

    def run(self, args):
        snap = snapshot.current()
        report = references.find(snap, parse_address(args.address))
        refs = report.refs
        left_out = 0
        if args.limit and len(refs) > args.limit:
            left_out = len(refs) - args.limit
            refs = refs[:args.limit]
        chunk, size, state, arena = report.target
        if args.json:
            document = {
                "chunk": {"address": chunk, "size": size, "state": state, "arena": arena},
                "refs": [{"address": ref.address, "value": ref.value, "region": ref.region,
                          "chunk": ref.chunk, "chunk_state": ref.chunk_state} for ref in refs],
                "registers": [{"thread": ref.thread, "lwp": ref.lwp, "register": ref.register,
                               "value": ref.value} for ref in report.registers],
                "unread": [{"start": start, "end": end, "why": why}
                           for start, end, why in report.unread],
                "problems": report.problems,
                "complete": not report.unread and not report.problems}
            if args.limit is not None:
                document["left_out"] = left_out
            output.write_json(document)
            return
        paint = output.Painter()
        out = output.Writer()
        out.line(paint.title("references to chunk %#x (size %#x, %s)" % (chunk, size, state)))
        for ref in refs:
            state_text = " (%s)" % ref.chunk_state if ref.chunk_state not in (None, "in-use") \
                else ""
            out.line("  %s  %s  %s%s" % (paint.address(ref.address), paint.address(ref.value),
                                         ref.region, state_text))
        for ref in report.registers:
            out.line("  register %s of thread %d  %s" % (ref.register, ref.thread,
                                                       paint.address(ref.value)))
        if not report.refs and not report.registers:
            out.line("  none found")
        if left_out:
            out.line(paint.meta("... %s not shown (--limit %d)" % (
                output.plural(left_out, "more reference", "more references"), args.limit)))
        for start, end, why in report.unread:
            out.line(paint.meta("not scanned: %#x-%#x (%s)" % (start, end, why)))
        for problem in report.problems:
            out.line(paint.meta("incomplete: %s" % problem))
        out.flush()
