"""The slow way, for comparison: `bench-naive-walk` computes the same result as
`heap chunks --summary` (chunk count by size and state over every heap of every arena) the way a
straightforward gdb script would, reading every field through its own gdb.Value: each chunk's
prev_size, size, fd and bk, each tcache count and entry, each bin head and each link of every
bin.  What it shares with the extension is the part that is not a walk: the arena list, the heap
segment bounds and the threads' TLS tcache pointers come from the extension, inside the timed
region, so both sides pay for them.  Mmapped chunks are left out (the extension counts them;
the driver compares the heap states only).  The histogram goes to $BENCH_TIMINGS so the driver
can check that both sides reached the same result on the same heap."""

import json
import os
import time

import gdb

_MAX_LINKS = 10_000_000


def _snapshot():
    from ptmalloc.model import snapshot
    snap = snapshot.current()
    arenas = [(arena.address, arena.top, [(s.start, s.end) for s in arena.heaps])
              for arena in snap.arenas]
    tcaches = [values.get("tcache") or 0 for _t, values, _e in snap.allocator.thread_values()]
    return arenas, tcaches


def _follow(first, end, next_of):
    """Addresses of a list from `first` until `end` or a repeat, bounded."""
    seen = []
    known = set()
    address = first
    while address and address != end and address not in known and len(seen) < _MAX_LINKS:
        seen.append(address)
        known.add(address)
        address = next_of(address)
    return seen


class NaiveWalk(gdb.Command):
    """bench-naive-walk: per-field gdb.Value histogram of every heap (see bench/naive_walk.py)."""

    def __init__(self):
        super().__init__("bench-naive-walk", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        start_time = time.perf_counter()
        cpu_start = time.process_time()
        arenas, tcaches = _snapshot()
        chunk_pointer = gdb.lookup_type("struct malloc_chunk").pointer()
        state_pointer = gdb.lookup_type("struct malloc_state").pointer()
        tcache_pointer = gdb.lookup_type("struct tcache_perthread_struct").pointer()
        entry_pointer = gdb.lookup_type("struct tcache_entry").pointer()

        def chunk(address):
            return gdb.Value(address).cast(chunk_pointer).dereference()

        def reveal(slot, stored):
            return (slot >> 12) ^ stored

        def tcache_next(user):
            link = gdb.Value(user).cast(entry_pointer).dereference()["next"]
            return reveal(int(link.address), int(link))

        def fast_next(address):
            fd = chunk(address)["fd"]
            return reveal(int(fd.address), int(fd))

        state_of = {}
        for tcache in tcaches:
            if not tcache:
                continue
            perthread = gdb.Value(tcache).cast(tcache_pointer).dereference()
            for index in range(64):
                head = int(perthread["entries"][index])
                for user in _follow(head, 0, tcache_next):
                    state_of.setdefault(user - 16, "tcache")
        for address, _top, _heaps in arenas:
            state = gdb.Value(address).cast(state_pointer).dereference()
            for index in range(10):
                for entry in _follow(int(state["fastbinsY"][index]), 0, fast_next):
                    state_of.setdefault(entry, "fastbin")
            for index in range(1, 128):
                head = int(state["bins"][2 * index - 2].address) - 16
                kind = "unsorted" if index == 1 else "smallbin" if index < 64 else "largebin"
                for entry in _follow(int(state["bins"][2 * index - 2]), head,
                                     lambda a: int(chunk(a)["fd"])):
                    state_of.setdefault(entry, kind)

        histogram = {}
        count = 0
        free_links = 0
        for _address, top, heaps in arenas:
            for start, end in heaps:
                address = start
                previous = None
                while start <= address < end:
                    fields = chunk(address)
                    int(fields["mchunk_prev_size"])
                    size_field = int(fields["mchunk_size"])
                    size = size_field & ~7
                    # fd and bk are what a walker shows for a free chunk; read them for all.
                    free_links ^= int(fields["fd"]) ^ int(fields["bk"])
                    if previous is not None:
                        previous_state = state_of.get(previous[0])
                        if previous_state is None:
                            previous_state = "in-use" if size_field & 1 else "free"
                        key = (previous[1], previous_state)
                        histogram[key] = histogram.get(key, 0) + 1
                        previous = None
                    if address == top:
                        histogram[(size, "top")] = histogram.get((size, "top"), 0) + 1
                        count += 1
                        break
                    if size == 0:
                        break
                    previous = (address, size)
                    count += 1
                    address += size
                if previous is not None:
                    state = state_of.get(previous[0], "in-use")
                    histogram[(previous[1], state)] = histogram.get((previous[1], state), 0) + 1
        elapsed = time.perf_counter() - start_time
        entry = {"label": argument.strip() or "naive-walk", "seconds": elapsed,
                 "cpu_seconds": time.process_time() - cpu_start, "chunks": count,
                 "histogram": sorted([size, state, number]
                                     for (size, state), number in histogram.items())}
        path = os.environ.get("BENCH_TIMINGS")
        if path:
            with open(path, "a") as handle:
                handle.write(json.dumps(entry) + "\n")
        gdb.write("naive walk: %d chunks in %.2f s\n" % (count, elapsed))


NaiveWalk()
