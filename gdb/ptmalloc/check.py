"""The whole-heap audit behind `heap check`: every rule, each finding with its predicted abort.

A finding names the rule, the chunk, what is wrong in plain words, and the message the allocator
will abort with when the program next touches the damage (None when glibc has no check there and
the program would go on, or crash without a message).  Predictions for damage a free() would meet
come from free_model, which replays glibc 2.36's free checks against the heap as it is.

Precision matters more than reach: a healthy heap (tcache and fastbin chunks that look in use,
the tcache_perthread_struct chunk, fenceposts closing thread heaps, the main arena's initial top,
mmapped chunks, many threads) must give no finding, so every rule states the invariant glibc
keeps, not a heuristic.  One piece of damage gives one finding: once a heap walk or a chain walk
breaks, the rules that would only repeat the symptom further along are skipped."""

import collections
import itertools
import operator

import gdb

from . import constants as C
from .errors import HeapReadError
from .free_model import FreeModel
from .malloc_model import MallocModel
from .check_rows import Rows as _Rows
from .model import HeapSegment, WalkStatus

BINNED = ("unsorted", "smallbin", "largebin")


class Finding:
    __slots__ = ("rule", "address", "message", "predicted_abort")

    def __init__(self, rule, address, message, predicted_abort=None):
        self.rule = rule
        self.address = address
        self.message = message
        self.predicted_abort = predicted_abort

    def to_json(self):
        return {"rule": self.rule, "address": self.address, "message": self.message,
                "predicted_abort": self.predicted_abort}


