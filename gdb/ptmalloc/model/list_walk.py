"""Following the allocator's lists (bins, tcache bins) through one stop's memory.

Every list walk is bounded (MAX_CHAIN_LENGTH) and finds cycles; a walk that cannot go on says
why as a Problem.  The tight loop runs in C when the helper is built (native.follow) and in
Python otherwise, with the same answers."""

import array

from .. import constants as C
from ..errors import HeapReadError
from . import native, native_live, problems


def broken_link(address, positions, steps, alignment_mask):
    """Why a list walk cannot step on to `address` after `steps` entries, or None if it can."""
    if address in positions:
        return problems.cycle(address)
    if not address:
        return problems.null_link(steps)
    if address & alignment_mask:
        return problems.misaligned(address)
    return None


class ListWalker:
    """Follows linked lists in `memory` (the stop's Memory) with the target's `geometry`: a
    question is (address, link offset, safe-linked, end, aligned)."""

    def __init__(self, memory, geometry):
        self.memory = memory
        self.geometry = geometry

    def _alignment_mask(self, aligned):
        return self.geometry.alignment_mask if aligned else 0

    def follow_all(self, questions):
        """_follow for each (address, link_offset, safe_linked, end, aligned, back_offset) of
        `questions`, in order: (entries, problem, back links agreed).  With the C helper, the
        lists' first runs are taken all at once (native.follow_many), so that their waits for
        memory overlap, and a doubly linked list's back links (the word back_offset bytes into
        each entry; None: not checked) are checked on the way: the number of entries from the
        first on whose back link names the entry before them, else None."""
        if not native.available():
            return [self.follow(*question[:5]) + (None,) for question in questions]
        shift, mask = self.geometry.link_shift, self._alignment_mask
        remote = native_live.remote_pages(self.memory)
        batch = []
        for number, (address, link_offset, safe_linked, end, aligned, back_offset) in \
                enumerate(questions):
            low, _high, data = self.memory.segment_around(address + link_offset)
            if (data is not None or remote is not None) and address != end:
                batch.append((number, (data, low, address, link_offset, shift(safe_linked),
                                       mask(aligned), end, C.MAX_CHAIN_LENGTH, back_offset)))
        first_runs = dict(zip([number for number, _list in batch],
                              native.follow_many([request for _number, request in batch],
                                                 self.memory.word_segments(), remote)))
        answers = []
        for number, (address, link_offset, safe_linked, end, aligned, _back) in \
                enumerate(questions):
            first_run = first_runs.get(number)
            agreed = None
            if first_run is not None and first_run[3] is not None:
                agreed = min(first_run[3], len(first_run[0]))  # of the first run's entries
            answers.append(self._follow_native(address, link_offset, shift(safe_linked), end,
                                               mask(aligned), first_run) + (agreed,))
        return answers

    def follow(self, address, link_offset, safe_linked, end, aligned=True):
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
                run, address, stop = answer[:3]
                if seen is not None and not seen.isdisjoint(run):
                    # The list came back to an entry of an earlier run: a cycle there.
                    repeat = next(entry for entry in run if entry in seen)
                    entries.extend(run[:run.index(repeat)])
                    return entries, problems.cycle(repeat)
                if entries:
                    entries.extend(run)
                else:
                    entries = run  # the C walk's own array: most lists are one run
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
        """native.follow from `address` through the cached segment holding its link, or a
        live process's pages; None when neither holds it."""
        low, _high, data = self.memory.segment_around(address + link_offset)
        remote = native_live.remote_pages(self.memory)
        if data is None and remote is None:
            return None
        if remote is None:
            return native.follow(data, low, address, link_offset, shift, alignment_mask, end,
                                 limit)
        return native.follow_many([(data, low, address, link_offset, shift, alignment_mask, end,
                                    limit, None)], self.memory.word_segments(), remote)[0]

    def _careful_step(self, taken, address, link_offset, shift, alignment_mask):
        """Take `address` into `taken` (a dict or set of the entries so far) and read its link
        with every check: (next address, None), or (address, why the list cannot go on)."""
        problem = broken_link(address, taken, len(taken), alignment_mask)
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
        return (broken_link(address, taken, len(taken), alignment_mask)
                or problems.too_long(len(taken)))
