"""The clone's allocation history (allocator/history.h): the ring of the last N calls to malloc,
free, calloc, realloc and the memalign family that PTMALLOC_HISTORY=N turns on.

    history = current()                                # this stop's History (read_history)
    history = read_history(allocator, memory)          # History, enabled or not (and why)
    history = current(touching=(start, end))           # only the calls that touched [start, end)
    current(sink=function)                             # every event handed over as it is read
    events = events_for_chunk(history, start, end)    # the calls that touched [start, end)

The ring is found through the global `ptmalloc_history` and read through the DWARF types of that
variable (struct ptmalloc_history, struct ptmalloc_history_event, enum ptmalloc_history_op):
every offset, size and operation name comes from there.  The ring is read in windows of
WINDOW_SLOTS slots, each parsed with one struct format built from the event's layout: a ring of
2^24 calls is 900 MB, so a question about one chunk keeps only that chunk's calls."""

import collections
import os
import struct

import gdb

from ..errors import HeapError, HeapReadError
from ..memory import cache
from ..target.allocator import find_allocator
from ..target.layouts import StructLayout

# The global the allocator publishes the ring through (NULL while history is off).
RING_SYMBOL = "ptmalloc_history"
# How to turn it on, for the messages that say it is off.
HOW_TO_TURN_ON = "run the program with PTMALLOC_HISTORY=N (or GLIBC_TUNABLES=glibc.malloc.history=N)" \
    " and the clone preloaded or linked, to record its last N calls"

# One recorded call.  `ptr` is what the program saw (the result; free's argument), `old_ptr`
# realloc's argument, `thread` the calling thread's LWP, `caller` the return address of the call.
HistoryEvent = collections.namedtuple(
    "HistoryEvent", "seq op ptr old_ptr size alignment caller thread")

# The operations that hand out a chunk (realloc is both: it may give one up and take another).
ALLOCATING = frozenset(("malloc", "calloc", "memalign", "posix_memalign", "aligned_alloc", "valloc",
                        "pvalloc"))
# Slots read and parsed at a time (a few MB).
WINDOW_SLOTS = 1 << 16


class History:
    """What the ring holds at this stop.

    `enabled` (bool), `reason` (why not, when not), `capacity` (slots), `recorded` (calls
    numbered so far), `events` (HistoryEvent, oldest first), `in_progress` (numbers whose slot
    is still being written: a call under way in a stopped thread, or one that never returned),
    `address` (where the ring is)."""

    def __init__(self, enabled, reason=None, capacity=0, recorded=0, events=(), in_progress=(),
                 address=None):
        self.enabled = enabled
        self.reason = reason
        self.capacity = capacity
        self.recorded = recorded
        self.events = list(events)
        self.in_progress = list(in_progress)
        self.address = address

    @property
    def held(self):
        """How many calls the ring holds (read or not, whole or in progress)."""
        return min(self.recorded, self.capacity)

    @property
    def overwritten(self):
        """How many of the recorded calls the ring no longer holds (older ones are overwritten)."""
        return max(self.recorded - self.capacity, 0)


def _ring_types(allocator):
    """(ring type, event type, op type) from the DWARF of the allocator's ring variable, or None
    when its objfile has no such variable (glibc, a clone without history, no DWARF)."""
    try:
        symbol = allocator.objfile.lookup_global_symbol(RING_SYMBOL) or \
            allocator.objfile.lookup_static_symbol(RING_SYMBOL)
    except (gdb.error, RuntimeError):
        return None
    if symbol is None:
        return None
    ring_type = symbol.type.strip_typedefs().target().strip_typedefs()
    event_type = ring_type["events"].type.strip_typedefs().target().strip_typedefs()
    op_type = event_type["op"].type.strip_typedefs()
    return ring_type, event_type, op_type


def _op_names(op_type):
    """{value: name} of the operations: the enumerators without their common prefix, in lower
    case (PTMALLOC_HISTORY_POSIX_MEMALIGN -> posix_memalign)."""
    fields = op_type.fields()
    prefix = os.path.commonprefix([field.name for field in fields])
    prefix = prefix[:prefix.rfind("_") + 1]
    return {field.enumval: field.name[len(prefix):].lower() for field in fields}


def _event_format(layout):
    """A struct.Struct reading one event, its fields in offset order (pads between them), with
    the field names in the same order."""
    pieces, names, position = ["<"], [], 0
    for field in sorted(layout.fields.values(), key=lambda f: f.offset):
        if field.code is None or field.count != 1:
            continue
        if field.offset > position:
            pieces.append("%dx" % (field.offset - position))
        pieces.append(field.code)
        names.append(field.name)
        position = field.offset + field.size
    if layout.size > position:
        pieces.append("%dx" % (layout.size - position))
    return struct.Struct("".join(pieces)), names