class Audit:
    """One run of every rule over a HeapSnapshot; `findings` after `run()`."""

    def __init__(self, snap, thread=None):
        self.snap = snap
        self.mem = snap.memory
        self.findings = []
        self.free_model = FreeModel(snap, thread)
        self.malloc_model = MallocModel(snap)
        self.thread = thread
        chunk = snap.layouts["chunk"]
        self.fd = chunk.offset("fd")
        self.bk = chunk.offset("bk")
        self.fd_nextsize = chunk.offset("fd_nextsize")
        self.bk_nextsize = chunk.offset("bk_nextsize")
        # Every chunk a bin, a tcache or a thread's TLS points at: checked against the walk,
        # which records (arena address, size) of each one it meets.
        self.pointed = {}
        self.walked = {}
        self.broken_arenas = set()
        self.reported = set()
        # Chunks reached only through a link found broken: what they look like is no evidence.
        self.suspect = set()
        self.unbinned_pointed = set()

    def add(self, rule, address, message, predicted_abort=None):
        key = (rule, address)
        if key in self.reported:
            return
        self.reported.add(key)
        self.findings.append(Finding(rule, address, message, predicted_abort))

    def word(self, address):
        return self.mem.u64(address)

    def predict_free(self, chunk):
        return self.free_model.free(chunk + C.CHUNK_HDR_SZ).abort

    def run(self):
        self._collect_pointed()
        self.unbinned_pointed = self.pointed.keys() - self.snap.free_index.keys()
        for arena in self.snap.arenas:
            self._check_arena_links(arena)
        for arena in self.snap.arenas:
            top_flagged = self._check_top(arena)
            if arena.heap_problem:
                # A forged top size is also why the heap list looks short: one damage, one finding.
                if not (top_flagged and arena.heap_problem.startswith("top %#x" % arena.top)):
                    self.add("heap-list", arena.address, "%s: %s" % (arena.label(),
                                                                    arena.heap_problem))
                self.broken_arenas.add(arena.address)
            self._check_system_mem(arena)
            for segment in arena.heaps:
                if segment.info is not None:
                    self._check_heap_info(arena, segment)
                self._walk_segment(arena, segment)
        self._check_bin_membership()
        for arena in self.snap.arenas:
            self._check_binmap(arena)
        for thread in self.snap.threads:
            self._check_tcache(thread)
        return self.findings

    # -- what points at chunks -------------------------------------------------------------------

    def _listings(self):
        """(place, chunk addresses) of every tcache bin and bin, in a fixed order: threads'
        tcaches, then each arena's bins."""
        for thread in self.snap.threads:
            for chain in thread.tcache_bins:
                yield ("tcache", chain, thread), chain.chunks
        for arena in self.snap.arenas:
            for chain in arena.all_bins():
                yield (chain.kind, chain, arena), chain.chunks

    def _collect_pointed(self):
        """pointed: {address: [places listing it]}, built in bulk: one shared one-place list
        would be wrong for a chunk listed twice, so those few get lists of their own."""
        for thread in self.snap.threads:
            if thread.tcache:
                self.pointed.setdefault(thread.tcache - C.CHUNK_HDR_SZ, [])
        listed = collections.Counter()
        for place, chunks in self._listings():
            self.pointed.update(zip(chunks, itertools.repeat((place,))))
            listed.update(chunks)
        if len(listed) == sum(listed.values()) and not any(
                self.pointed.get(t.tcache - C.CHUNK_HDR_SZ) for t in self.snap.threads
                if t.tcache):
            return
        repeated = {address for address, count in listed.items() if count > 1}
        repeated.update(t.tcache - C.CHUNK_HDR_SZ for t in self.snap.threads if t.tcache)
        for address in repeated:
            if address in self.pointed:
                self.pointed[address] = []
        for place, chunks in self._listings():
            for address in repeated.intersection(chunks):
                for _repeat in range(chunks.count(address)):
                    self.pointed[address].append(place)

    # -- the chunk walk --------------------------------------------------------------------------

    def _walk_segment(self, arena, segment):
        bound = self._heap_bound(arena, segment)
        if bound is not None and segment.end > bound:
            segment = HeapSegment(segment.address, segment.start, bound, segment.info,
                                  segment.kind)
        status = WalkStatus()
        top_heap = segment.start <= arena.top < max(segment.end, segment.start + 1)
        rows = _Rows(self.snap, self.snap.scan(arena, segment, status), arena.address)
        rows.record_pointed(self.pointed, self.walked, self.unbinned_pointed)
        for row in rows.suspicious(arena.is_main):
            self._check_chunk(arena, segment, rows.chunk(row), rows.chunk(row - 1), top_heap)
        previous = rows.chunk(len(rows.scan) - 1)
        last_end = previous.address + previous.size if previous is not None else segment.start
        if not status.complete:
            self._walk_stopped(arena, segment, status, previous)
            return
        if top_heap and rows.scan.top_row < 0 and arena.top != self._initial_top(arena):
            # A grown size leads the walk into the middle of a neighbour: freeing the grown chunk
            # is where glibc meets the damage.
            predicted = None
            if previous is not None and previous.state == "in-use":
                predicted = self.predict_free(previous.address)
            self.add("heap-walk", last_end,
                     "the walk of the heap at %#x ends at %#x (size 0) before reaching top %#x%s"
                     % (segment.start, last_end, arena.top,
                        "; the chunk before it (%#x, size %#x) may have had its size enlarged"
                        % (previous.address, previous.size) if previous is not None else ""),
                     predicted)
            self.broken_arenas.add(arena.address)
        elif not top_heap and segment.address is not None:
            self._check_fencepost(arena, segment, last_end)
        elif not top_heap and last_end != segment.end:
            self.add("heap-walk", last_end,
                     "the walk of the main arena's segment at %#x stops at %#x, not at its "
                     "closing fenceposts before %#x" % (segment.start, last_end, segment.end))
            self.broken_arenas.add(arena.address)

    def _heap_bound(self, arena, segment):
        if segment.info is not None:
            return segment.address + segment.info["size"]
        if arena.is_main and not arena.fields.get("flags", 0) & C.NONCONTIGUOUS_BIT:
            return self.snap.mp["sbrk_base"] + arena.system_mem
        return None

    def _initial_top(self, arena):
        return self.snap.bin_head(arena, 1)

    def _walk_stopped(self, arena, segment, status, previous):
        self.broken_arenas.add(arena.address)
        address = status.stopped_at
        try:
            field = self.word(address + self.snap.size_offset)
        except HeapReadError:
            field = None
        what = "size field %#x" % field if field is not None else "an unreadable header"
        predicted = None
        if previous is not None and previous.state == "in-use":
            predicted = self.predict_free(previous.address)
        if predicted is None:
            predicted = self.predict_free(address)
        self.add("chunk-size", address,
                 "chunk at %#x has %s: not a valid chunk size inside its heap (%s); the chunk "
                 "before it (%s) may have overflowed into it" % (
                     address, what, status.problem,
                     "%#x" % previous.address if previous is not None else "none"),
                 predicted)

    def _check_fencepost(self, arena, segment, last_end):
        """A heap that is no longer the top one ends in the 0x10 chunk and the 0|P fencepost."""
        fencepost = segment.end - C.CHUNK_HDR_SZ
        if last_end != fencepost:
            self.add("heap-walk", last_end,
                     "the walk of heap %#x stops at %#x, not at its closing fencepost %#x"
                     % (segment.address, last_end, fencepost))
            self.broken_arenas.add(arena.address)

    def _check_chunk(self, arena, segment, chunk, previous, top_heap):
        """The rules of one chunk that _Rows.suspicious picked out; `previous` is the chunk
        before it in the walk (None for the first)."""
        size = chunk.size
        if size < C.MINSIZE and chunk.state != "top":
            if not _is_fencepost(chunk, segment, top_heap):
                self.add("chunk-size", chunk.address,
                         "chunk at %#x has size %#x, below the minimum %#x" % (
                             chunk.address, size, C.MINSIZE), self.predict_free(chunk.address))
            return
        if chunk.state in ("in-use", "tcache", "fastbin"):
            want = 0 if arena.is_main else C.NON_MAIN_ARENA
            if chunk.size_field & C.NON_MAIN_ARENA != want:
                self.add("arena-bit", chunk.address,
                         "chunk at %#x %s the NON_MAIN_ARENA bit but lives in %s %#x: free() "
                         "would hand it to the wrong arena" % (
                             chunk.address, "has" if not want else "lacks", arena.label(),
                             arena.address))
        if chunk.size_field & C.PREV_INUSE:
            if previous is not None and previous.state in BINNED and \
                    previous.address not in self.suspect:
                predicted = "malloc(): invalid next->prev_inuse (unsorted)" \
                    if previous.state == "unsorted" else None
                self.add("bin-in-use", previous.address,
                         "chunk at %#x is in the %s but the next chunk %#x marks it in use "
                         "(PREV_INUSE set)" % (previous.address, previous.state, chunk.address),
                         predicted)
            return
        if previous is None:
            self.add("prev-inuse", chunk.address,
                     "first chunk %#x of its heap has PREV_INUSE clear: there is nothing before "
                     "it to merge with" % chunk.address, self.predict_free(chunk.address))
            return
        if previous.state not in BINNED:
            what = "in use" if previous.state == "free" else "in the " + previous.state
            self.add("prev-inuse", chunk.address,
                     "chunk at %#x has PREV_INUSE clear, but the chunk before it (%#x, size %#x) "
                     "is %s: a one-byte overflow (NUL) from it?" % (
                         chunk.address, previous.address, previous.size, what),
                     self.predict_free(chunk.address))
            return
        if chunk.prev_size != previous.size:
            self.add("prev-size", chunk.address,
                     "chunk at %#x has prev_size %#x but the free chunk before it is %#x bytes"
                     % (chunk.address, chunk.prev_size, previous.size),
                     "corrupted size vs. prev_size")

    def _check_heap_info(self, arena, segment):
        """new_heap and grow_heap/shrink_heap keep: pagesize a power of two of at least a page,
        size and mprotect_size multiples of it, size <= mprotect_size <= HEAP_MAX_SIZE (times 4
        hugepages), and nothing ever writes the pad of the zeroed mapping."""
        info = segment.info
        pagesize, size = info.get("pagesize"), info.get("size")
        protected, pad = info.get("mprotect_size"), info.get("pad")
        problems = []
        if pagesize is not None and (pagesize < C.PAGE_SIZE or pagesize & (pagesize - 1)):
            problems.append("pagesize %#x is not a page size" % pagesize)
        elif pagesize is not None and protected is not None:
            limit = max(C.HEAP_MAX_SIZE, 4 * pagesize)
            if size % pagesize or protected % pagesize:
                problems.append("size %#x / mprotect_size %#x are not multiples of its pagesize "
                                "%#x" % (size, protected, pagesize))
            elif not size <= protected <= limit:
                problems.append("mprotect_size %#x is not between its size %#x and %#x"
                                % (protected, size, limit))
        if pad is not None and any(pad if isinstance(pad, tuple) else (pad,)):
            problems.append("its pad bytes, never written by the allocator, are not zero")
        if problems:
            self.add("heap-info", segment.address, "heap_info at %#x of %s: %s" % (
                segment.address, arena.label(), "; ".join(problems)))

    # -- top and system_mem ----------------------------------------------------------------------

    def _heap_end_of_top(self, arena):
        if arena.is_main:
            if arena.fields.get("flags", 0) & C.NONCONTIGUOUS_BIT:
                return None
            return self.snap.mp["sbrk_base"] + arena.system_mem
        for segment in arena.heaps:
            if segment.info is not None and segment.address <= arena.top < \
                    segment.address + segment.info["size"]:
                return segment.address + segment.info["size"]
        return None

    def _check_top(self, arena):
        """True when the top chunk is flagged."""
        if arena.top == self._initial_top(arena):
            return False  # the main arena before its first sbrk: top is the unsorted bin's fake chunk
        top = arena.top
        size = arena.top_size
        problems = []
        if top & (C.MALLOC_ALIGNMENT - 1):
            problems.append("top %#x is misaligned" % top)
        if size & (C.MALLOC_ALIGNMENT - 1):
            problems.append("its size %#x is misaligned" % size)
        if size > arena.system_mem:
            problems.append("its size %#x exceeds the arena's system_mem %#x"
                            % (size, arena.system_mem))
        end = self._heap_end_of_top(arena)
        if end is not None and not problems and top + size != end:
            problems.append("it ends at %#x, not at the end of its heap %#x" % (top + size, end))
        if problems:
            predicted = "malloc(): corrupted top size" if size > arena.system_mem else None
            self.add("top-size", top, "top chunk of %s %#x: %s" % (
                arena.label(), arena.address, "; ".join(problems)), predicted)
        return bool(problems)

    def _check_system_mem(self, arena):
        if arena.is_main or arena.address in self.broken_arenas or not arena.heaps:
            return
        total = sum(segment.info["size"] for segment in arena.heaps if segment.info)
        if total != arena.system_mem:
            self.add("system-mem", arena.address,
                     "arena %#x says system_mem %#x but its %d heaps hold %#x bytes" % (
                         arena.address, arena.system_mem, len(arena.heaps), total))
        if arena.max_system_mem < arena.system_mem:
            self.add("system-mem", arena.address,
                     "arena %#x has max_system_mem %#x below system_mem %#x" % (
                         arena.address, arena.max_system_mem, arena.system_mem))

    # -- bins ------------------------------------------------------------------------------------

    def _check_bin_membership(self):
        """Every listed chunk is a real chunk of the right arena, free, and listed only once.
        A whole bin whose chunks all match what the walk saw is passed in bulk; the others
        are judged chunk by chunk, in listing order."""
        doubtful = self._doubtful_listings()
        ordered = [address for address in self.pointed if address in doubtful] \
            if len(doubtful) * 8 > len(self.pointed) else self._in_listing_order(doubtful)
        for address in ordered:
            self._check_listed(address, self.pointed[address])
        self._check_tcache_structs()

    def _in_listing_order(self, addresses):
        """`addresses` in the order `pointed` holds them (first listing first)."""
        ordered = []
        for thread in self.snap.threads:  # entered into `pointed` before any listing
            address = thread.tcache - C.CHUNK_HDR_SZ
            if thread.tcache and address in addresses and address not in ordered:
                ordered.append(address)
        seen = set(ordered)
        for _place, chunks in self._listings():
            hits = addresses.intersection(chunks)
            if hits - seen:
                for address in chunks:
                    if address in hits and address not in seen:
                        seen.add(address)
                        ordered.append(address)
        return ordered

    def _doubtful_listings(self):
        """Addresses listed more than once, or in a bin whose chunks the walk did not see with
        the bin's arena and size."""
        doubtful = {address for address, places in self.pointed.items() if len(places) > 1}
        walked = self.walked
        for (kind, chain, owner), chunks in self._listings():
            facts = list(map(walked.get, chunks))
            if None in facts:
                doubtful.update(chunks)
                continue
            arenas = list(map(operator.itemgetter(0), facts))
            sizes = list(map(operator.itemgetter(1), facts))
            healthy = kind == "tcache" or arenas.count(owner.address) == len(arenas)
            if kind in ("tcache", "fastbin", "smallbin"):
                healthy = healthy and sizes.count(chain.size) == len(sizes)
            elif kind == "largebin" and sizes:
                low, high = chain.size_range
                healthy = healthy and min(sizes) >= low and (high is None or max(sizes) <= high)
            if not healthy:
                doubtful.update(chunks)
        return doubtful

    def _check_listed(self, address, places):
        if address in self.suspect:
            return
        facts = self.walked.get(address)
        if len(places) > 1:
            where = ", ".join(_place_name(kind, chain) for kind, chain, _ in places)
            self.add("bin-duplicate", address,
                     "chunk at %#x is listed %d times (%s): a double free" % (
                         address, len(places), where), self.predict_free(address))
        for kind, chain, owner in places:
            if facts is None:
                arena_address = owner.address if kind != "tcache" else None
                if arena_address in self.broken_arenas:
                    continue
                if kind != "tcache" and not chain.complete:
                    continue
                self.add("bin-pointer", address,
                         "%s points at %#x, which is not a chunk of any heap%s" % (
                             _place_name(kind, chain), address,
                             self._foreign_chunk_note(kind, chain, address)),
                         self._foreign_chunk_abort(kind, chain, address))
                continue
            if kind != "tcache" and facts[0] != owner.address:
                self.add("bin-arena", address,
                         "chunk at %#x is in a bin of arena %#x but lives in arena %#x"
                         % (address, owner.address, facts[0]))
            if kind in ("tcache", "fastbin") and facts[1] != chain.size:
                predicted = "malloc(): memory corruption (fast)" if kind == "fastbin" else None
                self.add("bin-size", address,
                         "chunk at %#x in %s has size %#x, not %#x" % (
                             address, _place_name(kind, chain), facts[1], chain.size),
                         predicted)
            elif kind == "smallbin" and facts[1] != chain.size:
                self.add("bin-size", address, "chunk at %#x in smallbin %#x has size %#x"
                         % (address, chain.size, facts[1]))
            elif kind == "largebin":
                low, high = chain.size_range
                if facts[1] < low or (high is not None and facts[1] > high):
                    self.add("bin-size", address,
                             "chunk at %#x of size %#x is in large bin %d (%#x-%s)" % (
                                 address, facts[1], chain.index, low,
                                 "%#x" % high if high else "..."))

    def _check_tcache_structs(self):
        for thread in self.snap.threads:
            if thread.tcache and thread.tcache - C.CHUNK_HDR_SZ not in self.walked:
                arenas_ok = not self.broken_arenas
                if arenas_ok:
                    self.add("tcache-struct", thread.tcache,
                             "tcache of %s at %#x is not inside any heap chunk" % (
                                 thread.label(), thread.tcache))

    def _foreign_chunk_size(self, address):
        try:
            return self.word(address + self.snap.size_offset)
        except HeapReadError:
            return None

    def _foreign_chunk_note(self, kind, chain, address):
        field = self._foreign_chunk_size(address)
        if field is None:
            return " (its header is unreadable)"
        return " (a forged chunk of size field %#x: malloc would hand out memory outside the " \
            "heap)" % field

    def _foreign_chunk_abort(self, kind, chain, address):
        """Only the fastbin path checks a chunk's size when malloc takes it; tcache_get checks
        nothing but alignment (a misaligned link stops the walk and is judged there)."""
        if kind != "fastbin":
            return None
        field = self._foreign_chunk_size(address)
        if field is None:
            return None
        if (field & ~C.SIZE_BITS) // 16 - 2 != chain.size // 16 - 2:
            return "malloc(): memory corruption (fast)"
        return None

    def _check_arena_links(self, arena):
        for chain in arena.fastbins:
            if not chain.complete:
                self._chain_stopped("fastbin", chain, arena)
        if arena.unsorted is not None and arena.unsorted.chunks:
            self._check_double_links(arena, arena.unsorted,
                                     "malloc(): unsorted double linked list corrupted")
        for chain in arena.smallbins:
            take = self.malloc_model.smallbin_take(chain)
            self._check_double_links(arena, chain, take.abort, take.why)
        filings = None
        for chain in arena.largebins:
            if self._check_double_links(arena, chain, "corrupted double-linked list"):
                if filings is None:
                    filings = self.malloc_model.unsorted_filings(arena)
                self._check_large_order(chain, filings.get(chain.index))

    def _check_binmap(self, arena):
        binmap = arena.fields.get("binmap")
        if binmap is not None:
            for chain in arena.smallbins + arena.largebins:
                word, bit = divmod(chain.index, 32)
                if not binmap[word] >> bit & 1:
                    self.add("binmap", self.snap.bin_head(arena, chain.index),
                             "bin %d of arena %#x holds %d chunks but its binmap bit is clear: "
                             "malloc will never look there" % (chain.index, arena.address,
                                                              len(chain.chunks)))

    def _chain_stopped(self, kind, chain, owner):
        problem = chain.problem or ""
        last = chain.chunks[-1] if chain.chunks else chain.head
        name = _place_name(kind, chain)
        if problem.startswith("cycle"):
            last = _address_in(problem, last)
            if kind == "tcache":
                # malloc never aborts on a looping tcache bin (its count bounds it); only a
                # double free scans the bin, with a verdict that depends on the chunk freed.
                self.add("bin-cycle", last,
                         "%s loops back (%s): a chunk freed twice or a forged link; malloc "
                         "hands the same chunk out again, freeing a chunk of the loop aborts "
                         "with \"free(): double free detected in tcache 2\", a cached chunk "
                         "outside it with \"free(): too many chunks detected in tcache\""
                         % (name, problem), None)
                return
            self.add("bin-cycle", last,
                     "%s loops back (%s): a chunk freed twice" % (name, problem),
                     self.predict_free(last))
        elif problem.startswith("misaligned"):
            predicted = {"tcache": "malloc(): unaligned tcache chunk detected",
                         "fastbin": "malloc(): unaligned fastbin chunk detected 2"}.get(kind)
            self.add("bin-pointer", last,
                     "%s: the link stored in chunk %#x decodes to a %s (safe-linking says it "
                     "was overwritten after the free)" % (name, last, problem), predicted)
        else:
            self.add("bin-pointer", last, "%s: the walk stopped: %s" % (name, problem))

    def _check_double_links(self, arena, chain, predicted, consequence=None):
        """fd and bk agree both ways around the circular list; True when they do.  `consequence`
        says what the next malloc from the bin would do with the damage, when that is known."""
        head = chain.head
        name = _place_name(chain.kind, chain)
        suffix = "; " + consequence if consequence else ""
        previous = head
        members = chain.chunks + ([head] if chain.complete else [])
        for position, address in enumerate(members):
            try:
                back = self.word(address + self.bk)
            except HeapReadError:
                back = None
            if back == previous:
                previous = address
                continue
            back_text = "%#x" % back if back is not None else "unreadable"
            if address == head:
                self.add("bin-links", previous, "%s: the bin's bk is %s but its last chunk is %#x%s"
                         % (name, back_text, previous, suffix), predicted)
            elif self._looks_free(address):
                self.add("bin-links", address,
                         "%s: chunk %#x's bk is %s but the chunk before it in the list is %#x%s"
                         % (name, address, back_text, previous, suffix), predicted)
            else:
                self.add("bin-links", previous,
                         "%s: chunk %#x's fd points at %#x, which is not a free chunk linking "
                         "back to it (its bk is %s)%s" % (name, previous, address, back_text,
                                                           suffix),
                         predicted)
            self.suspect.update(members[position:])
            return False
        if not chain.complete:
            last = chain.chunks[-1] if chain.chunks else head
            self.add("bin-links", last, "%s: following fd from %#x breaks: %s" % (
                name, last, chain.problem), predicted)
            return False
        return True

    def _looks_free(self, address):
        """True when the chunk after `address` says it is free (PREV_INUSE clear)."""
        try:
            size = self.word(address + self.snap.size_offset) & ~C.SIZE_BITS
            return not self.word(address + size + self.snap.size_offset) & C.PREV_INUSE
        except HeapReadError:
            return False

    def _check_large_order(self, chain, filing=None):
        """Sizes never grow along fd; the nextsize skip list links the first chunk of each size.
        A broken skip list is next touched by the unsorted scan when it files a chunk into this
        bin (`filing`, what that would do), else by unlink when malloc takes a chunk out."""
        sizes = []
        for address in chain.chunks:
            try:
                sizes.append(self.word(address + self.snap.size_offset) & ~C.SIZE_BITS)
            except HeapReadError:
                return
        for index in range(1, len(sizes)):
            if sizes[index] > sizes[index - 1]:
                self.add("largebin-order", chain.chunks[index],
                         "large bin %d is out of order: %#x (size %#x) follows a %#x chunk" % (
                             chain.index, chain.chunks[index], sizes[index], sizes[index - 1]))
                return
        leaders = [address for index, address in enumerate(chain.chunks)
                   if index == 0 or sizes[index] != sizes[index - 1]]
        for index, address in enumerate(leaders):
            want_next = leaders[(index + 1) % len(leaders)]
            want_prev = leaders[index - 1]
            try:
                forward = self.word(address + self.fd_nextsize)
                backward = self.word(address + self.bk_nextsize)
            except HeapReadError:
                return
            if forward != want_next or backward != want_prev:
                if filing is not None:
                    predicted, consequence = filing.abort, filing.why
                else:
                    predicted = "corrupted double-linked list (not small)"
                    consequence = "taking a chunk of this group out of the bin unlinks it"
                self.add("largebin-skiplist", address,
                         "large bin %d: chunk %#x starts a size group but its fd_nextsize/"
                         "bk_nextsize are %#x/%#x, not %#x/%#x; %s" % (
                             chain.index, address, forward, backward, want_next, want_prev,
                             consequence), predicted)
                return

    def _tcache_key(self):
        address = self.snap.allocator.addresses.get("tcache_key")
        if address is None:
            return None
        try:
            return self.word(address)
        except HeapReadError:
            return None

    def _check_tcache_keys(self, thread, chain, key):
        """tcache_put stamps every cached chunk with tcache_key; a different word there is a
        write after the free, and it hides the chunk from free()'s double-free scan."""
        for address in chain.chunks:
            if address in self.suspect or address not in self.walked:
                continue  # a forged entry outside the heap is the bin-pointer finding
            try:
                found = self.word(address + C.CHUNK_HDR_SZ + self.free_model.entry_key)
            except HeapReadError:
                continue
            if found != key:
                self.add("tcache-key", address,
                         "chunk %#x in %s of %s has key %#x, not tcache_key: written after it "
                         "was freed; a second free of it would not be seen as a double free" % (
                             address, _place_name("tcache", chain), thread.label(), found))

    def _check_tcache(self, thread):
        limit = self.snap.mp.get("tcache_count", 7)
        key = self._tcache_key()
        for chain in thread.tcache_bins:
            if not chain.complete:
                self._chain_stopped("tcache", chain, thread)
                continue
            if key is not None:
                self._check_tcache_keys(thread, chain, key)
            if chain.count != len(chain.chunks):
                self.add("tcache-count", thread.tcache,
                         "tcache bin %#x of %s counts %d entries but its chain has %d" % (
                             chain.size, thread.label(), chain.count, len(chain.chunks)))
            elif chain.count > limit:
                self.add("tcache-count", thread.tcache,
                         "tcache bin %#x of %s holds %d entries, above tcache_count %d" % (
                             chain.size, thread.label(), chain.count, limit))


