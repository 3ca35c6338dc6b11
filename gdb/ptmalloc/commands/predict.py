"""`heap try-free`, `heap try-malloc`, `heap try-realloc`: what the call would do now, answered
by the prediction engine (predict/engine), which runs the allocator's own code on a copy of the
inferior's memory.  Nothing in the inferior is changed and no code runs in it."""

from ..errors import HeapError, HeapVerdict
from ..model import snapshot
from ..model.chunk_words import size_field_at
from ..predict import engine, places
from ..render import output
from . import HeapCommand, command, parse_address

# Where a chunk goes, in words (the engine's "to").
_DESTINATIONS = {"tcache": "the tcache", "fastbin": "a fastbin", "unsorted": "the unsorted bin",
                 "smallbin": "its small bin (glibc 2.41)", "top": "the top chunk (merged)",
                 "munmap": "munmap (an mmapped chunk)"}
# The engine's "to" in the words try-free's JSON used before the engine ("path").
_PATHS = {"tcache": "tcache", "fastbin": "fast", "unsorted": "normal", "smallbin": "normal",
          "top": "normal", "munmap": "mmapped"}
_CHANGES_SHOWN = 12

_COMMON_HELP = """
The answer comes from the allocator itself: the clone's C code, built as the inferior's glibc
release, runs the call in a helper process on a copy of the pages it touches, fetched from the
process or the core.  It reports what the call returns and where the chunk comes from or goes
to, the abort message glibc's checks end it with, a segfault and its address, the words of
memory the call would write, and when it cannot know (a page missing from a core).  The command
fails (non-zero in `gdb -batch`) when the call would abort or crash.

--thread N   the call as made by gdb thread N (its tcache and arena); default: the selected one
--json       the answer as JSON (docs/json.md)"""


class _Prediction(HeapCommand):
    """Shared by the three: run the engine, print, fail on an abort or a crash."""

    def add_thread_arguments(self, parser):
        parser.add_argument("--thread", type=int, default=None)

    @staticmethod
    def thread_of(snap, number):
        if number is None:
            return snap.selected_thread()
        for thread in snap.threads:
            if thread.num == number:
                return thread
        raise HeapError("there is no thread %d (see `info threads`)" % number)

    def finish(self, snap, call_text, answer, args, document, anchors=()):
        if args.json:
            output.write_json(document)
        else:
            _print(snap, call_text, answer, anchors)
        if answer["abort"] is not None:
            raise HeapVerdict("%s would abort: %s" % (call_text, answer["abort"]), args.json)
        if answer["outcome"] == "crashed":
            raise HeapVerdict("%s would crash: %s" % (call_text, engine.crash_text(answer)), args.json)


@command
class HeapTryFree(_Prediction):
    __doc__ = """Predict what free(ADDR) would do now, answered by the allocator's own code.

As the selected thread (or --thread N): the abort message it would end with (double free, invalid pointer, invalid next size...), or where the chunk
would go (tcache, fastbin, unsorted bin after merging (a small chunk: its small bin from glibc 2.41),
the top chunk, munmap).
""" + _COMMON_HELP + """

Usage: heap try-free ADDR [--thread N] [--json]   (ADDR: the pointer the program would pass)"""

    name = "heap try-free"
    aliases = (("try_free", ()),)

    def add_arguments(self, parser):
        parser.add_argument("address")
        self.add_thread_arguments(parser)

    def run(self, args):
        snap = snapshot.current()
        pointer = parse_address(args.address)
        thread = self.thread_of(snap, args.thread)
        answer = engine.predict(snap, thread, "free", pointer)
        geometry = snap.geometry
        chunk = geometry.chunk_of(pointer) if pointer else None
        try:
            size_field = size_field_at(snap, chunk) if chunk is not None else None
        except HeapError:
            size_field = None
        crashed = answer["outcome"] == "crashed"
        document = dict(answer, pointer=pointer, chunk=chunk,
                        size=geometry.chunk_size(size_field) if size_field is not None else None,
                        flags=geometry.flag_words(size_field) if size_field is not None else None,
                        path=_PATHS.get(answer["to"]), why=_why(answer), crash=crashed,
                        ok=answer["outcome"] == "returned")
        self.finish(snap, "free(%#x)" % pointer, answer, args, document, anchors=(chunk,))


@command
class HeapTryMalloc(_Prediction):
    __doc__ = """Predict what malloc(SIZE) would do now, answered by the allocator's own code.

As the selected thread (or --thread N): the pointer it would return and where the chunk comes from (tcache, fastbin, smallbin, unsorted bin, large
bin, the top chunk, sysmalloc growing the heap, or a new mapping), or the abort it would end
with when a bin it reads is corrupted.
""" + _COMMON_HELP + """

Usage: heap try-malloc SIZE [--thread N] [--json]"""

    name = "heap try-malloc"
    aliases = (("try_malloc", ()),)

    def add_arguments(self, parser):
        parser.add_argument("size")
        self.add_thread_arguments(parser)

    def run(self, args):
        snap = snapshot.current()
        request = parse_address(args.size)
        answer = engine.predict(snap, self.thread_of(snap, args.thread), "malloc", request)
        self.finish(snap, "malloc(%#x)" % request, answer, args, dict(answer, request=request))


