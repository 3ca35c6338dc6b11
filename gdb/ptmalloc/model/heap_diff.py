"""`heap diff`: what the program allocated, freed or resized between two ChunkTables.

The program's view, not the allocator's: a chunk counts as held by the program when it is in use
or mmapped (chunk_table.HELD_BY_PROGRAM); a chunk in a tcache or fastbin is one the program
freed.  Chunks are matched by header address:

- allocated: held in B, and in A not held at that address;
- freed: held in A, and in B not held at that address;
- resized: held in both at the same address with different sizes (a realloc in place);
  when both tables know the chunk's site and the sites differ, the chunk was freed and its
  address given out again by other code: a freed and an allocated entry.

A realloc that moved the chunk is a free of the old address and an allocation at the new one;
a chunk freed and another of the same size allocated at its address between the two stops is
not seen (the allocation history, when recorded, tells these apart).

Each entry carries the chunk's allocation site when the table has sites (B's for allocated and
resized chunks, A's for freed ones), else None; `groups` sums entries by site when any entry has
one, else by size.  Matching goes through dicts of the held chunks' addresses, built and
compared in C by Python's own set operations: linear in the chunks, a second or so for a
million."""

import collections
import itertools

from .chunk_table import HELD_BY_PROGRAM, STATE_NAMES

# `address` (chunk header), `size` (B's for allocated and resized, A's for freed), `old_size`
# (A's, resized only, else None), `site` (text or None).
Change = collections.namedtuple("Change", "address size old_size site")
HeapDiff = collections.namedtuple("HeapDiff", "allocated freed resized")
# `key` (a site text, or a size), `count`, `bytes` (for resized: the bytes gained, negative
# when the chunks shrank).
Group = collections.namedtuple("Group", "key count bytes")

_HELD_CODES = frozenset(code for code, name in enumerate(STATE_NAMES) if name in HELD_BY_PROGRAM)


def held(table):
    """{chunk header: row} of the chunks `table`'s program holds."""
    marks = bytes(map(_HELD_CODES.__contains__, table.states))
    return dict(zip(itertools.compress(table.addresses, marks),
                    itertools.compress(range(len(table)), marks)))


def diff(before, after):
    """The HeapDiff from the ChunkTable `before` to the ChunkTable `after`."""
    held_before, held_after = held(before), held(after)
    only_after = held_after.keys() - held_before.keys()
    only_before = held_before.keys() - held_after.keys()
    both = held_after.keys() & held_before.keys()
    allocated = [_change(after, held_after[address]) for address in sorted(only_after)]
    freed = [_change(before, held_before[address]) for address in sorted(only_before)]
    resized = []
    for address in sorted(both):
        old_row, new_row = held_before[address], held_after[address]
        old, new = _change(before, old_row), _change(after, new_row)
        if old.site != new.site and old.site is not None and new.site is not None:
            # Allocated by other code: the chunk was freed and its address given out again.
            freed.append(old)
            allocated.append(new)
        elif old.size != new.size:
            resized.append(new._replace(old_size=old.size))
    allocated.sort()
    freed.sort()
    return HeapDiff(allocated, freed, resized)


def _change(table, row):
    site = table.sites[row] if table.sites is not None else None
    return Change(table.addresses[row], table.sizes[row], None, site)


def by_site(changes):
    """Whether `changes` are grouped by site: some entry has one."""
    return any(change.site is not None for change in changes)


def groups(changes, resized=False):
    """[Group] of `changes` by site (entries with none under None) when any has one, else by
    size (for resized chunks, by old and new size), the most bytes first."""
    sited = by_site(changes)
    counts, totals = collections.Counter(), collections.Counter()
    for change in changes:
        if sited:
            key = change.site
        elif resized:
            key = (change.old_size, change.size)
        else:
            key = change.size
        counts[key] += 1
        totals[key] += change.size - change.old_size if resized else change.size
    return sorted((Group(key, counts[key], totals[key]) for key in counts),
                  key=lambda group: (-abs(group.bytes), -group.count, str(group.key)))
