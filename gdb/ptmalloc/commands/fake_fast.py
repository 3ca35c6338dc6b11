"""`heap find-fake-fast ADDR [SIZE]` (pwndbg's find_fake_fast): the fake fast chunks a fastbin
attack could hand out over ADDR, each proven by the prediction engine: with the fastbin's head
pointed at the candidate (and the thread's tcache bin of that size empty) in the engine's copy
of the heap, malloc really returns it."""

from ..errors import HeapError
from ..model import snapshot
from ..predict import engine
from ..render import output
from . import HeapCommand, command, parse_address


@command
class HeapFindFakeFast(HeapCommand):
    """Find fake fast chunks overlapping ADDR, each proven by the allocator's own malloc.

Words before ADDR that a malloc would accept as the size of a fast chunk whose memory covers ADDR (a fastbin attack's target, e.g. near
__malloc_hook before glibc 2.34).

Each candidate with a size in a fastbin's class is tried by the prediction engine (the
allocator's own code, on a copy of the heap): the selected thread's arena gets the candidate
at the head of that fastbin and its tcache bin of that size empty, and malloc of that size runs.
A candidate is listed when malloc returns it as memory stands ("usable"), or once the fake
chunk's fd says the list ends there ("usable once fd is NULL": malloc moves the rest of the
fastbin into the tcache, and an fd that decodes to garbage aborts it).  --all also lists the
candidates malloc refuses, with the abort (e.g. "malloc(): memory corruption (fast)").  Nothing
in the inferior changes.

SIZE limits the chunk sizes tried (default: global_max_fast).

Usage: heap find-fake-fast ADDR [SIZE] [--all] [--json]   (--all also lists those malloc refuses)"""

    name = "heap find-fake-fast"
    aliases = (("find_fake_fast", ()),)

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("size", nargs="?")
        parser.add_argument("--all", action="store_true")

    def run(self, args):
        snap = snapshot.current()
        target = parse_address(args.address)
        geometry = snap.geometry
        largest = parse_address(args.size) if args.size else snap.scalar_globals().get(
            "global_max_fast")
        if not largest:
            raise HeapError("global_max_fast is 0 or unreadable: no chunk is fast")
        thread = snap.selected_thread()
        arena = snap.selected_arena()
        candidates = []
        for chunk, field in _size_words_before(snap, target, largest):
            size = geometry.chunk_size(field)
            index = geometry.fastbin_index(size)
            if size < geometry.min_chunk_size or size > largest or \
                    index >= geometry.fastbin_count:
                continue
            if not chunk + geometry.header_size <= target < chunk + size:
                continue
            request = size - 2 * geometry.size_sz
            assume = _fastbin_pointing_at(snap, thread, arena, index, chunk, size)
            answer = engine.predict(snap, thread, "malloc", request, assume=assume)
            usable = answer["returns"] == geometry.user_pointer(chunk)
            needs_null_fd = False
            if not usable:
                # The same with the fake chunk's fd stored as NULL (safe-linked where it is).
                fd_slot = chunk + geometry.fd_offset
                ended = engine.predict(snap, thread, "malloc", request, assume=assume + [
                    (fd_slot, geometry.reveal(fd_slot, 0))])
                needs_null_fd = ended["returns"] == geometry.user_pointer(chunk)
            if usable or needs_null_fd or args.all:
                candidates.append({"chunk": chunk, "size_field": field, "size": size,
                                   "request": request, "usable": usable,
                                   "usable_if_fd_null": usable or needs_null_fd,
                                   "returns": answer["returns"], "abort": answer["abort"],
                                   "outcome": answer["outcome"]})
        if args.json:
            output.write_json({"address": target, "largest": largest, "arena": arena.address,
                               "thread": thread.num if thread else None,
                               "candidates": candidates})
            return
        _print(target, largest, candidates)


def _size_words_before(snap, target, largest):
    """(chunk, size field) for each 8-byte-aligned header close enough before `target` that a
    chunk of at most `largest` bytes starting there covers it."""
    geometry = snap.geometry
    step = geometry.size_sz
    low = max(target - largest, 0) & ~(step - 1)
    high = target - geometry.header_size
    for chunk in range(low, high + 1, step):
        try:
            yield chunk, snap.memory.u64(chunk + geometry.size_offset)
        except HeapError:
            continue


def _fastbin_pointing_at(snap, thread, arena, index, chunk, size):
    """The engine's assumptions: fastbinsY[index] of `arena` is `chunk`, and the thread's tcache
    bin of `size` is empty (its count lane zeroed within the word that holds it)."""
    state = snap.layouts["state"]
    fastbins = state.fields["fastbinsY"]
    assume = [(arena.address + fastbins.offset + index * fastbins.size, chunk)]
    geometry = snap.geometry
    tcache_index = geometry.tcache_index(size)
    if thread is not None and thread.tcache and tcache_index < geometry.tcache_bin_count:
        counts = snap.layouts["tcache"].fields["counts"]
        lane = thread.tcache + counts.offset + tcache_index * counts.size
        word_address = lane & ~7
        word = snap.memory.u64(word_address)
        shift = 8 * (lane - word_address)
        word &= ~(((1 << (8 * counts.size)) - 1) << shift)
        assume.append((word_address, word))
    return assume


def _print(target, largest, candidates):
    paint = output.Painter()
    out = output.Writer()
    out.line("%s fake fast chunks covering %s (sizes up to %#x)" % (
        paint.title("find-fake-fast:"), paint.address(target), largest))
    if not candidates:
        out.line("  none: no word before it makes a fast chunk malloc would hand out")
    for candidate in candidates:
        if candidate["usable"]:
            verdict = "malloc(%#x) returns %#x" % (candidate["request"], candidate["returns"])
        elif candidate["usable_if_fd_null"]:
            verdict = "usable once its fd is NULL (now malloc aborts: %s)" % (
                candidate["abort"] or candidate["outcome"])
        else:
            verdict = "malloc refuses: %s" % (candidate["abort"] or candidate["outcome"])
        out.line("  %s  size field %#x (chunk size %#x)  %s" % (
            paint.address(candidate["chunk"]), candidate["size_field"], candidate["size"],
            verdict))
    out.flush()
