"""The free lists of one stop: every thread's tcache and every arena's fastbins, unsorted,
small and large bins, read together, and the index of which list holds each chunk.

They cost most of a snapshot on a huge heap, so they are read on first use (a command can
print its first line before paying for them), and all or nothing: a command interrupted while
they are read (Ctrl-C, a read that fails) leaves them unread, never half read."""

import array
import functools

from ..errors import HeapReadError
from . import native_classify, native_live, problems
from .heap_segments import prefetch_segment
from .list_walk import ListWalker
from .objects import BinList, ThreadInfo
from .problems import ListStop
from .states import ROW_CODE, ChunkState


class ListedChunks:
    """What the scan needs of the free index: either the listed addresses as the C scan takes
    them (`native_listed`, a native_classify.ListedAddresses; the list `table` it numbers and each list's
    `kind_codes`) or the Python index (`sorted_keys` of `by_address`, {chunk address: BinList})."""

    __slots__ = ("native_listed", "table", "kind_codes", "sorted_keys", "by_address")

    def __init__(self, native_listed=None, table=None, kind_codes=None, sorted_keys=None,
                 by_address=None):
        self.native_listed = native_listed
        self.table = table
        self.kind_codes = kind_codes
        self.sorted_keys = sorted_keys
        self.by_address = by_address


