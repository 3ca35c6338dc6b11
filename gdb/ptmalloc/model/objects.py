"""Plain Python objects for what the walks find: the API other modules (render, check) build on.

Everything here is data read at one stop; nothing holds a gdb.Value or touches the inferior.
Addresses are ints.  A walk that stopped before its natural end says so: `complete` is False and
`problem` is a one-line reason, so no consumer can mistake a truncated list for the whole one."""

from .states import CACHED_OR_IN_USE, ChunkState


class Chunk:
    """One chunk header seen in a heap segment or an mmapped region.

    `geometry` the snapshot's Geometry; `address` is the header (prev_size field); `size_field`
    the raw size word with flags; `state` a ChunkState; `bin` the BinList listing the chunk
    (None when in no bin or tcache), `position` its BinPosition (computed on first use);
    `arena` the owning Arena's address (None if mmapped)."""

    __slots__ = ("geometry", "address", "size_field", "prev_size", "state", "bin", "arena")

    def __init__(self, geometry, address, size_field, prev_size, state, chain=None, arena=None):
        self.geometry = geometry
        self.address = address
        self.size_field = size_field
        self.prev_size = prev_size
        self.state = state
        self.bin = chain
        self.arena = arena

    @property
    def position(self):
        return None if self.bin is None else self.bin.bin_position(self.address)

    @property
    def size(self):
        return self.size_field & self.geometry.size_mask

    @property
    def flags(self):
        return self.geometry.flag_words(self.size_field)

    @property
    def user_address(self):
        return self.address + self.geometry.header_size

    @property
    def is_mmapped(self):
        return self.geometry.is_mmapped(self.size_field)

    @property
    def usable_size(self):
        """Bytes the program may use: an mmapped chunk has no next chunk to borrow from, an
        in-use one borrows its successor's prev_size."""
        size_sz = self.geometry.size_sz
        if self.is_mmapped:
            return max(self.size - 2 * size_sz, 0)
        if self.state in CACHED_OR_IN_USE:
            return max(self.size - size_sz, 0)
        return 0

    def to_json(self):
        return {"address": self.address, "size": self.size, "flags": self.flags,
                "state": self.state}


class BinPosition:
    """Where a free chunk is listed: `kind` (a ChunkState: tcache, fastbin, unsorted, smallbin,
    largebin), `index` of the bin, its chunk `size` (exact-size bins), 0-based `position` from
    the head, `arena` address (None for tcache), `thread` (ThreadInfo, tcache only)."""

    __slots__ = ("kind", "index", "size", "position", "arena", "thread")

    def __init__(self, kind, index, size, position, arena=None, thread=None):
        self.kind = kind
        self.index = index
        self.size = size
        self.position = position
        self.arena = arena
        self.thread = thread

    def describe(self):
        """The bin and the entry ("fastbin 0 (0x20) of arena 0x..., entry 2")."""
        return "%s, entry %d" % (self.bin_name(), self.position)

    def bin_name(self):
        """The bin in words ("fastbin 0 (0x20) of arena 0x...")."""
        if self.kind == ChunkState.TCACHE:
            owner = "thread %d (LWP %d)" % (self.thread.num, self.thread.lwp) if self.thread else "?"
            return "tcache bin %d (0x%x) of %s" % (self.index, self.size, owner)
        where = "arena %#x" % self.arena if self.arena is not None else "?"
        if self.kind == ChunkState.FASTBIN:
            return "fastbin %d (0x%x) of %s" % (self.index, self.size, where)
        if self.kind == ChunkState.UNSORTED:
            return "unsorted bin of %s" % where
        return "%s %d of %s" % (self.kind, self.index, where)


