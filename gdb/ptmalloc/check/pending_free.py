"""`heap check --free EXPR`: the verdict on one free() before the program makes it.

Some damage is invisible to a whole-heap audit until a particular pointer is freed: a double free
of a chunk that sits soundly in its bin, a House of Spirit fake chunk outside every heap, an
mmapped chunk with a forged header, a chunk whose size was enlarged over a neighbour that the
heap walk simply steps over.  The verdict names what the pointer really is, with what the free
does as the prediction engine runs it (predict/touches): the abort, a crash, or nothing when
glibc lets it through."""

import gdb

from .. import constants as C
from ..errors import HeapReadError
from ..model.states import BINNED
from ..predict.touches import NextTouch
from .findings import Finding, Rule
# An enlarged chunk hides at most a few neighbours; scanning a huge block word by word is not
# worth it for a verdict on one call.
MAX_HIDDEN_SCAN = 1 << 16
SCAN_BLOCK = 1 << 20
_REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12",
              "r13", "r14", "r15")


class PendingFree:
    """One judgement of free(user_pointer) by the thread `thread` (a ThreadInfo)."""

    def __init__(self, snap, thread):
        self.snap = snap
        self.mem = snap.memory
        self.thread = thread
        self.touches = NextTouch(snap, thread)
        self.geometry = snap.geometry

    def word(self, address):
        try:
            return self.mem.u64(address & self.geometry.address_mask)
        except HeapReadError:
            return None

    def judge(self, user_pointer):
        snap = self.snap
        chunk = self.geometry.chunk_of(user_pointer)
        outcome = self.touches.resolve(self.touches.free(chunk))
        position = snap.position_of(chunk)
        if position is not None:
            return Finding(Rule.DOUBLE_FREE, chunk,
                           "free(%#x) would free chunk %#x a second time: it is already in %s"
                           % (user_pointer, chunk, position.describe()), outcome)
        if user_pointer == 0:
            return None
        if self._carries_tcache_key(user_pointer):
            return Finding(Rule.DOUBLE_FREE, chunk,
                           "free(%#x) would free chunk %#x a second time: it still carries "
                           "the tcache key, so it was freed into a tcache and not handed out "
                           "since (no bin reaches it: its bin's links were changed); %s"
                           % (user_pointer, chunk, outcome.summary), outcome)
        for arena in snap.arenas:
            if chunk == arena.top:
                return Finding(Rule.DOUBLE_FREE, chunk,
                               "free(%#x) would free the top chunk of %s: the chunk was "
                               "freed before and merged into top" % (user_pointer,
                                                                     arena.label()),
                               outcome)
        holder = snap.chunk_at(user_pointer)
        if holder is not None and holder.address == chunk and holder.state in BINNED:
            return Finding(Rule.DOUBLE_FREE, chunk,
                           "free(%#x) would free chunk %#x a second time: it is in the %s "
                           "(%s)" % (user_pointer, chunk, holder.state, outcome.summary),
                           outcome)
        if holder is not None and holder.address == chunk and outcome.abort is None:
            return self._hidden_neighbour(user_pointer, holder, outcome)
        if holder is None and self._is_mmapped_header(chunk):
            if outcome.abort is None:
                return None
            where = "claims an mmapped chunk (IS_MMAPPED) whose header is damaged"
        elif holder is not None and holder.address != chunk:
            where = "points %d bytes into chunk %#x (user data at %#x)" % (
                user_pointer - holder.user_address, holder.address, holder.user_address)
        elif holder is None:
            where = "is not inside any heap chunk (a fake chunk, or memory of another kind)"
        else:
            where = "starts chunk %#x whose header is damaged" % chunk
        return Finding(Rule.INVALID_FREE, chunk,
                       "free(%#x) would be invalid: the pointer %s; %s%s" % (
                           user_pointer, where, outcome.summary,
                           "" if outcome.abort else " (glibc lets it through)"),
                       outcome)

    def _carries_tcache_key(self, user_pointer):
        if not self.geometry.is_aligned(user_pointer):
            return False
        key = self.snap.tcache_key(self.thread)
        found = self.word(user_pointer + self.geometry.tcache_key_offset)
        return key is not None and key != 0 and found == key

    def _is_mmapped_header(self, chunk):
        """Whether the header claims an mmapped chunk: free() takes munmap's path for it."""
        field = self.word(chunk + self.geometry.size_offset)
        return field is not None and self.geometry.is_mmapped(field)

    # -- a size enlarged over the next chunk ----------------------------------------------------

    def _hidden_neighbour(self, user_pointer, holder, outcome):
        """A well-formed header inside the chunk being freed, ending exactly where the chunk
        ends and still referenced by the program, is a neighbour the chunk's size was grown
        over: freeing it hands the neighbour's memory to the next malloc."""
        start, end = holder.address, holder.address + holder.size
        if holder.size > MAX_HIDDEN_SCAN:
            return None
        geometry = self.geometry
        minimum = geometry.min_chunk_size
        for inner in range(start + minimum, end - minimum + 1, geometry.alignment):
            if self._headers_reach(inner, end) and \
                    self._referenced(geometry.user_pointer(inner), start, end):
                inner_size = self.word(inner + geometry.size_offset) & geometry.size_mask
                return Finding(
                    Rule.OVERLAP, holder.address,
                    "free(%#x) would free chunk %#x of size %#x, but the chunk at %#x (size %#x, "
                    "still in use by the program) lies inside it and ends where it ends: its "
                    "size was enlarged over its neighbour, and the next malloc of that size "
                    "returns memory overlapping %#x; %s" % (
                        user_pointer, holder.address, holder.size, inner, inner_size,
                        geometry.user_pointer(inner), outcome.summary), outcome)
        return None

    def _headers_reach(self, inner, end):
        geometry = self.geometry
        address = inner
        while address < end:
            field = self.word(address + geometry.size_offset)
            if field is None or not field & geometry.prev_inuse or geometry.is_mmapped(field):
                return False
            size = field & geometry.size_mask
            if size < geometry.min_chunk_size or not geometry.is_aligned(size):
                return False
            address += size
        return address == end

    def _referenced(self, target, skip_low, skip_high):
        """True when a register or a word of memory outside [skip_low, skip_high) holds target."""
        if target in _register_values():
            return True
        needle = target.to_bytes(8, "little")
        for low, high, _name in self.mem.regions():
            for part_low, part_high in ((low, min(high, skip_low)), (max(low, skip_high), high)):
                for block in range(part_low & ~7, part_high, SCAN_BLOCK):
                    if self._block_holds(block, min(block + SCAN_BLOCK, part_high), needle):
                        return True
        return False

    def _block_holds(self, low, high, needle):
        try:
            data = bytes(self.mem.read(low, high - low))
        except HeapReadError:
            return False  # not in the core, or a guard page
        offset = data.find(needle)
        while offset >= 0:
            if offset % 8 == 0:
                return True
            offset = data.find(needle, offset + 1)
        return False


def _register_values():
    values = set()
    try:
        frame = gdb.newest_frame()
    except gdb.error:
        return values
    for name in _REGISTERS:
        try:
            values.add(int(frame.read_register(name)) & C.MASK64)
        except (gdb.error, ValueError):
            continue
    return values
