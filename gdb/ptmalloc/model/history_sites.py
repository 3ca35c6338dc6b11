"""Where each chunk of a table was last allocated, from the allocation history (history.py): the
sites `heap snapshot` saves and `heap diff` groups by.

A chunk's site is that of the newest recorded call that handed out a pointer inside it (a malloc
of any kind, or the realloc that moved a block into it; one that resized a block where it was
keeps the block's site, so `heap diff` sees a resize, not a free and a new allocation). Nothing
can hand out a pointer inside a chunk the program still holds, so for a held chunk that call is
its own allocation. A chunk whose allocation the ring no longer holds (or any chunk, with
history off) has no site.

Each site comes with the sequence number of the call that allocated the block (the block's
identity: `heap diff` tells a block freed and another allocated at its address from the same
line apart by it), or 0 when the ring does not hold that call: a block whose in-place realloc
is the oldest call the ring still holds about it."""

import array
import bisect

from ..errors import HeapError
from ..target import code_sites
from . import history


def allocation_sites(addresses, sizes):
    """One site text ("file.c:LINE (function)") or None per chunk of a table (chunk headers in
    address order, and their sizes)."""
    return allocations(addresses, sizes)[0] or [None] * len(addresses)


def allocations(addresses, sizes):
    """([site text or None], array('Q') of allocating sequence numbers, 0 when not known), one
    per chunk of a table (chunk headers in address order, and their sizes); (None, None) when
    the history names no chunk of it (off, damaged or empty: ten million rows of nothing are
    not made)."""
    columns = []  # [sites, blocks], made when the first event names a chunk
    namer = code_sites.SiteNamer()

    def take(event):  # oldest first: a newer allocation of the same chunk wins
        if not event.ptr or (event.op not in history.ALLOCATING and event.op != "realloc"):
            return
        row = bisect.bisect_right(addresses, event.ptr) - 1
        if row < 0 or event.ptr >= addresses[row] + sizes[row]:
            return
        if not columns:
            columns.extend(([None] * len(addresses), array.array("Q", bytes(8 * len(addresses)))))
        sites, blocks = columns
        in_place = event.op == "realloc" and event.ptr == event.old_ptr
        if in_place and sites[row] is not None:
            return  # resized where it was: still the block its first allocation made
        sites[row] = code_sites.describe(namer.site(event.caller))
        blocks[row] = 0 if in_place else event.seq

    try:
        history.current(sink=take)  # the ring streamed: it may hold millions of calls
    except HeapError:
        pass  # a damaged ring names no site; `heap history` says why
    return tuple(columns) if columns else (None, None)
