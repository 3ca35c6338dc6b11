"""`heap diff`: what the program allocated, freed or resized between two ChunkTables.

The program's view, not the allocator's: a chunk counts as held by the program when it is in use
or mmapped (chunk_table.HELD_BY_PROGRAM); a chunk in a tcache or fastbin is one the program
freed.  Chunks are matched by header address:

- allocated: held in B, and in A not held at that address;
- freed: held in A, and in B not held at that address;
- resized: held in both at the same address with different sizes (a realloc in place);
  when both tables know who allocated the chunk and it was another block (the allocation
  history's sequence numbers differ, or without them the sites), the chunk was freed and its
  address given out again: a freed and an allocated entry.

A realloc that moved the chunk is a free of the old address and an allocation at the new one.
Without the allocation history, a chunk freed and another of the same size allocated at its
address between the two stops is not seen; with it, even one allocated by the same line is.

Each entry carries the chunk's allocation site when the table has sites (B's for allocated and
resized chunks, A's for freed ones), else None; `groups` sums entries by site when any entry has
one, else by size.  Both tables are sorted by address, so matching is one merge of the two,
done by the C helper (a few milliseconds for a million chunks) or, without it, by the same loop
in Python."""

import array
import collections
import itertools

from . import native, native_scans
from .chunk_table import HELD_BY_PROGRAM, STATE_NAMES

# `address` (chunk header), `size` (B's for allocated and resized, A's for freed), `old_size`
# (A's, resized only, else None), `site` (text or None).
Change = collections.namedtuple("Change", "address size old_size site")
HeapDiff = collections.namedtuple("HeapDiff", "allocated freed resized")
# `key` (a site text, or a size), `count`, `bytes` (for resized: the bytes gained, negative
# when the chunks shrank).
Group = collections.namedtuple("Group", "key count bytes")

# bytes.translate table: a state code -> 1 when the program holds a chunk in that state.
_HELD_MARKS = bytes(1 if code < len(STATE_NAMES) and STATE_NAMES[code] in HELD_BY_PROGRAM else 0
                    for code in range(256))
NO_SITE = 0xffffffff
_SITE_NUMBER = "I" if array.array("I").itemsize == 4 else "L"


def diff(before, after):
    """The HeapDiff from the ChunkTable `before` to the ChunkTable `after`: a merge of the two
    address-sorted tables (native_scans.diff_rows; without the helper, the same loop in
    Python)."""
    tables = (before, after)
    columns = [(table.addresses, table.sizes, table.states.translate(_HELD_MARKS), identities)
               for table, identities in zip(tables, _identities(before, after))]
    merge = native_scans.diff_rows if native.available() else _diff_rows
    allocated_rows, freed_rows, resized_rows = merge(columns[0], columns[1], NO_SITE)
    allocated = [_change(after, row) for row in allocated_rows]
    freed = [_change(before, row) for row in freed_rows]
    resized = [_change(after, new)._replace(old_size=before.sizes[old])
               for old, new in zip(resized_rows[0::2], resized_rows[1::2])]
    return HeapDiff(allocated, freed, resized)


def _identities(before, after):
    """Per table, one number per row naming the block the chunk holds (NO_SITE: not known), or
    None: the rows the merge tells apart at one address.  The allocating call's sequence number
    when both tables have them (0: the ring lost that call), else the site."""
    if before.sites is None or after.sites is None:
        return None, None
    if before.blocks is not None and after.blocks is not None:
        columns, unknown = (before.blocks, after.blocks), 0
    else:
        columns, unknown = (before.sites, after.sites), None
    # One number per distinct key of either table, by dict and map: no Python statement per row.
    keys = dict.fromkeys(itertools.chain(*columns))
    numbers = dict(zip(keys, range(len(keys))))
    numbers[unknown] = NO_SITE
    return [array.array(_SITE_NUMBER, map(numbers.__getitem__, column)) for column in columns]


def _diff_rows(before, after, no_site):
    """heapwalk_diff's merge in Python (see gdb/native/heapwalk.c)."""
    (a_addresses, a_sizes, a_held, a_sites), (b_addresses, b_sizes, b_held, b_sites) = \
        before, after
    a_rows = list(itertools.compress(range(len(a_addresses)), a_held))
    b_rows = list(itertools.compress(range(len(b_addresses)), b_held))
    allocated, freed, resized = array.array("Q"), array.array("Q"), array.array("Q")
    i = j = 0
    while i < len(a_rows) or j < len(b_rows):
        a = a_rows[i] if i < len(a_rows) else None
        b = b_rows[j] if j < len(b_rows) else None
        if b is None or (a is not None and a_addresses[a] < b_addresses[b]):
            freed.append(a)
            i += 1
        elif a is None or b_addresses[b] < a_addresses[a]:
            allocated.append(b)
            j += 1
        else:
            if a_sites is not None and b_sites is not None and a_sites[a] != b_sites[b] and \
                    no_site not in (a_sites[a], b_sites[b]):
                freed.append(a)
                allocated.append(b)
            elif a_sizes[a] != b_sizes[b]:
                resized.extend((a, b))
            i += 1
            j += 1
    return allocated, freed, resized


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