def read_history(allocator, memory, last=None, touching=None, sink=None):
    """The History of the allocator at this stop (target.allocator.Allocator, memory.cache
    Memory): every event the ring holds, or the `last` newest only (then only their slots are
    read: a ring may hold millions), or, with `touching` (start, end), only the events that
    touched a chunk spanning [start, end) (`touches`; `held` and `in_progress` still count the
    whole ring).  With `sink`, each event is handed to it, oldest first, as it is read, and
    `events` stays empty: a whole ring without a list of it.  Off, with the reason, for glibc and for a clone built or run without it; a
    HeapError when the ring is there but cannot be read."""
    if allocator.flavour == "glibc":
        return History(False, "glibc's malloc records no history; " + HOW_TO_TURN_ON)
    types = _ring_types(allocator)
    address = allocator.global_address(RING_SYMBOL)
    if types is None or address is None:
        return History(False, "%s has no allocation history (no %s with debug info)" % (
            allocator.name, RING_SYMBOL))
    ring_type, event_type, op_type = types
    try:
        ring = memory.u64(address)
    except HeapReadError as error:
        raise HeapError("cannot read %s: %s" % (RING_SYMBOL, error)) from None
    if ring == 0:
        return History(False, "history is off in this run; " + HOW_TO_TURN_ON)
    ring_layout = StructLayout.from_gdb_type(ring_type)
    event_layout = StructLayout.from_gdb_type(event_type)
    try:
        header = memory.read_struct(ring_layout, ring)
        capacity, recorded = header["capacity"], header["recorded"]
        if not 0 < capacity <= (1 << 32):
            raise HeapError("the history ring at %#x says it has %d slots: damaged" % (
                ring, capacity))
        first = max(recorded - capacity, 0) + 1
        if last is not None:
            first = max(first, recorded - last + 1)
        reader, names = _event_format(event_layout)
        op_names = _op_names(op_type)
        seq_at, ptr_at, old_at = names.index("seq"), names.index("ptr"), names.index("old_ptr")
        present = bytearray(max(recorded - first + 1, 0))
        events = []
        for data in _slot_windows(memory, ring + ring_layout.offset("events"), event_layout.size,
                                  capacity, first, recorded):
            for values in reader.iter_unpack(data):
                seq = values[seq_at]
                if not first <= seq <= recorded:
                    continue  # a slot still being written
                present[seq - first] = 1
                if touching is not None and not (touching[0] <= values[ptr_at] < touching[1] or
                                                 touching[0] <= values[old_at] < touching[1]):
                    continue
                slot = dict(zip(names, values))
                event = HistoryEvent(seq, op_names.get(slot["op"], "op %d" % slot["op"]),
                                     slot["ptr"], slot["old_ptr"], slot["size"],
                                     slot["alignment"], slot["caller"], slot["thread"])
                if touching is None or touches(event, *touching):
                    (sink or events.append)(event)
    except HeapReadError as error:
        raise HeapError("cannot read the history ring at %#x: %s" % (ring, error)) from None
    events.sort(key=lambda event: event.seq)
    in_progress, missing = [], present.find(0)
    while missing >= 0:
        in_progress.append(first + missing)
        missing = present.find(0, missing + 1)
    return History(True, None, capacity, recorded, events, in_progress, ring)


def current(last=None, touching=None, sink=None):
    """The History of the selected inferior at this stop (see read_history)."""
    return read_history(find_allocator(), cache.current(), last, touching, sink)


def _slot_windows(memory, events_address, slot_size, capacity, first, last):
    """The bytes of the slots of numbers first..last (at most a whole ring), in order, at most
    WINDOW_SLOTS slots at a time (the numbers may wrap around the ring's end)."""
    number = first
    while number <= last:
        start = (number - 1) % capacity
        count = min(last - number + 1, capacity - start, WINDOW_SLOTS)
        yield memory.read(events_address + start * slot_size, count * slot_size)
        number += count


def touches(event, start, end):
    """Whether `event` handed out, resized or gave up a chunk whose user pointer lies in
    [start, end)."""
    return start <= event.ptr < end or (event.op == "realloc" and start <= event.old_ptr < end)


def events_for_chunk(history, start, end):
    """The events of `history` (oldest first) that touched the chunk spanning [start, end)."""
    return [event for event in history.events if touches(event, start, end)]


def role(event, start, end):
    """What `event` did to the chunk spanning [start, end): "allocated", "freed", "resized"
    (a realloc that kept it, or failed and left it as it was) or "moved" (a realloc that gave it
    up for another chunk)."""
    if event.op == "free":
        return "freed"
    if event.op != "realloc":
        return "allocated"
    old_here = start <= event.old_ptr < end
    new_here = start <= event.ptr < end
    if old_here and (new_here or (event.ptr == 0 and event.size != 0)):
        return "resized"
    if old_here:
        return "freed" if event.ptr == 0 else "moved"
    return "allocated"


def last_allocation_and_free(history, start, end):
    """(event, event): the chunk's most recent allocation (a realloc that moved a block into it
    counts) and most recent free (a realloc that moved its block away counts); None where the
    ring has none."""
    allocated = freed = None
    for event in events_for_chunk(history, start, end):
        what = role(event, start, end)
        if what == "allocated":
            allocated = event
        elif what in ("freed", "moved"):
            freed = event
    return allocated, freed
