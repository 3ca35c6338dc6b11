"""What glibc's malloc() would do with a damaged bin, decided from the heap as it is now.

free_model answers for the damage a free() meets; this module answers for the two places where
malloc, not free, is the next touch of a broken list, and where glibc checks less than the list
invariant the audit verifies:
  - taking a chunk from a small bin checks one link only (the victim's bk must point at a chunk
    whose fd is the victim), so a forged bk that satisfies it (House of Lore) goes through;
  - sorting an unsorted chunk into a large bin checks the skip list only when the chunk is not
    the smallest of its bin; a smaller chunk is linked through whatever bk_nextsize the first
    chunk holds (the large-bin attack write).
Reads only; an unreadable link is a crash, not an abort, and answers None."""

from .chunk_reads import ChunkReader, Unreadable

# The unsorted scan is bounded by glibc too (10000 iterations); the replay stops far earlier.
MAX_UNSORTED_REPLAY = 64
MAX_SKIP_STEPS = 4096


class MallocOutcome:
    """`abort` (message or None), `why` (one line for the finding)."""

    __slots__ = ("abort", "why")

    def __init__(self, abort, why):
        self.abort = abort
        self.why = why


class MallocModel(ChunkReader):
    """Replays the checks of the next malloc that touches a damaged bin (see the module)."""

    # -- small bins -----------------------------------------------------------------------------

    def smallbin_take(self, chain):
        """The next malloc served from this small bin takes its last chunk (the bin's bk)."""
        try:
            victim = self.word(chain.head + self.bk)
            if victim == chain.head:
                return MallocOutcome(None, "the bin looks empty from its bk end")
            behind = self.word(victim + self.bk)
            if self.word(behind + self.fd) != victim:
                return MallocOutcome("malloc(): smallbin double linked list corrupted",
                                     "malloc takes %#x first and its bk %#x does not link back"
                                     % (victim, behind))
            if behind == chain.head:
                return MallocOutcome(None, "malloc takes %#x first; its links hold" % victim)
            return MallocOutcome(None, "glibc's one check holds (%#x's bk %#x links back to it): "
                                 "malloc hands %#x out and moves %#x into the tcache unchecked"
                                 % (victim, behind, victim, behind))
        except Unreadable as error:
            return MallocOutcome(None, "malloc would read unmapped memory at %s and crash" % error)

    # -- sorting the unsorted bin into large bins -----------------------------------------------

    def unsorted_filings(self, arena):
        """{large bin index: MallocOutcome} for the chunks the next unsorted scan files into a
        large bin that already holds chunks (an empty bin has no links to check)."""
        filings = {}
        head = self.snap.bin_head(arena, 1)
        try:
            victim = self.word(head + self.bk)
            for _ in range(MAX_UNSORTED_REPLAY):
                if victim == head:
                    break
                field = self.size_field(victim)
                size = field & self.geometry.size_mask
                if size >= self.geometry.min_large_size:
                    index = self.geometry.largebin_index(size)
                    if index not in filings:
                        outcome = self._file_large(arena, index, victim,
                                                   field | self.geometry.prev_inuse)
                        if outcome is not None:
                            filings[index] = outcome
                            if outcome.abort:
                                break
                victim = self.word(victim + self.bk)
        except Unreadable:
            pass
        return filings

    def _file_large(self, arena, index, victim, size):
        bin_head = self.snap.bin_head(arena, index)
        try:
            first = self.word(bin_head + self.fd)
            if first == bin_head:
                return None
            last = self.word(bin_head + self.bk)
            if size < self.size_field(last):
                # The smallest so far: linked behind the first chunk's bk_nextsize, unchecked.
                group_end = self.word(first + self.bk_nextsize)
                target = group_end + self.fd_nextsize
                return MallocOutcome(None, "sorting %#x (the smallest of its bin) is not checked: "
                                     "it writes its own address to %#x through %#x's "
                                     "bk_nextsize" % (victim, target, first))
            forward = first
            for _ in range(MAX_SKIP_STEPS):
                if size >= self.size_field(forward):
                    break
                forward = self.word(forward + self.fd_nextsize)
            else:
                return MallocOutcome(None, "the skip list of large bin %d does not end" % index)
            if size == self.size_field(forward):
                forward = self.word(forward + self.fd)
            else:
                behind = self.word(forward + self.bk_nextsize)
                if self.word(behind + self.fd_nextsize) != forward:
                    return MallocOutcome(
                        "malloc(): largebin double linked list corrupted (nextsize)",
                        "sorting %#x in front of %#x finds %#x's bk_nextsize %#x not linking back"
                        % (victim, forward, forward, behind))
            behind = self.word(forward + self.bk)
            if self.word(behind + self.fd) != forward:
                return MallocOutcome("malloc(): largebin double linked list corrupted (bk)",
                                     "sorting %#x next to %#x finds its bk %#x not linking back"
                                     % (victim, forward, behind))
            return MallocOutcome(None, "sorting %#x into large bin %d passes its checks"
                                 % (victim, index))
        except Unreadable as error:
            return MallocOutcome(None, "sorting %#x would read unmapped memory at %s and crash"
                                 % (victim, error))
