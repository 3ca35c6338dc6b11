"""Where each thread keeps its own memory: the live part of its stack, its static TLS block and
its registers.

`heap refs` scans a thread's stack from its stack pointer up (the words below it are dead, left
over from returned calls), less the 128 bytes of the x86-64 red zone that a leaf function may use
below the pointer.  A thread's static TLS blocks lie just below its thread pointer (x86-64 keeps
the thread control block at the thread pointer, the blocks of every module loaded at start
below it); the lowest of them is found in the thread's dynamic thread vector, which holds the
start of each module's block for the thread.  On x86-64 glibc (2.26 on) the control block's
second word points at the vector, whose entries are two words (block, block to free) and whose
word before entry 0 counts the entries: the one place these ABI facts are used.

A thread's registers are those of its newest frame, every word-sized one of gdb's "general"
group (the architecture names them, not this file): a pointer a thread holds only in a register
(a local the compiler kept there) is a reference too."""

import collections

import gdb

from .. import constants as C
from ..errors import HeapReadError
from ..target import thread_locals

RED_ZONE = 128
_DTV_SLOT = 8          # tcbhead_t.dtv, after tcbhead_t.tcb
_DTV_ENTRY = 16        # dtv_t: {void *val; void *to_free;}
_DTV_MAX_ENTRIES = 1 << 16
# A static TLS block lies within this distance below the thread pointer; an entry beyond it is
# a block of a module loaded later (in the heap) or unallocated.
_STATIC_TLS_SPAN = 1 << 24

# `num` gdb's thread number, `lwp`, `sp` its stack pointer, `tp` its thread pointer (None when
# unknown), `tls_low` the start of its static TLS blocks (None when unknown; they end at `tp`),
# `registers` [(name, value)] of its newest frame.
ThreadPlace = collections.namedtuple("ThreadPlace", "num lwp sp tp tls_low registers")
_WORD_TYPES = (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_PTR)


def of_threads(mem):
    """[ThreadPlace] of every thread, by number, and [one-line problem] for threads whose
    registers could not be read."""
    found, problems, unreadable = {}, [], set()

    def probe():
        thread = gdb.selected_thread()
        try:
            sp = int(gdb.parse_and_eval("$sp")) & C.MASK64
        except (gdb.error, RuntimeError) as error:
            problems.append("the stack of thread %d is not scanned: %s" % (thread.num, error))
            unreadable.add(thread.num)
            return
        try:
            tp = int(gdb.parse_and_eval("$fs_base")) & C.MASK64 or None
        except (gdb.error, RuntimeError):
            tp = None
        found[thread.num] = ThreadPlace(thread.num, thread.ptid[1], sp, tp,
                                        _tls_low(mem, tp) if tp else None, _registers())

    thread_locals.in_each_thread(probe)
    for thread in gdb.selected_inferior().threads():
        if thread.num not in found and thread.num not in unreadable:
            problems.append("the stack of thread %d is not scanned: gdb could not select it"
                            % thread.num)
    return [found[number] for number in sorted(found)], problems


def _registers():
    """[(name, value)] of the selected thread's word-sized general registers that can be read."""
    try:
        frame = gdb.newest_frame()
        descriptors = list(frame.architecture().registers("general"))
    except (gdb.error, RuntimeError, AttributeError):
        return []
    words = []
    for descriptor in descriptors:
        try:
            value = frame.read_register(descriptor.name)
            if value.type.sizeof == 8 and value.type.strip_typedefs().code in _WORD_TYPES:
                words.append((descriptor.name, int(value) & C.MASK64))
        except (gdb.error, RuntimeError, ValueError):
            continue  # a register this target does not have (a core without AVX-512 state)
    return words


def _tls_low(mem, tp):
    """The lowest static TLS block of the thread whose thread pointer is `tp` (None when its
    vector cannot be read or names none)."""
    try:
        vector = mem.u64(tp + _DTV_SLOT)
        count = mem.u64(vector - _DTV_ENTRY)
        if not 0 < count <= _DTV_MAX_ENTRIES:
            return None
        entries = mem.read(vector + _DTV_ENTRY, count * _DTV_ENTRY)
    except HeapReadError:
        return None
    blocks = [int.from_bytes(entries[at:at + 8], "little")
              for at in range(0, len(entries), _DTV_ENTRY)]
    static = [block for block in blocks if tp - _STATIC_TLS_SPAN <= block < tp]
    return min(static) if static else None