class BinList:
    """One bin's chain, followed from its head.

    `kind` (a ChunkState), `index`, `size` (chunk size for exact-size bins, the smallest size
    for large bins, None for unsorted), `size_range` ((smallest, largest) size the bin holds;
    largest None for an open-ended bin), `chunks` (header addresses in list order), `count` (the
    tcache's own counter, else None), `complete` and `problem` (why the walk stopped early: a
    problems.Problem), `head` (the
    bin's head pointer or fake chunk), `arena` (owning arena address, None for a tcache) and
    `thread` (the ThreadInfo owning a tcache bin, else None).  `packed` is `chunks` as an
    array('Q') when the walk had it so (the C walk), for the C free index."""

    __slots__ = ("kind", "index", "size", "size_range", "_chunks", "count", "complete", "problem",
                 "head", "arena", "thread", "_positions", "packed", "back_agreed")

    def __init__(self, kind, index, size, chunks, complete=True, problem=None, count=None,
                 head=None, size_range=None):
        self.kind = kind
        self.index = index
        self.size = size
        self.size_range = size_range if size_range is not None else (size, size)
        self._chunks = chunks
        self.count = count
        self.complete = complete
        self.problem = problem
        self.head = head
        self.arena = None
        self.thread = None
        self._positions = None
        self.packed = None
        # How many entries from the first on link back to the one before them, as the C walk
        # found while following the list (None: not known).
        self.back_agreed = None
        if not isinstance(chunks, list):
            # Python ints are made from the array only when someone reads the list.
            self.packed = chunks
            self._chunks = None

    @property
    def chunks(self):
        if self._chunks is None:
            self._chunks = self.packed.tolist()
        return self._chunks

    def bin_position(self, address):
        """The BinPosition of `address` in this list (its first listing)."""
        return BinPosition(self.kind, self.index, self.size, self.position_of(address),
                           self.arena, self.thread)

    def set_positions(self, positions):
        """Adopt the {address: position} map the walk built anyway (no duplicates in it)."""
        self._positions = positions

    def positions(self):
        """{address: 0-based position} of every listed chunk (first listing of a repeat)."""
        self.position_of(0)
        return self._positions

    def position_of(self, address):
        """0-based position of `address` from the head (the first one, if listed twice)."""
        if self._positions is None:
            positions = {}
            for position, chunk in enumerate(self.chunks):
                positions.setdefault(chunk, position)
            self._positions = positions
        return self._positions.get(address)

    def __len__(self):
        return len(self.packed) if self._chunks is None else len(self._chunks)


class HeapSegment:
    """A contiguous run of chunks: the main arena's sbrk heap, one mmapped segment of a
    non-contiguous main arena, or one heap_info heap.

    `address` is the heap_info address (None for the main arena's segments), `start` the first
    chunk, `end` the end of the walkable bytes, `info` heap_info's fields (dict) or None, `kind`
    "sbrk", "mmap" (the main arena continued in mmapped memory) or "heap_info"."""

    __slots__ = ("address", "start", "end", "info", "kind")

    def __init__(self, address, start, end, info=None, kind=None):
        self.address = address
        self.start = start
        self.end = end
        self.info = info
        self.kind = kind or ("heap_info" if info is not None else "sbrk")


class ThreadInfo:
    """A thread and its allocator TLS: `num` (gdb thread number), `lwp`, `tcache` (address of
    its tcache_perthread_struct or 0), `arena` (thread_arena or 0), `tcache_bins` (list of
    non-empty BinList), `error` (why TLS could not be read, else None)."""

    __slots__ = ("num", "lwp", "name", "tcache", "arena", "tcache_bins", "error")

    def __init__(self, num, lwp, name, tcache, arena, error=None):
        self.num = num
        self.lwp = lwp
        self.name = name
        self.tcache = tcache
        self.arena = arena
        self.tcache_bins = []
        self.error = error

    def label(self):
        return "thread %d (LWP %d)" % (self.num, self.lwp)


