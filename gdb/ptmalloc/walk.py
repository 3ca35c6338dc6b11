"""Reading the allocator's state into model objects, and walking chunks lazily.

`snapshot()` returns the HeapSnapshot of the current stop (cached until the inferior changes):
arenas with their heaps and bins, mp_, every thread's tcache, and an index of free chunks.  The
chunks themselves are not stored: `HeapSnapshot.iter_chunks()` reads each heap segment in one
bulk read and yields Chunk objects one by one, so a million-chunk heap streams in constant memory.

Every chain walk is bounded and detects cycles; a walk that stops early records why."""


import array
import functools

import gdb

from . import constants as C
from . import main_segments, memory, mmapped, native, problems, target
from .errors import HeapError, HeapReadError
from .geometry import Geometry
from .model import Arena, BinList, Chunk, HeapSegment, ThreadInfo, WalkStatus
from .problems import HeapStop, ListStop
from .scan import ListedChunks, scan_segment
from .states import ROW_CODE, ChunkState


def _align_up(value, alignment):
    return (value + alignment - 1) & ~(alignment - 1)


def _broken_link(address, positions, steps, alignment_mask):
    """Why a list walk cannot step on to `address` after `steps` entries, or None if it can."""
    if address in positions:
        return problems.cycle(address)
    if not address:
        return problems.null_link(steps)
    if address & alignment_mask:
        return problems.misaligned(address)
    return None


