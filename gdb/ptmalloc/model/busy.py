"""Which arenas and threads are in the middle of an allocator call at this stop.

A program stopped while a thread is inside malloc or free shows that thread's arena (and its
tcache) half-updated: a chunk unlinked but not yet relinked, a count bumped before its entry is
stored.  That is no damage, so the heap check must not call it corruption.  Two signs say an
arena may be mid-update: its lock is held, or a thread's program counter is in the allocator's
code (a thread in the tcache fast path holds no lock).  Findings on such an arena or thread are
marked unreliable (check/audit.py) rather than dropped: real damage there is still shown."""

import gdb

from ..target import thread_locals

# A thread stands in the allocator's code when its frame's source file is one of these (the
# clone's sources, glibc's malloc directory), or, without line information, when its pc lies in
# the clone's own library (all of which is the allocator).
_ALLOCATOR_SOURCES = ("allocator/", "malloc/malloc.c", "malloc/arena.c", "malloc/hooks.c",
                      "malloc/morecore.c", "malloc/malloc-check.c")


class Busy:
    """`arenas` ({arena address: why}) and `threads` ({gdb thread number: why})."""

    def __init__(self, arenas, threads):
        self.arenas = arenas
        self.threads = threads

    def __bool__(self):
        return bool(self.arenas or self.threads)

    def to_json(self):
        return ([{"arena": address, "why": why} for address, why in sorted(self.arenas.items())] +
                [{"thread": number, "why": why} for number, why in sorted(self.threads.items())])


def find(snap):
    """The Busy of this stop: held arena locks, and threads whose pc is in the allocator."""
    arenas = {}
    for arena in snap.arenas:
        mutex = arena.fields.get("mutex")
        if mutex:
            arenas[arena.address] = "its lock is held (mutex %d)" % mutex
    threads = {}
    library = snap.allocator.name if snap.allocator.flavour == "clone" else None
    where = _threads_in_allocator(library)
    for thread in snap.threads:
        function = where.get(thread.num)
        if function is None:
            continue
        threads[thread.num] = "%s is stopped in %s" % (thread.label(), function)
        if thread.arena and thread.arena not in arenas:
            arenas[thread.arena] = threads[thread.num]
    return Busy(arenas, threads)


# Filled by _probe_thread, run in each thread in turn: {number: function}.
_probed = {}
_library = None


def _threads_in_allocator(library):
    """{gdb thread number: function name} of the threads stopped in the allocator's code."""
    global _library
    _probed.clear()
    _library = library
    try:
        thread_locals.in_each_thread(_probe_thread)
    except gdb.error:
        pass
    found = dict(_probed)
    _probed.clear()
    return found


def _probe_thread():
    try:
        frame = gdb.newest_frame()
        pc = frame.pc()
    except gdb.error:
        return
    symtab = gdb.find_pc_line(pc).symtab
    inside = False
    if symtab is not None and symtab.filename:
        inside = any(part in symtab.filename for part in _ALLOCATOR_SOURCES)
    elif _library is not None:
        inside = gdb.solib_name(pc) == _library
    if inside:
        _probed[gdb.selected_thread().num] = frame.name() or "%#x" % pc
