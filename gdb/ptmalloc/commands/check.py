"""`heap check`: the whole-heap audit, failing the command when it finds anything."""

from ..check import audit, leaks, pending_free
from ..check.findings import Finding, Rule
from ..model import unread
from ..errors import HeapError, HeapVerdict
from ..model import snapshot
from ..predict.touches import NextTouch, Touch
from ..render import output
from . import HeapCommand, arguments, command, parse_address, size_argument

# --next CALL: the calls the engine answers, and how many arguments each takes.
_NEXT_CALLS = {"malloc": 1, "free": 1, "realloc": 2, "calloc": 2}


@command
class HeapCheck(HeapCommand):
    """Audit the whole heap: every arena, heap, bin and thread's tcache.

Usage: heap check [--json] [--free EXPR] [--next CALL] [--leaks] [--limit N]

Checks chunk sizes and the walk of each heap from its first chunk to top (or its fencepost),
PREV_INUSE and prev_size against the neighbour, that each free chunk is in exactly one bin and
in-use chunks in none, both directions of every doubly linked bin, sizes of fast and tcache
chunks, tcache counts, safe-linked pointers, large-bin order and skip lists, the binmap, the top
chunk, the NON_MAIN_ARENA bit and each arena's system_mem.  Each finding names the rule, the
chunk, what is wrong, the call that would next touch it (the free of that chunk, a malloc of
that bin's size, the next malloc that sorts the unsorted bin), and what that call does: the
allocator's own code runs it on a copy of the heap (the prediction engine, as in `heap
try-malloc`), so the abort message is the release's own (glibc 2.31, 2.36; 2.41 is answered by
the 2.36 engine).  Before 2.34, a malloc hook set to something glibc never stores there is named
too.

--free EXPR also judges the call free(EXPR) before the program makes it: a double free (the chunk
is in a bin, carries the tcache key, or was merged into top), an invalid pointer (interior, fake
chunk outside the heap, forged mmapped header) or a chunk whose size was enlarged over a
neighbour still in use is a finding, with the abort that free would raise (none when glibc lets
it through).

--next CALL judges the call the program makes next, before it makes it: `malloc(N)`,
`free(EXPR)`, `realloc(EXPR, N)` or `calloc(N, M)` (arguments are gdb expressions); a call that
would abort or crash is a finding, and --json adds the engine's whole answer as "next_call".

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
        parser.add_argument("--next", dest="next_call", metavar="CALL")
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
        next_call = None
        if args.next_call:
            next_call, finding = _judge_next_call(snap, args.next_call)
            if finding is not None:
                findings.append(finding)
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
            if next_call is not None:
                report["next_call"] = next_call
            output.write_json(report)
        else:
            _show(findings, snap, found_busy, unchecked, next_call, args.limit)
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


def _judge_next_call(snap, text):
    """(the engine's answer with its "call", a Finding or None) for --next CALL."""
    # Quoted as a whole, so that the shell or gdb keeps it one word.
    text = arguments.unquoted(text) or text.strip()
    name, _, rest = text.partition("(")
    name = name.strip()
    if name not in _NEXT_CALLS or not rest.rstrip().endswith(")"):
        raise HeapError("--next takes malloc(N), free(EXPR), realloc(EXPR, N) or calloc(N, M), "
                        "not %r" % text)
    call_arguments = arguments.words(rest.rstrip()[:-1], separates=lambda char: char == ",")
    if len(call_arguments) != _NEXT_CALLS[name]:
        raise HeapError("--next: %s takes %d argument%s" % (
            name, _NEXT_CALLS[name], "" if _NEXT_CALLS[name] == 1 else "s"))
    values = [parse_address(argument) for argument in call_arguments]
    thread = audit.selected_thread_info(snap)
    touch = Touch(name, values, why="the call --next names", thread=thread)
    outcome = NextTouch(snap, thread).resolve(touch)
    if outcome.answer is None:
        raise HeapError("--next %s: %s" % (touch.text(), outcome.summary))
    answer = dict(outcome.answer, call=touch.text(), summary=outcome.summary)
    finding = None
    if outcome.meets_a_check():
        finding = Finding(Rule.NEXT_CALL, values[0] if name in ("free", "realloc") else None,
                          "%s %s" % (touch.text(), outcome.summary), outcome)
    return answer, finding


def _show(findings, snap, found_busy, unchecked, next_call=None, limit=None):
    paint = output.Painter()
    out = output.Writer()
    for entry in unchecked:
        out.line(paint.meta("not checked: %s" % unread.describe(*entry)))
    for address, why in sorted(found_busy.arenas.items()):
        out.line(paint.meta("busy: arena %#x: %s; what is found there may be that call in "
                            "progress" % (address, why)))
    if next_call is not None and not any(finding.rule == Rule.NEXT_CALL for finding in findings):
        out.line("next call: %s %s" % (next_call["call"], next_call["summary"]))
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
        touch = finding.next_touch
        if touch is not None:
            out.line("    %s %s %s" % (paint.meta("next touch:"), touch.operation, touch.summary))
        else:
            out.line("    %s" % paint.meta("next touch: no call meets a check there"))
        if finding.unreliable:
            out.line("    %s %s" % (paint.meta("unreliable:"), finding.unreliable))
    if limit is not None and len(findings) > limit:
        out.line(paint.meta("... %s not shown (--limit %d; the verdict counts them all)" % (
            output.plural(len(findings) - limit, "more finding", "more findings"), limit)))
    out.flush()