class FreeLists:
    """`threads_read` (ThreadInfo of every thread, None until read), `chains` (every list in
    the order that decides a chunk listed twice), `free_index` ({chunk address: BinList}),
    `native_listed()` and `python_listed()` (the index as the segment scan takes it)."""

    def __init__(self, allocator, memory, geometry, arenas, notes, fast_limit):
        self.allocator = allocator
        self.fast_limit = fast_limit  # global_max_fast, or None
        self.layouts = allocator.layouts
        self.memory = memory
        self.geometry = geometry
        self.arenas = arenas
        self.notes = notes
        self.walker = ListWalker(memory, geometry)
        self.threads_read = None
        self.chains = []
        self._free_index = None
        self._listed_native = None
        self._listed_python = None

    @property
    def free_index(self):
        self.load()
        if self._free_index is None:
            self._free_index = self._index()
        return self._free_index

    def python_listed(self):
        if self._listed_python is None:
            index = self.free_index
            self._listed_python = ListedChunks(sorted_keys=sorted(index), by_address=index)
        return self._listed_python

    def load(self):
        """Reads every bin and tcache once.  All or nothing: a command interrupted here (Ctrl-C,
        a read that fails) leaves the snapshot as unread as before, so the next command of the
        same stop reads them again instead of finding half of them."""
        if self.threads_read is not None:
            return
        self.threads_read = []  # while loading, the arenas' lazy properties must not re-enter
        for arena in self.arenas:
            arena.load_bins = None
        try:
            segments = [segment for arena in self.arenas for segment in arena.heaps]
            for segment in segments:
                prefetch_segment(self.memory, segment)
            # Every list is asked for first, then all are followed together (follow_all).
            asked = []
            threads = self._read_threads(asked)
            for arena in self.arenas:
                self._read_bins(arena, asked)
            with native_live.link_words(self.memory, segments, self.geometry, self.fast_limit):
                answers = self.walker.follow_all([question for question, _build, _store in asked])
            for (_question, build, store), (entries, problem, agreed) in zip(asked, answers):
                store(_with_back_links(build(entries, problem), agreed))
            self.threads_read = threads
            self.chains = self._chains_by_priority()
        except BaseException:
            self._unload()
            raise

    def _unload(self):
        self.threads_read = None
        self.chains = []
        for arena in self.arenas:
            arena.forget_bins()
            arena.load_bins = self.load

    def _read_threads(self, asked):
        """The threads, each with its tcache; its bins' lists go to `asked` (see load)."""
        threads = []
        by_address = {arena.address: arena for arena in self.arenas}
        tcache_layout = self.layouts["tcache"]
        for thread, values, error in self.allocator.thread_values():
            info = ThreadInfo(thread.num, thread.ptid[1] or thread.ptid[0], thread.name,
                              values.get("tcache") or 0, values.get("thread_arena") or 0, error)
            if error:
                self.notes.append(error)
            threads.append(info)
            if info.arena in by_address:
                by_address[info.arena].threads.append(info)
            if info.tcache:
                try:
                    fields = tcache_layout.unpack(self.memory.read(info.tcache, tcache_layout.size))
                except HeapReadError as failure:
                    info.error = "tcache of %s: %s" % (info.label(), failure)
                    self.notes.append(info.error)
                    continue
                for index, (count, head) in enumerate(zip(fields["counts"], fields["entries"])):
                    if count or head:
                        asked.append(((head, self.geometry.tcache_next_offset, True, 0, True,
                                       None), functools.partial(self._tcache_chain, index, count, head),
                                      info.tcache_bins.append))
        return threads

    def _tcache_chain(self, index, count, head, entries, problem):
        """A tcache bin: its entries are user pointers, the list is of their chunks."""
        geometry = self.geometry
        if problem is not None and problem.kind is ListStop.CYCLE:
            problem = problems.cycle(geometry.chunk_of(problem.address))
        elif problem is not None and problem.kind is ListStop.MISALIGNED:
            problem = problems.misaligned(problem.address, "entry")
        size = geometry.tcache_size(index)
        return BinList(ChunkState.TCACHE, index, size,
                       [entry - geometry.header_size for entry in entries], problem is None,
                       problem, count=count, head=head, size_range=(size, size))

    def _read_bins(self, arena, asked):
        """The arena's bins: each list goes to `asked` (see load)."""
        for index, head in enumerate(arena.fields["fastbinsY"]):
            if head:
                asked.append(((head, self.geometry.fd_offset, True, 0, True, None),
                              functools.partial(self._fast_chain, index, head),
                              arena.fastbins.append))
        geometry = self.geometry
        bins = arena.fields["bins"]
        for index in range(1, geometry.bin_count):
            forward = bins[2 * index - 2]
            head = self.geometry.bin_head(arena.address, index)
            if forward == head or forward == 0:
                continue
            if index == 1:
                kind, size_range = ChunkState.UNSORTED, (geometry.min_chunk_size, None)
                store = functools.partial(setattr, arena, "unsorted")
            elif index < geometry.small_bin_count:
                size = geometry.smallbin_size(index)
                kind, size_range = ChunkState.SMALLBIN, (size, size)
                store = arena.smallbins.append
            else:
                kind, size_range = ChunkState.LARGEBIN, geometry.largebin_range(index)
                store = arena.largebins.append
            # Only safe-linked lists are checked for alignment by glibc; a doubly linked one is
            # followed wherever it points, as unlink would.
            build = functools.partial(self._double_chain, kind, index, size_range, head)
            asked.append(((forward, self.geometry.fd_offset, False, head, False,
                           self.geometry.bk_offset), build, store))

    def _fast_chain(self, index, head, entries, problem):
        if problem is not None and problem.kind is ListStop.MISALIGNED:
            problem = problems.misaligned(problem.address, "chunk")
        size = self.geometry.fastbin_size(index)
        return BinList(ChunkState.FASTBIN, index, size, entries, problem is None, problem,
                       head=head, size_range=(size, size))

    @staticmethod
    def _double_chain(kind, index, size_range, head, entries, problem):
        """An arena's doubly linked bin; `size` is the smallest chunk size it takes (None for
        the unsorted bin, which takes any)."""
        size = None if kind is ChunkState.UNSORTED else size_range[0]
        return BinList(kind, index, size, entries, problem is None, problem, head=head,
                       size_range=size_range)

    def first_broken(self):
        """The first bin or tcache list (in priority order) whose walk stopped early, or None:
        the chunks it held past the break can only look in use."""
        self.load()
        return next((chain for chain in self.chains if not chain.complete), None)

    def _chains_by_priority(self):
        """Every bin list, in the order that decides a chunk listed twice: tcaches by thread,
        then each arena's bins; each list learns its owner on the way."""
        chains = []
        for thread in self.threads_read:
            for chain in thread.tcache_bins:
                chain.thread = thread
                chains.append(chain)
        for arena in self.arenas:
            for chain in arena.all_bins():
                chain.arena = arena.address
                chains.append(chain)
        return chains

    def _index(self):
        """{chunk address: BinList}.  A chunk listed twice keeps its first listing, so lists are
        applied from the last to the first."""
        index = {}
        for chain in reversed(self.chains):
            index.update(dict.fromkeys(reversed(chain.chunks), chain))
        return index

    def native_listed(self):
        """The free index as the C scan takes it (a ListedChunks with a native_classify.ListedAddresses):
        every list's entries one after the other, in priority order, each beside its list's
        number; the C classification lets the first entry of an address decide.  Copies of
        whole arrays only: the C walk's lists are arrays already, and most lists are empty."""
        if self._listed_native is None:
            self.load()
            addresses = array.array("Q")
            numbers = array.array(native_classify.LIST_NUMBER_TYPECODE)
            for number, chain in enumerate(self.chains):
                entries = chain.packed if chain.packed is not None else chain.chunks
                if entries:
                    addresses.extend(entries)
                    numbers.extend(array.array(native_classify.LIST_NUMBER_TYPECODE, (number,))
                                   * len(entries))
            codes = bytes(ROW_CODE[chain.kind] for chain in self.chains)
            self._listed_native = ListedChunks(
                native_listed=native_classify.ListedAddresses(addresses, numbers), table=self.chains,
                kind_codes=codes)
        return self._listed_native


def _with_back_links(chain, agreed):
    """`chain` (a BinList) told how many of its entries link back as the C walk found."""
    chain.back_agreed = agreed
    return chain