@command
class HeapTryRealloc(_Prediction):
    __doc__ = """Predict what realloc(ADDR, SIZE) would do now, answered by the allocator's own code.

As the selected thread (or --thread N): the pointer it would return (the same one when the chunk grows or shrinks in place), where a new
chunk comes from and where the old one goes, or the abort it would end with.
""" + _COMMON_HELP + """

Usage: heap try-realloc ADDR SIZE [--thread N] [--json]"""

    name = "heap try-realloc"
    aliases = (("try_realloc", ()),)

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("size")
        self.add_thread_arguments(parser)

    def run(self, args):
        snap = snapshot.current()
        pointer, request = parse_address(args.address), parse_address(args.size)
        answer = engine.predict(snap, self.thread_of(snap, args.thread), "realloc", pointer, request)
        chunk = snap.geometry.chunk_of(pointer) if pointer else None
        self.finish(snap, "realloc(%#x, %#x)" % (pointer, request), answer, args,
                    dict(answer, pointer=pointer, request=request), anchors=(chunk,))


def _why(answer):
    """One sentence on the outcome, for try-free's `why`."""
    outcome = answer["outcome"]
    if outcome == "aborted":
        return "glibc's check ends the call: %s" % answer["abort"]
    if outcome == "crashed":
        return "the call would touch memory the process does not have: %s" % engine.crash_text(answer)
    if outcome == "hook":
        return "%s is set: the call goes to %#x instead" % (answer["hook"]["name"],
                                                            answer["hook"]["address"])
    if outcome == "returned":
        return "every check passes; the chunk goes to %s" % _DESTINATIONS.get(answer["to"],
                                                                            answer["to"] or "?")
    return "cannot tell: %s" % (answer["unknown"] or "the engine gave no reason")


def _print(snap, call_text, answer, anchors):
    paint = output.Painter()
    out = output.Writer()
    who = "thread %d" % answer["thread"] if answer["thread"] is not None else "this thread"
    out.line("%s %s by %s" % (paint.title("prediction:"), call_text, who))
    if answer["approximate"]:
        out.line("  (glibc %s has no engine of its own: answered by the clone built as glibc %s)"
                 % (snap.allocator.release, answer["engine"]))
    for lock in answer["lock_waits"]:
        out.line("  first waits for the lock at %s (%s), held by another thread" % (
            paint.address(lock["address"]), places.describe(snap, lock["address"]) or "?"))
    outcome = answer["outcome"]
    if outcome == "aborted":
        out.line("  %s %s" % (paint.paint("aborts:", "highlight"), answer["abort"]))
    elif outcome == "crashed":
        for piece in answer["unmappings"]:
            out.line("  unmaps %s-%s first" % (paint.address(piece["address"]),
                                               paint.address(piece["address"] + piece["length"])))
        out.line("  %s %s" % (paint.paint("crashes:", "highlight"), engine.crash_text(answer)))
    elif outcome == "hook":
        out.line("  %s %s" % (paint.paint("calls a hook:", "highlight"), _why(answer)))
    elif outcome == "returned":
        if answer["op"] != "free":
            if answer["new_mapping"]:
                out.line("  returns a new mapping (the kernel picks its address)")
            elif answer["returns"] == 0:
                out.line("  returns NULL")
            else:
                out.line("  returns %s" % paint.address(answer["returns"]))
            if answer["from"]:
                out.line("  from: %s" % answer["from"])
        if answer["to"]:
            out.line("  the chunk goes to %s" % _DESTINATIONS.get(answer["to"], answer["to"]))
        _print_changes(snap, out, paint, answer, anchors + (answer["returns"] and
                                                            snap.geometry.chunk_of(answer["returns"]),))
    else:
        out.line("  cannot tell: %s" % (answer["unknown"] or "no reason given"))
    if answer["rseq_unmapped"] is not None:
        out.line("  %s the call unmaps this thread's rseq area at %s: the kernel kills the thread "
                 "(SIGSEGV, no fault address) at its next preemption or signal, which may come "
                 "first" % (paint.paint("and:", "highlight"), paint.address(answer["rseq_unmapped"])))
    out.flush()


def _print_changes(snap, out, paint, answer, anchors):
    changes = answer["changes"]
    if not changes:
        return
    out.line("  writes %d word%s:" % (len(changes), "" if len(changes) == 1 else "s"))
    for change in changes[:_CHANGES_SHOWN]:
        name = places.describe(snap, change["address"], anchors)
        out.line("    %s %-34s %#x -> %#x" % (paint.address(change["address"]), name,
                                              change["old"], change["new"]))
    if len(changes) > _CHANGES_SHOWN:
        out.line("    ... and %d more (--json lists them all)" % (len(changes) - _CHANGES_SHOWN))
