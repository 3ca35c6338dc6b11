"""Finding a segment's chunks again past a damaged header.

A segment's chunks are found by following size fields from its first chunk, so one bad header
hides every chunk after it.  They can be found again: a header is *proved* when following size
fields from it lands exactly on a chunk known from elsewhere (an anchor: the arena's top, a chunk
a bin lists, the segment's end) with every step a possible chunk size.  User data that only looks
like size fields almost never chains onto an anchor, so the first proved header after the damage
is where the walk resumes, and what lies between is a gap the listing must admit to.

Plain Python over the segment's words, no gdb: it runs only when a walk has broken."""

import bisect


class ChainRules:
    """What a step of the walk may be, in words of 8 bytes from the segment's start: a size of
    at least `min_words` and a multiple of `align_words`, a header on the alignment grid, no
    step past `limit`, and a next header that, when its `prev_inuse` bit says this chunk is
    free, holds this chunk's size as its prev_size (word `prev_size_index` of a header).  A stale
    header left in a chunk's data by an earlier chunk fails that last test far more often than
    not: its successor was not written for it."""

    def __init__(self, words, size_index, size_mask, min_words, align_words, grid, limit,
                 prev_size_index=0, prev_inuse=0):
        self.words = words
        self.size_index = size_index
        self.size_mask = size_mask
        self.min_words = min_words
        self.align_words = align_words
        self.grid = grid
        self.limit = limit
        self.prev_size_index = prev_size_index
        self.prev_inuse = prev_inuse

    @classmethod
    def of_segment(cls, words, start, geometry):
        """The rules of the segment of `words` at address `start`, from a Geometry: headers lie
        where user pointers are aligned, and no step leaves the segment."""
        return cls(words, geometry.size_offset >> 3, geometry.size_mask,
                   geometry.min_chunk_size >> 3, geometry.alignment >> 3,
                   ((-start) % geometry.alignment) >> 3, len(words),
                   geometry.prev_size_offset >> 3, geometry.prev_inuse)

    def agrees_with(self, position, walked):
        """Whether the header at `position`, when it says the chunk before it is free, names as
        that chunk one of `walked` ({position: size in words}) with its size, or none of them."""
        if not self.prev_inuse or position + self.size_index >= len(self.words) or \
                self.words[position + self.size_index] & self.prev_inuse:
            return True
        previous_words = self.words[position + self.prev_size_index] >> 3
        known = walked.get(position - previous_words)
        return known is None or known == previous_words

    def step(self, position):
        """The position of the next header, or None when this header's size cannot be one."""
        index = position + self.size_index
        if index >= len(self.words):
            return None
        size_words = (self.words[index] & self.size_mask) >> 3
        if size_words < self.min_words or size_words % self.align_words:
            return None
        following = position + size_words
        if following > self.limit:
            return None
        if self.prev_inuse and following + self.size_index < len(self.words) and \
                not self.words[following + self.size_index] & self.prev_inuse and \
                self.words[following + self.prev_size_index] != size_words << 3:
            return None
        return following


def resume_position(rules, first, anchors, walked=None):
    """The first position at or after `first`, on the grid, whose chain reaches an anchor (a set
    of positions), or None.  Every position is followed at most once over all candidates (what a
    chain proved or refuted is remembered), so the search costs time linear in the gap.
    `walked` ({position: size in words} of the headers the walk read before its break) refutes
    a candidate that calls one of them free with another size."""
    proved = {}
    candidate = first + (rules.grid - first) % rules.align_words
    while candidate < rules.limit:
        if rules.agrees_with(candidate, walked or {}) and \
                _reaches_anchor(rules, candidate, anchors, proved):
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


class ResumedWalk:
    """A walk rebuilt past its breaks: `positions` and `fields` of every row it could read,
    `gaps` [(first position not read, position read again, position of the bad header)],
    `overruns` [(row, position of the next header proved)] for rows whose size runs past the
    next header proved, `resumed` (rows that start a run after a break), and `stopped` (the
    position of a bad header past which nothing could be proved, or None)."""

    def __init__(self):
        self.positions, self.fields = [], []
        self.gaps, self.overruns, self.resumed = [], [], []
        self.stopped = None


def resume_walk(rules, positions, fields, bad_row, anchors, follow):
    """Rebuilds a walk that broke at `bad_row` of the run `positions`/`fields` (pass one's
    output).  Past each break the walk resumes at the first header proved after the end of the
    last anchor the run passed (or of the run's first chunk), keeping the run's rows before that header, and
    goes on with `follow(position)`, which walks from a header and returns (positions, fields,
    bad row or None).  Returns a ResumedWalk, or None when nothing past the first break could be
    proved (the walk then stops there as before)."""
    walk = ResumedWalk()
    for _ in range(_MAX_BREAKS):
        if bad_row is None:
            walk.positions += positions
            walk.fields += fields
            return walk
        passed = [row for row in range(bad_row) if positions[row] in anchors]
        search_from = _past_known_chunk(rules, positions[passed[-1] if passed else 0])
        walked = {position: (field & rules.size_mask) >> 3
                  for position, field in zip(positions[:bad_row], fields[:bad_row])}
        resume = resume_position(rules, search_from, anchors, walked)
        if resume is None:
            if not walk.resumed:
                return None
            walk.positions += positions[:bad_row]
            walk.fields += fields[:bad_row]
            walk.stopped = positions[bad_row]
            return walk
        # The bad header and whatever the walk read after it are not chunks.
        keep = min(bisect.bisect_left(positions, resume), bad_row)
        walk.positions += positions[:keep]
        walk.fields += fields[:keep]
        if walk.positions:
            last = len(walk.positions) - 1
            end = walk.positions[last] + ((walk.fields[last] & rules.size_mask) >> 3)
            if end > resume:
                walk.overruns.append((last, resume))
            elif end < resume:
                bad = positions[bad_row] if bad_row < len(positions) else end
                walk.gaps.append((end, resume, bad))
        elif resume > 0:
            walk.gaps.append((0, resume, positions[bad_row] if bad_row < len(positions) else 0))
        walk.resumed.append(len(walk.positions))
        positions, fields, bad_row = follow(resume)
    return None


def _past_known_chunk(rules, position):
    """Where to look for the next header after the known chunk at `position` (an anchor, or the
    run's first chunk): past its end when its size can be a chunk's, for no header lies inside
    it (stale sizes left there by earlier chunks would chain onto anchors too); else just past
    its header."""
    following = rules.step(position)
    return following if following is not None else position + 1


# A walk broken more often than this is not a heap with some damage but no heap at all.
_MAX_BREAKS = 64
