"""`heap try-free ADDR`: what free(ADDR) would do now, without calling it."""

from ..errors import HeapVerdict
from ..model import snapshot
from ..model.chunk_words import size_field_at
from ..predict.free_model import FreeModel
from ..render import output
from . import HeapCommand, command, parse_address

_DESTINATIONS = {"tcache": "the tcache", "fast": "a fastbin", "normal": "the unsorted bin",
                 "mmapped": "munmap"}


@command
class HeapTryFree(HeapCommand):
    """Predict what free(ADDR) would do, as the selected thread, from the heap as it is now:
the abort message it would raise (double free, invalid pointer, invalid next size...) or
where the chunk would go (tcache, fastbin, unsorted bin after merging, munmap).  Nothing in
the inferior is changed and no function is called in it.

The checks are those of the allocator's glibc release, in its order: the mmapped path, pointer alignment and
wrap-around, the minimum size, the tcache (double-free key and the bin's chain), the fastbin
next-size and fasttop checks, then the top, next-size, PREV_INUSE and unlink checks of a
normal free.  The command fails (non-zero in `gdb -batch`) when free would abort.

Usage: heap try-free ADDR [--json]   (ADDR is the pointer the program would pass to free)"""

    name = "heap try-free"
    aliases = (("try_free", ()),)

    def add_arguments(self, parser):
        parser.add_argument("address")

    def run(self, args):
        snap = snapshot.current()
        pointer = parse_address(args.address)
        thread = snap.selected_thread()
        outcome = FreeModel(snap, thread).free(pointer)
        geometry = snap.geometry
        chunk = geometry.chunk_of(pointer)
        size_field = size_field_at(snap, chunk) if pointer else None
        crashes = outcome.crashes
        if args.json:
            output.write_json({
                "pointer": pointer, "chunk": chunk if pointer else None,
                "size": geometry.chunk_size(size_field) if size_field is not None else None,
                "flags": geometry.flag_words(size_field) if size_field is not None else None,
                "path": outcome.path, "abort": outcome.abort, "why": outcome.why,
                "crash": crashes, "ok": outcome.abort is None and not crashes,
                "thread": thread.num if thread else None})
        else:
            self._text(geometry, pointer, chunk, size_field, outcome, crashes, thread)
        if outcome.abort is not None:
            raise HeapVerdict("free(%#x) would abort: %s" % (pointer, outcome.abort), args.json)
        if crashes:
            raise HeapVerdict("free(%#x) would crash: %s" % (pointer, outcome.why), args.json)

    @staticmethod
    def _text(geometry, pointer, chunk, size_field, outcome, crashes, thread):
        paint = output.Painter()
        out = output.Writer()
        who = "thread %d" % thread.num if thread else "this thread"
        out.line("%s free(%s) by %s" % (paint.title("try-free:"), paint.address(pointer), who))
        if pointer and size_field is not None:
            out.line("  chunk %s  size %#x  flags %s" % (
                paint.address(chunk), geometry.chunk_size(size_field),
                " ".join(geometry.flag_words(size_field)) or "none"))
        if outcome.path:
            out.line("  path: %s" % outcome.path)
        if outcome.abort is not None:
            out.line("  %s %s" % (paint.paint("aborts:", "highlight"), outcome.abort))
            out.line("  because %s" % outcome.why)
        elif crashes:
            out.line("  %s %s" % (paint.paint("crashes:", "highlight"), outcome.why))
        else:
            out.line("  passes every check: %s" % outcome.why)
            if outcome.path in _DESTINATIONS:
                out.line("  the chunk would go to %s" % _DESTINATIONS[outcome.path])
        out.flush()
