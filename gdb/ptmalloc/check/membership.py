"""The heap check's bin-membership rules: every chunk a bin or a tcache lists is a real chunk of
a heap, of the listing arena and size, and listed only once; each thread's tcache struct lies in
a heap chunk.  A mixin of audit.Audit (see heap.py for what the Audit supplies)."""

import bisect

from ..errors import HeapReadError
from ..model import resync
from ..model.problems import ListStop
from ..model.states import ChunkState
from .findings import Rule
from .places import place_name

_EXACT_SIZE = frozenset((ChunkState.TCACHE, ChunkState.FASTBIN, ChunkState.SMALLBIN))


class MembershipRules:
    def _check_bin_membership(self):
        """Every listed chunk is a real chunk of the right arena, free, and listed only once.
        A whole bin whose chunks all match what the walk saw is passed in bulk; the others
        are judged chunk by chunk, in listing order, each with every place listing it."""
        doubtful = self._doubtful_listings()
        if doubtful:
            for address, places in self._places_of(doubtful).items():
                self._check_listed(address, places)
        self._check_tcache_structs()

    def _entry_lists(self):
        """(place, entries) of every tcache bin and bin, in the order of _listings, the entries
        as the walk left them (an array from the C walk: no Python list of millions made)."""
        for thread in self.snap.threads:
            for chain in thread.tcache_bins:
                yield (ChunkState.TCACHE, chain, thread), _entries(chain)
        for arena in self.snap.arenas:
            for chain in arena.all_bins():
                yield (chain.kind, chain, arena), _entries(chain)

    def _places_of(self, addresses):
        """{address: [each place listing it]} of `addresses`, first listing first; a thread's
        tcache struct chunk comes before any listing, as the places pointing at it first."""
        places = {}
        for thread in self.snap.threads:
            address = self.geometry.chunk_of(thread.tcache)
            if thread.tcache and address in addresses:
                places.setdefault(address, [])
        for place, entries in self._entry_lists():
            hits = addresses.intersection(entries)
            if hits:
                for address in entries:
                    if address in hits:
                        places.setdefault(address, []).append(place)
        return places

    def _doubtful_listings(self):
        """Addresses in a bin whose chunks the walk did not all see with the bin's arena and
        size, which takes in every address listed more than once.  Whole lists are judged from
        the walk's tallies: a list is healthy when the walk met as many of its entries as it
        has (each walked chunk counts for the first list naming it, so an entry listed earlier
        too leaves its list short), all in the bin's arena, with the bin's sizes."""
        doubtful = set()
        tallies = self.walked.list_tallies()
        for (kind, chain, owner), chunks in self._entry_lists():
            if not len(chunks):
                continue
            tally = tallies.get(id(chain))
            healthy = tally is not None and tally.count == len(chunks)
            if healthy and kind != ChunkState.TCACHE:
                healthy = tally.arenas.get(owner.address, 0) == tally.count
            if healthy and kind in _EXACT_SIZE:
                healthy = tally.low == tally.high == chain.size
            elif healthy and kind == ChunkState.LARGEBIN:
                low, high = chain.size_range
                healthy = tally.low >= low and (high is None or tally.high <= high)
            if not healthy:
                doubtful.update(chunks)
        return doubtful

    def _check_listed(self, address, places):
        if address in self.suspect:
            return
        facts = self.walked.get(address)
        if len(places) > 1:
            where = ", ".join(place_name(kind, chain) for kind, chain, _ in places)
            self.add(Rule.BIN_DUPLICATE, address,
                     "chunk at %#x is listed %d times (%s): a double free" % (
                         address, len(places), where), self.predict_free(address))
        for kind, chain, owner in places:
            if facts is None:
                if any(start <= address < end for start, end in self.walk_gaps):
                    continue
                derailed = self._derailed_at(address)
                if derailed is not None:
                    start, size, header = derailed
                    self.add(Rule.CHUNK_SIZE, start,
                             "chunk at %#x has size %#x, which runs past the chunk header %#x; "
                             "from there the chain of sizes reaches %#x, which %s lists: its "
                             "size was enlarged" % (start, size, header, address,
                                                    place_name(kind, chain)),
                             self.predict_free(start))
                    continue
                arena_address = owner.address if kind != ChunkState.TCACHE else None
                if arena_address in self.broken_arenas:
                    continue
                if not chain.complete and (kind != ChunkState.TCACHE or _unreadable_tail(
                        chain, address)):
                    continue  # the list's stop is the finding (chains.py)
                self.add(Rule.BIN_POINTER, address,
                         "%s points at %#x, which is not a chunk of any heap%s" % (
                             place_name(kind, chain), address,
                             self._foreign_chunk_note(kind, chain, address)),
                         self.touches.taking_from(kind, chain, owner))
                continue
            if kind != ChunkState.TCACHE and facts[0] != owner.address:
                self.add(Rule.BIN_ARENA, address,
                         "chunk at %#x is in a bin of arena %#x but lives in arena %#x"
                         % (address, owner.address, facts[0]))
            if kind in (ChunkState.TCACHE, ChunkState.FASTBIN) and facts[1] != chain.size:
                predicted = self.touches.taking_from(kind, chain, owner)
                self.add(Rule.BIN_SIZE, address,
                         "chunk at %#x in %s has size %#x, not %#x" % (
                             address, place_name(kind, chain), facts[1], chain.size),
                         predicted)
            elif kind == ChunkState.SMALLBIN and facts[1] != chain.size:
                self.add(Rule.BIN_SIZE, address, "chunk at %#x in smallbin %#x has size %#x"
                         % (address, chain.size, facts[1]))
            elif kind == ChunkState.LARGEBIN:
                low, high = chain.size_range
                if facts[1] < low or (high is not None and facts[1] > high):
                    self.add(Rule.BIN_SIZE, address,
                             "chunk at %#x of size %#x is in large bin %d (%#x-%s)" % (
                                 address, facts[1], chain.index, low,
                                 "%#x" % high if high else "..."))

    def _derailed_at(self, address):
        """When a listed chunk lies inside a walked segment but off its walk, the walk left the
        real chain before it: the first header after the last listed chunk the walk did meet
        whose chain of sizes lands on `address` is where the real chain goes on, and the walked
        chunk spanning that header is the one whose size is wrong.  (its address, size, the
        header) or None."""
        for scan in self.segment_scans:
            words = scan.words
            if words is None or not scan.start <= address < scan.start + (len(words) << 3):
                continue
            target = (address - scan.start) >> 3
            positions = scan.positions
            binned = [scan.positions[row] for row in scan.binned_rows]
            passed = [word for word in binned if word < target]
            rules = resync.ChainRules.of_segment(words, scan.start, self.geometry)
            header = resync.resume_position(rules, (passed[-1] if passed else positions[0]) + 1,
                                            {target})
            if header is None:
                return None
            row = bisect.bisect_right(positions, header) - 1
            if row < 0:
                return None
            size = scan.fields[row] & self.geometry.size_mask
            if positions[row] + (size >> 3) <= header:
                return None
            return scan.start + (positions[row] << 3), size, scan.start + (header << 3)
        return None

    def _check_tcache_structs(self):
        for thread in self.snap.threads:
            if thread.tcache and self.geometry.chunk_of(thread.tcache) not in self.walked:
                arenas_ok = not self.broken_arenas
                if arenas_ok:
                    self.add(Rule.TCACHE_STRUCT, thread.tcache,
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



def _entries(chain):
    return chain.packed if chain.packed is not None else chain.chunks


def _unreadable_tail(chain, address):
    """True for the entry a list's walk could not read past: the garbage a bad link led to,
    which chains.py names at the entry holding that link."""
    problem = chain.problem
    return getattr(problem, "kind", None) is ListStop.UNREADABLE and address == chain.chunks[-1]