def _is_fencepost(chunk, segment, top_heap):
    """A chunk below MINSIZE that closes a heap no longer holding top: the 0x10 chunk before a
    thread heap's 0|PREV_INUSE fencepost, or either 0x10 fencepost ending a segment of the main
    arena (sbrk heap or mmapped) that sysmalloc left behind."""
    if top_heap or chunk.size != C.CHUNK_HDR_SZ:
        return False
    closing = segment.end - chunk.address
    if segment.info is not None:
        return closing == 2 * C.CHUNK_HDR_SZ
    return closing in (C.CHUNK_HDR_SZ, 2 * C.CHUNK_HDR_SZ)


def _address_in(text, default):
    for word in reversed(text.split()):
        if word.startswith("0x"):
            try:
                return int(word.rstrip(".,;)"), 16)
            except ValueError:
                break
    return default


def _place_name(kind, chain):
    if kind == "tcache":
        return "tcache bin %#x" % chain.size
    if kind == "fastbin":
        return "fastbin %#x" % chain.size
    if kind == "unsorted":
        return "the unsorted bin"
    if kind == "smallbin":
        return "smallbin %#x" % chain.size
    return "large bin %d" % chain.index


def selected_thread_info(snap):
    """The ThreadInfo of gdb's selected thread: the one whose next free() the audit replays."""
    try:
        selected = gdb.selected_thread()
    except gdb.error:
        selected = None
    for thread in snap.threads:
        if selected is not None and thread.num == selected.num:
            return thread
    return snap.threads[0] if snap.threads else None


def audit(snap):
    """Findings of every rule over the whole heap."""
    return Audit(snap, selected_thread_info(snap)).run()
