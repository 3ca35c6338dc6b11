"""Assertions shared by the suites that hold a known sample's heap (every_bin, sbrk_blocked,
big_sbrk) against its record: the same facts must hold whichever sample staged the heap, so they
are written once here and each suite adds what is particular to its sample."""

HEADER = 16  # user pointer - chunk header


def main_arena(document):
    """The main arena's entry of a --json document's `arenas`."""
    return next(arena for arena in document["arenas"] if arena["main"])


def chunks_inside(heap, chunks):
    """The chunks whose header lies in [heap start, heap end), in the order given."""
    return [c for c in chunks if heap["start"] <= c["address"] < heap["end"]]


def assert_walk_covers(heap, chunks):
    """The walked chunks of `heap` (sorted by address) tile it from start to end, no gap."""
    inside = chunks_inside(heap, chunks)
    assert inside[0]["address"] == heap["start"]
    for before, after in zip(inside, inside[1:]):
        assert before["address"] + before["size"] == after["address"]
    assert inside[-1]["address"] + inside[-1]["size"] == heap["end"]
    return inside


def assert_recorded_chunk(entry, found):
    """One record entry against {header: chunk}: present, in its state, big enough; returns
    the chunk's header address."""
    header = entry["user"] - HEADER
    assert header in found, "record chunk %#x not found" % header
    chunk = found[header]
    assert chunk["state"] == entry["state"], (hex(header), chunk, entry)
    assert chunk["size"] >= entry["request"] + 8
    return header


def assert_totals_match_mallinfo2(run):
    """mallinfo2's totals recomputed from `heap arenas`, `heap bins` and `heap chunks`; returns
    (fastbin chunks, mmapped chunks) for checks of the caller's own."""
    info = run.record.mallinfo
    arenas = run.json["arenas"]["arenas"]
    bins = run.json["bins"]["arenas"]
    chunks = run.json["chunks"]
    sizes = {c["address"]: c["size"] for a in chunks["arenas"] for c in a["chunks"]}
    fast = [c for a in bins for chain in a["fastbins"] for c in chain["chunks"]]
    regular = [c for a in bins for c in a["unsorted"]] + [
        c for a in bins for key in ("smallbins", "largebins") for chain in a[key]
        for c in chain["chunks"]]
    tops = sum(a["top_size"] for a in arenas)
    assert info["arena"] == sum(a["system_mem"] for a in arenas)
    assert info["smblks"] == len(fast)
    assert info["fsmblks"] == sum(sizes[c] for c in fast)
    assert info["ordblks"] == len(regular) + len(arenas)
    assert info["fordblks"] == tops + sum(sizes[c] for c in fast + regular)
    assert info["uordblks"] == info["arena"] - info["fordblks"]
    assert info["keepcost"] == next(a["top_size"] for a in arenas if a["main"])
    assert info["hblks"] == len(chunks["mmapped"])
    # A memaligned chunk's mapping starts prev_size bytes before its header.
    assert info["hblkhd"] == sum(c["size"] + c["prev_size"] for c in chunks["mmapped"])
    return fast, chunks["mmapped"]
