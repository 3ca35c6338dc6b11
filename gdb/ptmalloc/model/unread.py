"""What a command could not read, so that it says so instead of answering as if it had.

A core may lack part of a heap, the anonymous memory where mmapped chunks live, a thread's
stack or its registers.  None of that is damage, and none of it may be read as "nothing there":
a heap walk that meets missing bytes lists what it could and says the rest is unknown, `heap
check` says which ranges it could not check, and `--leaks` refuses to call a chunk lost when the
memory that might point at it could not be scanned.  Each answer here is a list of
(start or None, end or None, why), empty when everything was read."""

import gdb

from ..errors import NOT_IN_CORE


def _overlaps(start, end, ranges):
    return any(low < end and start < high for low, high in ranges)


def _heap_ranges(snap):
    return [(segment.address or segment.start, segment.end)
            for arena in snap.arenas for segment in arena.heaps]


def unlisted_anonymous(snap):
    """Anonymous writable memory outside every heap that the core lacks: mmapped chunks may be
    there, so a listing of every chunk cannot say it is complete."""
    heaps = _heap_ranges(snap)
    return [(start, end, why) for start, end, why in snap.memory.unheld_anonymous()
            if not _overlaps(start, end, heaps)]


def threads_unread(snap):
    """Threads whose allocator state (tcache, arena) could not be read, and a core whose
    thread notes are gone: their tcaches hold chunks no rule could look at."""
    unread = [(thread.tcache or None, None, "%s: %s" % (thread.label(), thread.error))
              for thread in snap.threads if thread.error]
    regions = snap.memory.core_regions()
    if regions is not None and not snap.threads:
        unread.append((None, None, _no_threads(regions)))
    return unread


def _no_threads(regions):
    if regions.thread_count is None:
        why = "the core holds no thread notes (NT_PRSTATUS)%s" % (
            ": the file is cut short" if regions.is_cut() or regions.notes_cut else "")
    else:
        why = "gdb found no thread in the core"
    return "no thread's tcache or registers could be read: %s" % why


def leak_roots_unread(snap):
    """Why a leak search cannot be trusted: memory that may point at a chunk (writable
    memory, stacks, registers) that could not be read.  [] when every root was read."""
    unread = []
    regions = snap.memory.core_regions()
    if regions is not None:
        heaps = _heap_ranges(snap)
        for segment in regions.segments:
            if segment.writable and segment.held_end < segment.end and \
                    not _overlaps(segment.held_end, segment.end, heaps):
                unread.append((segment.held_end, segment.end, regions.why_not_held(segment)))
    if not _has_registers():
        unread.append((None, None, "no thread's registers could be read"))
    return unread


def _has_registers():
    try:
        threads = gdb.selected_inferior().threads()
    except gdb.error:
        return False
    return bool(threads)


def is_missing_memory(text):
    """Whether a message a read failure produced speaks of memory the core lacks."""
    return NOT_IN_CORE in text


def to_json(entries):
    return [{"start": start, "end": end, "why": why} for start, end, why in entries]


def describe(start, end, why):
    if start is None:
        return why
    if end is None:
        return "%#x: %s" % (start, why)
    return "%#x-%#x: %s" % (start, end, why)
