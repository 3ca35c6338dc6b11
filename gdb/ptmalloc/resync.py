"""Finding a segment's chunks again past a damaged header.

A segment's chunks are found by following size fields from its first chunk, so one bad header
hides every chunk after it.  They can be found again: a header is *proved* when following size
fields from it lands exactly on a chunk known from elsewhere (an anchor: the arena's top, a chunk
a bin lists, the segment's end) with every step a possible chunk size.  User data that only looks
like size fields almost never chains onto an anchor, so the first proved header after the damage
is where the walk resumes, and what lies between is a gap the listing must admit to.

Plain Python over the segment's words, no gdb: it runs only when a walk has broken."""


class ChainRules:
    """What a step of the walk may be, in words of 8 bytes from the segment's start: a size of
    at least `min_words` and a multiple of `align_words`, a header on the alignment grid, and no
    step past `limit`."""

    def __init__(self, words, size_index, size_mask, min_words, align_words, grid, limit):
        self.words = words
        self.size_index = size_index
        self.size_mask = size_mask
        self.min_words = min_words
        self.align_words = align_words
        self.grid = grid
        self.limit = limit

    def on_grid(self, position):
        return position % self.align_words == self.grid

    def step(self, position):
        """The position of the next header, or None when this header's size cannot be one."""
        index = position + self.size_index
        if index >= len(self.words):
            return None
        size_words = (self.words[index] & self.size_mask) >> 3
        if size_words < self.min_words or size_words % self.align_words:
            return None
        following = position + size_words
        return following if following <= self.limit else None


def resume_position(rules, first, anchors):
    """The first position at or after `first`, on the grid, whose chain reaches an anchor (a set
    of positions), or None.  Every position is followed at most once over all candidates (what a
    chain proved or refuted is remembered), so the search costs time linear in the gap."""
    proved = {}
    candidate = first + (rules.grid - first) % rules.align_words
    while candidate < rules.limit:
        if _reaches_anchor(rules, candidate, anchors, proved):
            return candidate
        candidate += rules.align_words
    return None


def _reaches_anchor(rules, position, anchors, proved):
    path = []
    outcome = False
    while True:
        if position in anchors:
            outcome = True
            break
        known = proved.get(position)
        if known is not None:
            outcome = known
            break
        path.append(position)
        position = rules.step(position)
        if position is None:
            break
    for visited in path:
        proved[visited] = outcome
    return outcome


def overrunning_row(positions, fields, size_mask, resume_word):
    """The last row before `resume_word` whose chunk runs past it: where a size field was
    enlarged, the rows before it end at or before the resumed header and that row does not.
    Returns its index, or None."""
    for row in range(len(positions) - 1, -1, -1):
        if positions[row] >= resume_word:
            continue
        end = positions[row] + ((fields[row] & size_mask) >> 3)
        return row if end > resume_word else None
    return None
