"""The heap check's rules over the lists themselves: fastbin and tcache chains that stop early,
the fd/bk agreement of doubly linked bins, large-bin order and nextsize links, the binmap, and the
tcache's counts and keys.  A mixin of audit.Audit (see heap.py for what the Audit
supplies)."""

from ..errors import HeapReadError
from ..model import native, native_live
from ..model.problems import ListStop
from ..model.states import ChunkState
from .findings import Rule
from .places import place_name


class ChainRules:
    def _check_arena_links(self, arena):
        for chain in arena.fastbins:
            if not chain.complete:
                self._chain_stopped(ChunkState.FASTBIN, chain, arena)
        if arena.unsorted is not None and arena.unsorted.chunks:
            self._check_double_links(arena, arena.unsorted,
                                     self.touches.unsorted_scan(arena))
        for chain in arena.smallbins:
            self._check_double_links(arena, chain,
                                     self.touches.taking_from(ChunkState.SMALLBIN, chain, arena))
        for chain in arena.largebins:
            if self._check_double_links(arena, chain, self.touches.taking_from(
                    ChunkState.LARGEBIN, chain, arena)):
                self._check_large_order(arena, chain)

    def _check_binmap(self, arena):
        binmap = arena.fields.get("binmap")
        if binmap is not None:
            for chain in arena.smallbins + arena.largebins:
                word, bit = divmod(chain.index, self.geometry.binmap_word_bits)
                if not binmap[word] >> bit & 1:
                    self.add(Rule.BINMAP, self.snap.bin_head(arena, chain.index),
                             "bin %d of arena %#x holds %d chunks but its binmap bit is clear: "
                             "malloc will never look there" % (chain.index, arena.address,
                                                              len(chain.chunks)))

    def _chain_stopped(self, kind, chain, owner):
        problem = chain.problem
        stop = getattr(problem, "kind", None)
        last = chain.chunks[-1] if chain.chunks else chain.head
        name = place_name(kind, chain)
        if stop is ListStop.CYCLE:
            last = problem.address
            if kind == ChunkState.TCACHE:
                # malloc never aborts on a looping tcache bin (its count bounds it); only a
                # double free scans the bin, with a verdict that depends on the chunk freed.
                outside = "aborts with \"free(): too many chunks detected in tcache\"" \
                    if self.geometry.tcache_scan_bounded else \
                    "hangs (glibc %s does not bound the scan)" % self.geometry.release
                self.add(Rule.BIN_CYCLE, last,
                         "%s loops back (%s): a chunk freed twice or a forged link; malloc "
                         "hands the same chunk out again, freeing a chunk of the loop aborts "
                         "with \"free(): double free detected in tcache 2\", freeing a cached "
                         "chunk outside it %s" % (name, problem, outside), None)
                return
            self.add(Rule.BIN_CYCLE, last,
                     "%s loops back (%s): a chunk freed twice" % (name, problem),
                     self.predict_free(last))
        elif stop is ListStop.MISALIGNED:
            # The entry whose link is bad is the last walked; the call after it reads the link.
            predicted = self.touches.taking_from(kind, chain, owner, reach=len(chain.chunks))
            why = "safe-linking says it was overwritten after the free" \
                if self.geometry.safe_linking else "no chunk is there: it was overwritten"
            self.add(Rule.BIN_POINTER, last, "%s: the link stored in chunk %#x decodes to a %s "
                     "(%s)" % (name, last, problem, why), predicted)
        elif last not in self.walked and len(chain.chunks) > 1:
            # The list led to something that is no chunk: the damage is the link that led
            # there, stored in the entry before it.
            holder = chain.chunks[-2]
            self.add(Rule.BIN_POINTER, holder,
                     "%s: the link stored in chunk %#x leads to %#x, and the walk stopped: %s"
                     % (name, holder, last, problem))
        else:
            self.add(Rule.BIN_POINTER, last, "%s: the walk stopped: %s" % (name, problem))

    def _check_double_links(self, arena, chain, predicted):
        """fd and bk agree both ways around the circular list; True when they do.  `predicted`:
        the Touch that next takes from the list."""
        head = chain.head
        name = place_name(chain.kind, chain)
        suffix = ""
        entries = chain.packed if chain.packed is not None else chain.chunks
        # The entries whose back links agree are skipped, as the C walk counted them (else one
        # call to the C helper does); the loop below looks at the rest, from the first that
        # disagrees (or is not in a read segment).
        agreed = chain.back_agreed
        if agreed is None:
            agreed = native.back_links(entries, head, self.bk, self.mem.word_segments()) \
                if native.available() else 0
        previous = entries[agreed - 1] if agreed else head
        members = list(entries[agreed:]) + ([head] if chain.complete else [])
        for position, address in enumerate(members):
            unreadable_why = None
            try:
                back = self.word(address + self.bk)
            except HeapReadError as error:
                back, unreadable_why = None, error.why
            if back == previous:
                previous = address
                continue
            back_text = "%#x" % back if back is not None else "unreadable: %s" % unreadable_why
            if address == head:
                self.add(Rule.BIN_LINKS, previous,
                         "%s: the bin's bk is %s but its last chunk is %#x%s"
                         % (name, back_text, previous, suffix), predicted)
            elif self._looks_free(address):
                self.add(Rule.BIN_LINKS, address,
                         "%s: chunk %#x's bk is %s but the chunk before it in the list is %#x%s"
                         % (name, address, back_text, previous, suffix), predicted)
            else:
                self.add(Rule.BIN_LINKS, previous,
                         "%s: chunk %#x's fd points at %#x, which is not a free chunk linking "
                         "back to it (its bk is %s)%s" % (name, previous, address, back_text,
                                                           suffix),
                         predicted)
            self.suspect.update(members[position:])
            return False
        if not chain.complete:
            last = chain.chunks[-1] if chain.chunks else head
            self.add(Rule.BIN_LINKS, last, "%s: following fd from %#x breaks: %s" % (
                name, last, chain.problem), predicted)
            return False
        return True

    def _looks_free(self, address):
        """True when the chunk after `address` says it is free (PREV_INUSE clear)."""
        try:
            size = self.word(address + self.snap.size_offset) & self.geometry.size_mask
            return not self.word(address + size + self.snap.size_offset) & \
                self.geometry.prev_inuse
        except HeapReadError:
            return False

    def _check_large_order(self, arena, chain):
        """Sizes never grow along fd; the nextsize skip list links the first chunk of each size.
        A broken skip list is next touched by the unsorted scan when it files a chunk into this
        bin, else by unlink when malloc takes a chunk out."""
        # The words of every chunk of the bin read together (live, a batch of pages at a time).
        fields = native_live.words_at(self.mem, [address + self.snap.size_offset
                                                 for address in chain.chunks])
        if None in fields:
            return
        sizes = [field & self.geometry.size_mask for field in fields]
        for index in range(1, len(sizes)):
            if sizes[index] > sizes[index - 1]:
                self.add(Rule.LARGEBIN_ORDER, chain.chunks[index],
                         "large bin %d is out of order: %#x (size %#x) follows a %#x chunk" % (
                             chain.index, chain.chunks[index], sizes[index], sizes[index - 1]))
                return
        leaders = [address for index, address in enumerate(chain.chunks)
                   if index == 0 or sizes[index] != sizes[index - 1]]
        links = native_live.words_at(self.mem, [address + offset for address in leaders
                                                for offset in (self.fd_nextsize,
                                                               self.bk_nextsize)])
        for index, address in enumerate(leaders):
            want_next = leaders[(index + 1) % len(leaders)]
            want_prev = leaders[index - 1]
            forward, backward = links[2 * index], links[2 * index + 1]
            if forward is None or backward is None:
                return
            if forward != want_next or backward != want_prev:
                scan = self.touches.resolve(self.touches.unsorted_scan(arena))
                predicted = scan if scan.meets_a_check() else self.touches.taking_from(
                    ChunkState.LARGEBIN, chain, arena)
                self.add(Rule.LARGEBIN_SKIPLIST, address,
                         "large bin %d: chunk %#x starts a size group but its fd_nextsize/"
                         "bk_nextsize are %#x/%#x, not %#x/%#x" % (
                             chain.index, address, forward, backward, want_next, want_prev),
                         predicted)
                return

    def _check_tcache_keys(self, thread, chain, key):
        """tcache_put stamps every cached chunk with tcache_key; a different word there is a
        write after the free, and it hides the chunk from free()'s double-free scan."""
        for address in chain.chunks:
            if address in self.suspect or address not in self.walked:
                continue  # a forged entry outside the heap is the bin-pointer finding
            try:
                found = self.word(self.geometry.user_pointer(address) +
                                  self.geometry.tcache_key_offset)
            except HeapReadError:
                continue
            if found != key:
                # Before 2.34 the key is the owning thread's tcache address, not tcache_key.
                expected = "tcache_key" if self.geometry.tcache_key_is_random else \
                    "its tcache's address %#x" % key
                self.add(Rule.TCACHE_KEY, address,
                         "chunk %#x in %s of %s has key %#x, not %s: written after it "
                         "was freed; a second free of it would not be seen as a double free" % (
                             address, place_name(ChunkState.TCACHE, chain), thread.label(),
                             found, expected))

    def _check_tcache(self, thread):
        limit = self.snap.mp.get("tcache_count")
        key = self.snap.tcache_key(thread)
        for chain in thread.tcache_bins:
            if not chain.complete:
                self._chain_stopped(ChunkState.TCACHE, chain, thread)
                continue
            if key is not None:
                self._check_tcache_keys(thread, chain, key)
            if chain.count != len(chain.chunks):
                self.add(Rule.TCACHE_COUNT, thread.tcache,
                         "tcache bin %#x of %s counts %d entries but its chain has %d" % (
                             chain.size, thread.label(), chain.count, len(chain.chunks)))
            elif limit is not None and chain.count > limit:
                self.add(Rule.TCACHE_COUNT, thread.tcache,
                         "tcache bin %#x of %s holds %d entries, above tcache_count %d" % (
                             chain.size, thread.label(), chain.count, limit))