class HeapSnapshot:
    """The allocator's state at one stop.

    `allocator` (target.Allocator), `mp` (dict of mp_ fields), `global_max_fast`, `arenas`
    (list of Arena, main first, in `next` order), `threads` (list of ThreadInfo), `notes`
    (one-line warnings met while reading), `free_index` ({chunk address: BinList listing it}).

    Chunks: `iter_chunks()` / `iter_segment()` (Chunk objects), `iter_segment_raw()` (tuples),
    `scan()` (a segment's chunks as columns, for listings and totals over huge heaps),
    `mmapped_chunks()`, `chunk_at(address)`."""

    def __init__(self, allocator, mem):
        self.allocator = allocator
        self.memory = mem
        self.layouts = allocator.layouts
        self._notes = []
        self._free_index = None
        self._chains = []
        self._listed_native = None
        self._threads = None
        self._mmapped = None
        self._listed_python = None
        self.mp = self._read_struct("par", allocator.addresses["mp_"])
        geometry = self.geometry = Geometry(self.layouts, self.mp, allocator.addresses)
        self.fd_offset = geometry.fd_offset
        self.bk_offset = geometry.bk_offset
        self.size_offset = geometry.size_offset
        self.prev_size_offset = geometry.prev_size_offset
        self.global_max_fast = None
        if "global_max_fast" in allocator.addresses:
            self.global_max_fast = mem.u64(allocator.addresses["global_max_fast"])
        main = self._read_arena(allocator.addresses["main_arena"], True)
        if main.top == 0:
            raise HeapError("the allocator is not initialised yet (no malloc call so far)")
        # (arena whose `next` breaks the ring, why), when the ring is broken.
        self.ring_break = None
        self.arenas = self._arena_ring(main)
        self._mark_free_list()
        self._noncontiguous_main = None
        for arena in self.arenas:
            self._find_heaps(arena)
            arena.load_bins = self._load_bins
        if self._noncontiguous_main is not None:
            self._main_mmapped_segments(self._noncontiguous_main)

    # The bins, the threads' tcaches and the free index cost most of a snapshot on a huge heap;
    # they are read on first use, so a command can print its first line before paying for them.

    @property
    def threads(self):
        self._load_bins()
        return self._threads

    @property
    def free_index(self):
        self._load_bins()
        if self._free_index is None:
            self._free_index = self._index_free_chunks()
        return self._free_index

    @property
    def notes(self):
        self._load_bins()
        return self._notes

    def _load_bins(self):
        """Reads every bin and tcache once.  All or nothing: a command interrupted here (Ctrl-C,
        a read that fails) leaves the snapshot as unread as before, so the next command of the
        same stop reads them again instead of finding half of them."""
        if self._threads is not None:
            return
        self._threads = []  # while loading, the arenas' lazy properties must not re-enter
        for arena in self.arenas:
            arena.load_bins = None
        try:
            for arena in self.arenas:
                self._prefetch(arena)
            # Every list is asked for first and followed after, all together (_follow_all).
            asked = []
            threads = self._read_threads(asked)
            for arena in self.arenas:
                self._read_bins(arena, asked)
            answers = self._follow_all([question for question, _build, _store in asked])
            for (_question, build, store), (entries, problem) in zip(asked, answers):
                store(build(entries, problem))
            self._threads = threads
            self._chains = self._chains_by_priority()
        except BaseException:
            self._unload_bins()
            raise

    def _unload_bins(self):
        self._threads = None
        self._chains = []
        for arena in self.arenas:
            arena.forget_bins()
            arena.load_bins = self._load_bins

    # -- structs ------------------------------------------------------------------------------

    def _read_struct(self, key, address):
        layout = self.layouts[key]
        return layout.unpack(self.memory.read(address, layout.size))

    def _read_arena(self, address, is_main):
        return Arena(address, is_main, self._read_struct("state", address))

    def _arena_ring(self, main):
        arenas = [main]
        seen = {main.address}
        address = main.next
        while address != main.address:
            if address in seen or address == 0:
                why = "its next points back at arena %#x" % address if address else \
                    "its next is NULL"
                self.ring_break = (arenas[-1].address, why)
                self._notes.append("arena list is broken at %#x: %s" % (arenas[-1].address, why))
                self._arenas_off_the_ring(arenas, seen)
                break
            if len(arenas) >= C.MAX_ARENAS:
                self._notes.append("arena list stopped after %d arenas" % len(arenas))
                break
            arena = self._take_arena(address, arenas, seen)
            if arena is None:
                break
            address = arena.next
        return arenas

    def _take_arena(self, address, arenas, seen):
        """Reads the thread arena at `address` into `arenas`; None (with a note) when it cannot
        be read."""
        seen.add(address)
        try:
            arena = self._read_arena(address, False)
        except HeapReadError as error:
            self._notes.append("arena at %#x: %s" % (address, error))
            return None
        arenas.append(arena)
        return arena

    def _arenas_off_the_ring(self, arenas, seen):
        """Arenas a broken ring no longer reaches, found the way threads find theirs: each
        thread's thread_arena, then free_list, each followed along its own `next`."""
        starts = [values.get("thread_arena") or 0
                  for _thread, values, _error in self.allocator.thread_values()]
        address = self.allocator.addresses.get("free_list")
        if address is not None:
            try:
                starts.append(self.memory.u64(address))
            except HeapReadError:
                pass
        for address in starts:
            while address and address not in seen and len(arenas) < C.MAX_ARENAS:
                arena = self._take_arena(address, arenas, seen)
                if arena is None:
                    break
                self._notes.append("arena %#x found off the broken ring" % address)
                address = arena.next

    def _mark_free_list(self):
        address = self.allocator.addresses.get("free_list")
        if address is None:
            return
        by_address = {arena.address: arena for arena in self.arenas}
        try:
            current = self.memory.u64(address)
        except HeapReadError as error:
            self._notes.append("free_list: %s" % error)
            return
        seen = set()
        while current and current not in seen and len(seen) < C.MAX_ARENAS:
            seen.add(current)
            arena = by_address.get(current)
            if arena is None:
                self._notes.append("free_list names %#x, which is not an arena" % current)
                return
            arena.on_free_list = True
            current = arena.next_free

    # -- threads ------------------------------------------------------------------------------

    def _read_threads(self, asked):
        """The threads, each with its tcache; its bins' lists go to `asked` (see _load_bins)."""
        threads = []
        by_address = {arena.address: arena for arena in self.arenas}
        tcache_layout = self.layouts["tcache"]
        for thread, values, error in self.allocator.thread_values():
            info = ThreadInfo(thread.num, thread.ptid[1] or thread.ptid[0], thread.name,
                              values.get("tcache") or 0, values.get("thread_arena") or 0, error)
            if error:
                self._notes.append(error)
            threads.append(info)
            if info.arena in by_address:
                by_address[info.arena].threads.append(info)
            if info.tcache:
                try:
                    fields = tcache_layout.unpack(self.memory.read(info.tcache, tcache_layout.size))
                except HeapReadError as failure:
                    info.error = "tcache of %s: %s" % (info.label(), failure)
                    self._notes.append(info.error)
                    continue
                for index, (count, head) in enumerate(zip(fields["counts"], fields["entries"])):
                    if count or head:
                        asked.append(((head, self.geometry.tcache_next_offset, True, 0, True),
                                      functools.partial(self._tcache_chain, index, count, head),
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

    def _alignment_mask(self, aligned):
        return self.geometry.alignment_mask if aligned else 0

    def _follow_all(self, questions):
        """_follow for each (address, link_offset, safe_linked, end, aligned) of `questions`, in
        order.  With the C helper, the lists' first runs are taken all at once
        (native.follow_many), so that their waits for memory overlap."""
        if not native.available():
            return [self._follow(*question) for question in questions]
        shift, mask = self.geometry.link_shift, self._alignment_mask
        batch = []
        for number, (address, link_offset, safe_linked, end, aligned) in enumerate(questions):
            low, _high, data = self.memory.segment_around(address + link_offset)
            if data is not None and address != end:
                batch.append((number, (data, low, address, link_offset, shift(safe_linked),
                                       mask(aligned), end, C.MAX_CHAIN_LENGTH)))
        first_runs = dict(zip([number for number, _list in batch],
                              native.follow_many([request for _number, request in batch])))
        return [self._follow_native(address, link_offset, shift(safe_linked), end, mask(aligned),
                                    first_runs.get(number))
                for number, (address, link_offset, safe_linked, end, aligned)
                in enumerate(questions)]

    def _follow(self, address, link_offset, safe_linked, end, aligned=True):
        """Follow a linked list from `address` until `end`: (entries in list order, problem);
        the entries are a list, or an array('Q') from the C walk.

        The tight loop behind every bin walk: links in a bulk-read heap are indexed straight in
        its word view (or followed by native.follow, the same loop in C); a repeated address is
        a cycle, an unaligned one or a null in a circular list a corruption, and no walk goes
        past MAX_CHAIN_LENGTH.  A step the fast loop does not take (another segment, an
        unaligned or unread link, the end of a list) goes through _careful_step."""
        shift = self.geometry.link_shift(safe_linked)
        alignment_mask = self._alignment_mask(aligned)
        if native.available():
            return self._follow_native(address, link_offset, shift, end, alignment_mask)
        positions = {}
        first_position = positions.setdefault
        low = high = 0
        words = None
        for count in range(C.MAX_CHAIN_LENGTH):
            if address == end:
                return list(positions), None
            slot = address + link_offset
            if low <= slot < high and not address & alignment_mask and not slot & 7:
                if first_position(address, count) != count:
                    return list(positions), problems.cycle(address)
                stored = words[(slot - low) >> 3]
                address = stored ^ (slot >> shift)
                continue
            address, problem = self._careful_step(positions, address, link_offset, shift,
                                                  alignment_mask)
            if problem is not None:
                return list(positions), problem
            low, high, words = self.memory.words_around(slot)
        return list(positions), self._final_problem(positions, address, end, alignment_mask)

    def _follow_native(self, address, link_offset, shift, end, alignment_mask, first_run=None):
        """_follow with its fast loop in C: each call runs through one cached segment; the
        first one may have been taken already (`first_run`, from native.follow_many).  The set
        of entries is only kept once a list runs on past a careful step."""
        entries = array.array("Q")
        seen = None
        limit = C.MAX_CHAIN_LENGTH
        while len(entries) < limit:
            if address == end:
                return entries, None
            answer = first_run if first_run is not None else self._fast_run(
                address, link_offset, shift, end, alignment_mask, limit - len(entries))
            first_run = None
            if answer is not None:
                run, address, stop = answer
                if seen is not None and not seen.isdisjoint(run):
                    # The list came back to an entry of an earlier run: a cycle there.
                    repeat = next(entry for entry in run if entry in seen)
                    entries.extend(run[:run.index(repeat)])
                    return entries, problems.cycle(repeat)
                entries.extend(run)
                if seen is not None:
                    seen.update(run)
                if stop == native.FOLLOW_REPEAT:
                    return entries, problems.cycle(address)
                if stop in (native.FOLLOW_REACHED_END, native.FOLLOW_LIMIT):
                    continue
            if address == end or len(entries) >= limit:
                continue
            if seen is None:
                seen = set(entries)
            taken, known = address, len(seen)
            address, problem = self._careful_step(seen, address, link_offset, shift,
                                                  alignment_mask)
            if len(seen) > known:
                entries.append(taken)  # taken, even when its own link cannot be read
            if problem is not None:
                return entries, problem
        return entries, self._final_problem(seen or set(entries), address, end, alignment_mask)

    def _fast_run(self, address, link_offset, shift, end, alignment_mask, limit):
        """native.follow from `address` through the cached segment holding its link, or None
        when no cached segment holds it."""
        low, _high, data = self.memory.segment_around(address + link_offset)
        if data is None:
            return None
        return native.follow(data, low, address, link_offset, shift, alignment_mask, end, limit)

    def _careful_step(self, taken, address, link_offset, shift, alignment_mask):
        """Take `address` into `taken` (a dict or set of the entries so far) and read its link
        with every check: (next address, None), or (address, why the list cannot go on)."""
        problem = _broken_link(address, taken, len(taken), alignment_mask)
        if problem is not None:
            return address, problem
        if isinstance(taken, dict):
            taken[address] = len(taken)
        else:
            taken.add(address)
        slot = address + link_offset
        try:
            stored = self.memory.u64(slot)
        except HeapReadError as error:
            return address, problems.unreadable(error)
        return stored ^ (slot >> shift), None

    @staticmethod
    def _final_problem(taken, address, end, alignment_mask):
        if address == end:
            return None
        return (_broken_link(address, taken, len(taken), alignment_mask)
                or problems.too_long(len(taken)))

    # -- heaps --------------------------------------------------------------------------------

    def _chunk_size_at(self, address):
        return self.geometry.chunk_size(self.memory.u64(address + self.size_offset))

    def _find_heaps(self, arena):
        try:
            arena.top_size = self._chunk_size_at(arena.top)
        except HeapReadError as error:
            arena.heap_problem = problems.Problem(HeapStop.TOP_UNREADABLE, arena.top,
                                                  "top %#x: %s" % (arena.top, error))
            if not error.missing:
                return
            # A core that lacks top may still hold the heap below it: the heaps end at top,
            # and their walks list what the core holds.
            arena.top_size = 0
        if arena.is_main:
            self._main_heap(arena)
        else:
            self._thread_heaps(arena)

    def _prefetch(self, arena):
        """Read each heap in bulk now, so that bin walks find their links in memory."""
        for segment in arena.heaps:
            self._prefetch_segment(segment)

    def _prefetch_segment(self, segment):
        length = _align_up(max(segment.end - segment.start, 0), 8)
        if length:
            try:
                self.memory.read_segment(segment.start, length)
            except HeapReadError:
                pass  # reported by the chunk walk, which reads the same range

    def _initial_top(self, arena):
        return self.geometry.bin_head(arena.address, 1)

    def _note_heap_problem(self, arena, problem, kind=HeapStop.HEAP_INFO, address=None):
        """The first reason an arena's heap list is incomplete is the one reported."""
        if arena.heap_problem is None:
            self._set_heap_problem(arena, problem, kind, address)

    @staticmethod
    def _set_heap_problem(arena, problem, kind=HeapStop.HEAP_INFO, address=None):
        """A heap_info chain that cannot go on says so, whatever a heap before it said."""
        arena.heap_problem = problems.Problem(kind, address, problem)

    def _segment_limit(self, start, cap):
        """Where a segment starting at `start` must end at the latest: the end of its mapping,
        and never beyond `cap`; `start` itself when nothing is mapped there."""
        mapped_end = self.memory.mapped_end(start)
        if mapped_end is None:
            return cap
        return min(mapped_end, cap)

    def _bounded_top_end(self, arena, limit):
        end = arena.top + arena.top_size
        if end > limit:
            self._note_heap_problem(arena, "top %#x has size %#x, which runs past the end of its "
                                    "heap at %#x" % (arena.top, arena.top_size, limit),
                                    HeapStop.TOP_PAST_HEAP, arena.top)
            return limit
        return end

    def _main_heap(self, arena):
        sbrk_base = self.mp.get("sbrk_base", 0)
        if not sbrk_base or arena.top == self._initial_top(arena):
            return  # nothing has come from sbrk yet
        start = self.geometry.first_chunk_after(sbrk_base)
        limit = self._segment_limit(start, start + memory.MAX_SINGLE_READ)
        if limit <= start:
            self._note_heap_problem(arena, "mp_.sbrk_base %#x is not in mapped memory" % sbrk_base,
                                    HeapStop.SEGMENT, sbrk_base)
            return
        if start <= arena.top < limit:
            arena.heaps.append(HeapSegment(None, start, self._bounded_top_end(arena, limit)))
            return
        # Top has left the sbrk heap: the arena went on in mmapped memory (non-contiguous), and
        # the sbrk heap ends with the double fencepost that closed its last top.
        try:
            walked = main_segments.sbrk_heap_walk(self.memory, self.geometry, start, limit)
        except HeapReadError as error:
            walked = ("broken", start)
            self._note_heap_problem(arena, "the sbrk heap at %#x: %s" % (start, error),
                                    HeapStop.SEGMENT, start)
        end = walked[1] if walked is not None and walked[0] == "fenced" else \
            min(limit, start + arena.system_mem)
        arena.heaps.append(HeapSegment(None, start, end))
        self._noncontiguous_main = arena

    def _main_mmapped_segments(self, arena):
        """Add the mmapped segments of a non-contiguous main arena (see main_segments.py)."""
        self._load_bins()
        known = []
        for other in self.arenas:
            for segment in other.heaps:
                if segment.info is not None:
                    known.append((segment.address, segment.address + max(
                        segment.info.get("mprotect_size") or 0, segment.end - segment.address)))
                else:
                    known.append((segment.start, segment.end))
        seeds = [arena.top] + list(self.free_index)
        try:
            found, found_problems = main_segments.find_mmapped_segments(self, arena, known, seeds)
        except HeapReadError as error:
            found, found_problems = [], ["the main arena's mmapped segments: %s" % error]
        arena.heaps.extend(found)
        for segment in found:
            self._prefetch_segment(segment)
        if found_problems:
            self._note_heap_problem(arena, found_problems[0], HeapStop.SEGMENT)
        if not any(segment.start <= arena.top < segment.end for segment in arena.heaps):
            self._note_heap_problem(arena, "top %#x of the non-contiguous main arena is in no "
                                    "segment found" % arena.top, HeapStop.SEGMENT, arena.top)
            return
        total = sum(main_segments.segment_bytes(s, self.mp.get("sbrk_base", 0))
                    for s in arena.heaps)
        if total != arena.system_mem:
            self._note_heap_problem(arena, "the main arena's %d segments hold %#x bytes but its "
                                    "system_mem is %#x: a segment may be missing" % (
                                        len(arena.heaps), total, arena.system_mem),
                                    HeapStop.SEGMENT)

    def _thread_heaps(self, arena):
        info_layout = self.layouts["heap_info"]
        geometry = self.geometry
        heaps = []
        seen = set()
        address = geometry.heap_of(arena.top)
        while address:
            if address in seen:
                self._set_heap_problem(arena, "heap_info chain has a cycle at %#x" % address,
                                       address=address)
                break
            if len(heaps) >= C.MAX_HEAPS_PER_ARENA:
                self._set_heap_problem(arena, "heap_info chain stopped after %d heaps"
                                       % len(heaps))
                break
            seen.add(address)
            try:
                info = self._read_struct("heap_info", address)
            except HeapReadError as error:
                self._set_heap_problem(arena, "heap_info at %#x: %s" % (address, error),
                                       address=address)
                break
            if info["ar_ptr"] != arena.address:
                self._set_heap_problem(arena, "heap_info at %#x belongs to arena %#x" % (
                    address, info["ar_ptr"]), address=address)
                break
            limit = self._segment_limit(address, address + geometry.heap_max_size)
            if limit <= address + info_layout.size:
                self._note_heap_problem(arena, "heap_info at %#x is not in mapped memory"
                                        % address, address=address)
                break
            if arena.address == address + info_layout.size:
                start = geometry.first_chunk_after(arena.address + self.layouts["state"].size)
            else:
                start = geometry.first_chunk_after(address + info_layout.size)
            end = address + info["size"]
            if end > limit:
                self._note_heap_problem(arena, "heap_info at %#x has size %#x, more than its "
                                        "mapping (%#x bytes) or the heap size %#x allow" % (
                                            address, info["size"], limit - address,
                                            geometry.heap_max_size), address=address)
                end = limit
            if address <= arena.top < limit:
                end = self._bounded_top_end(arena, limit)
            heaps.append(HeapSegment(address, start, end, info))
            address = info["prev"]
            if geometry.heap_of(address) != address:
                self._note_heap_problem(arena, "heap_info at %#x has prev %#x, which is not "
                                        "aligned to the heap size %#x" % (
                                            heaps[-1].address, address, geometry.heap_alignment),
                                        address=heaps[-1].address)
                break
        heaps.reverse()
        arena.heaps = heaps

    # -- bins ---------------------------------------------------------------------------------

    def bin_head(self, arena, index):
        """Address of bin `index`'s fake chunk: its fd/bk overlay bins[2i-2] and bins[2i-1]."""
        return self.geometry.bin_head(arena.address, index)

    def _read_bins(self, arena, asked):
        """The arena's bins: each list goes to `asked` (see _load_bins)."""
        for index, head in enumerate(arena.fields["fastbinsY"]):
            if head:
                asked.append(((head, self.fd_offset, True, 0, True),
                              functools.partial(self._fast_chain, index, head),
                              arena.fastbins.append))
        geometry = self.geometry
        bins = arena.fields["bins"]
        for index in range(1, geometry.bin_count):
            forward = bins[2 * index - 2]
            head = self.bin_head(arena, index)
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
            asked.append(((forward, self.fd_offset, False, head, False), build, store))

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

    def broken_list(self):
        """The first bin or tcache list (in priority order) whose walk stopped early, or None:
        the chunks it held past the break can only look in use."""
        self._load_bins()
        return next((chain for chain in self._chains if not chain.complete), None)

    def _chains_by_priority(self):
        """Every bin list, in the order that decides a chunk listed twice: tcaches by thread,
        then each arena's bins; each list learns its owner on the way."""
        chains = []
        for thread in self.threads:
            for chain in thread.tcache_bins:
                chain.thread = thread
                chains.append(chain)
        for arena in self.arenas:
            for chain in arena.all_bins():
                chain.arena = arena.address
                chains.append(chain)
        return chains

    def _index_free_chunks(self):
        """{chunk address: BinList}.  A chunk listed twice keeps its first listing, so lists are
        applied from the last to the first."""
        index = {}
        for chain in reversed(self._chains):
            index.update(dict.fromkeys(reversed(chain.chunks), chain))
        return index

    def _native_free_index(self):
        """The free index as the C scan takes it (a ListedChunks with a native.ListedAddresses):
        every list's entries one after the other, in priority order, each beside its list's
        number; the C classification lets the first entry of an address decide.  Copies of
        whole arrays only: the C walk's lists are arrays already, and most lists are empty."""
        if self._listed_native is None:
            self._load_bins()
            addresses = array.array("Q")
            numbers = array.array(native.LIST_NUMBER_TYPECODE)
            for number, chain in enumerate(self._chains):
                entries = chain.packed if chain.packed is not None else chain.chunks
                if entries:
                    addresses.extend(entries)
                    numbers.extend(array.array(native.LIST_NUMBER_TYPECODE, (number,))
                                   * len(entries))
            codes = bytes(ROW_CODE[chain.kind] for chain in self._chains)
            self._listed_native = ListedChunks(
                native_listed=native.ListedAddresses(addresses, numbers), table=self._chains,
                kind_codes=codes)
        return self._listed_native

    # -- chunks -------------------------------------------------------------------------------

    def iter_segment(self, arena, segment, status):
        """Yield every Chunk of one heap segment (see iter_segment_raw)."""
        arena_address, geometry = arena.address, self.geometry
        for address, size_field, prev_size, state, chain in self.iter_segment_raw(
                arena, segment, status):
            yield Chunk(geometry, address, size_field, prev_size, state, chain, arena_address)

    def scan(self, arena, segment, status):
        """The SegmentScan of one heap segment (see scan.py), read in one bulk read."""
        if native.available():
            listed = self._native_free_index()
        else:
            if self._listed_python is None:
                self._listed_python = ListedChunks(sorted_keys=sorted(self.free_index),
                                               by_address=self.free_index)
            listed = self._listed_python
        return scan_segment(self.memory, self.geometry, segment.start, segment.end, arena.top,
                            listed, status)

    def iter_segment_raw(self, arena, segment, status):
        """Yield (address, size field, prev_size, state, BinList or None) for every chunk of one
        heap segment.  Stops at the segment end, at top, or at a fencepost; on an impossible
        size it stops and records the reason in `status` (a WalkStatus)."""
        return self.scan(arena, segment, status).rows(self.prev_size_offset >> 3)

    def size_state_histogram(self, arenas=None, status=None):
        """{(size, state): count} over every chunk of `arenas` (default all): the loop behind
        totals and `heap chunks --summary`, with no per-chunk object at all."""
        status = status if status is not None else WalkStatus()
        histogram = {}
        for arena, segment in self._each_segment(arenas, status):
            self.scan(arena, segment, status).add_to_histogram(histogram)
        return histogram, status

    def iter_chunks(self, arenas=None, status=None):
        """Yield (arena, segment, chunk) for every chunk of every heap of `arenas` (default all)."""
        status = status if status is not None else WalkStatus()
        for arena, segment in self._each_segment(arenas, status):
            for chunk in self.iter_segment(arena, segment, status):
                yield arena, segment, chunk

    def _each_segment(self, arenas, status):
        """(arena, segment) over `arenas` (default all); once an arena's segments are done, an
        incomplete heap list of that arena stops `status`, as a broken chunk walk would."""
        for arena in arenas if arenas is not None else self.arenas:
            for segment in arena.heaps:
                yield arena, segment
            if arena.heap_problem and status.complete:
                status.stop(arena.address, arena.heap_problem)

    def mmapped_chunks(self):
        """[Chunk] of mmapped chunks, found by scanning writable mappings and checking headers."""
        if self._mmapped is None:
            self._mmapped = mmapped.scan_mmapped(self)
        return self._mmapped

    def chunk_at(self, address):
        """The Chunk containing `address` (header, user pointer or interior), or None."""
        for arena in self.arenas:
            for segment in arena.heaps:
                if segment.start <= address < max(segment.end, segment.start + 1):
                    status = WalkStatus()
                    for chunk in self.iter_segment(arena, segment, status):
                        if chunk.address <= address < chunk.address + max(
                                chunk.size, self.geometry.header_size):
                            return chunk
                    return None
        for chunk in self.mmapped_chunks():
            if chunk.address <= address < chunk.address + chunk.size:
                return chunk
        return None

    def position_of(self, address):
        """The BinPosition of the chunk header `address` in its first listing, or None."""
        chain = self.free_index.get(address)
        return None if chain is None else chain.bin_position(address)

    def tcache_key(self, thread=None):
        """The word tcache_put stamps into a cached chunk's key field, as `thread` would: the
        random tcache_key (glibc 2.34 on), else the thread's own tcache; None when unknown or
        unreadable."""
        if not self.geometry.tcache_key_is_random:
            return thread.tcache if thread is not None and thread.tcache else None
        try:
            return self.memory.u64(self.allocator.addresses["tcache_key"])
        except HeapReadError:
            return None

    def arena_by_address(self, address):
        for arena in self.arenas:
            if arena.address == address:
                return arena
        return None

    def selected_thread(self):
        """The ThreadInfo of gdb's selected thread, or None (no thread selected, or unknown)."""
        try:
            number = gdb.selected_thread().num
        except (gdb.error, AttributeError):
            return None
        return next((thread for thread in self.threads if thread.num == number), None)

    def selected_arena(self):
        """The arena the selected thread is attached to; main_arena when it has none."""
        thread = self.selected_thread()
        if thread is not None and thread.arena:
            found = self.arena_by_address(thread.arena)
            if found is not None:
                return found
        return self.arenas[0]


_cache = (None, None)


def snapshot():
    """The HeapSnapshot of the current stop (HeapError when there is nothing to inspect)."""
    global _cache
    generation = memory.generation()
    if _cache[0] == generation and _cache[1] is not None:
        return _cache[1]
    allocator = target.find_allocator()
    try:
        snap = HeapSnapshot(allocator, memory.current())
    except HeapReadError as error:
        raise HeapError("%s: %s" % (allocator.describe(), error)) from None
    except gdb.MemoryError as error:
        raise HeapError("cannot read memory: %s" % error) from None
    _cache = (generation, snap)
    return snap