class Arena:
    """One malloc_state.

    `address`, `is_main`, `fields` (every malloc_state field as read), `top`, `last_remainder`,
    `system_mem`, `max_system_mem`, `attached_threads`, `next`, `next_free`, `heaps` (list of
    HeapSegment, oldest first), `heap_problem` (why the heap list is incomplete, else None),
    `on_free_list`, `threads` (ThreadInfo attached, per their thread_arena), `top_size`,
    `fastbins`, `unsorted`, `smallbins`, `largebins` (lists of non-empty BinList)."""

    def __init__(self, address, is_main, fields):
        self.address = address
        self.is_main = is_main
        self.fields = fields
        self.top = fields["top"]
        self.last_remainder = fields["last_remainder"]
        self.system_mem = fields["system_mem"]
        self.max_system_mem = fields["max_system_mem"]
        self.attached_threads = fields["attached_threads"]
        self.next = fields["next"]
        self.next_free = fields["next_free"]
        self.top_size = 0
        self.heaps = []
        self.heap_problem = None
        self.on_free_list = False
        self.load_bins = None  # set by the snapshot while the bins are still unread
        self._threads = []
        self._fastbins = []
        self._unsorted = None
        self._smallbins = []
        self._largebins = []

    def forget_bins(self):
        """Back to unread, after a load that did not finish."""
        self._threads = []
        self._fastbins = []
        self._unsorted = None
        self._smallbins = []
        self._largebins = []

    def _loaded(self, name):
        if self.load_bins is not None:
            self.load_bins()
        return getattr(self, name)

    def _store(name):  # noqa: N805 - builds the properties below
        return property(lambda self: self._loaded(name),
                        lambda self, value: setattr(self, name, value))

    threads = _store("_threads")
    fastbins = _store("_fastbins")
    unsorted = _store("_unsorted")
    smallbins = _store("_smallbins")
    largebins = _store("_largebins")
    del _store

    def all_bins(self):
        """Every non-empty BinList of the arena: fast, unsorted, small, large."""
        bins = list(self.fastbins)
        if self.unsorted is not None and self.unsorted.chunks:
            bins.append(self.unsorted)
        return bins + self.smallbins + self.largebins

    def label(self):
        return "main_arena" if self.is_main else "arena"


class WalkStatus:
    """How a chunk walk ended: `complete` and, when not, `problem` and the address it stopped at.

    A walk that resumed past damage (resync.py) also keeps `gaps`, [(start, end, why, bad
    header)] of the bytes it could not read as chunks (the walk is then incomplete), and `overruns`,
    [(address, size, next header)] of chunks whose size runs past the next header proved."""

    __slots__ = ("complete", "problem", "stopped_at", "gaps", "overruns", "unheld")

    def __init__(self):
        self.complete = True
        self.problem = None
        self.stopped_at = None
        self.gaps = []
        self.overruns = []
        # [(start, end, why)] of heap bytes a core lacks: chunks may be there, unknown.
        self.unheld = []

    def missing(self, start, end, why):
        """Bytes [start, end) of a heap are not in the core: the walk could not list what is
        there, and no rule can judge it."""
        self.unheld.append((start, end, why))
        if self.complete:
            self.complete = False
            self.problem = "chunks from %#x to %#x cannot be listed: %s" % (start, end, why)

    def stop(self, address, problem):
        self.complete = False
        self.problem = problem
        self.stopped_at = address

    def gap(self, start, end, why, bad_header):
        """Bytes [start, end) the walk stepped over, from the header at `bad_header` that cannot
        be a chunk's: chunks may be there that it cannot list."""
        self.gaps.append((start, end, why, bad_header))
        if self.complete:
            self.complete = False
            self.problem = "chunks between %#x and %#x cannot be listed: %s" % (start, end, why)

    def doubt(self, problem):
        """Every chunk is listed, but not every state can be trusted (a broken free list)."""
        if self.complete:
            self.complete = False
            self.problem = problem

    def overrun(self, address, size, next_header):
        self.overruns.append((address, size, next_header))
