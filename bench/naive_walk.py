"""The slow way, for comparison: `bench-naive-walk` walks every chunk of every heap reading each
header field through its own gdb.Value (prev_size, size, fd, bk), the way a straightforward gdb
script would.  Heap segment bounds come from the extension (finding them is not the walk being
compared); the walk itself uses only gdb.Value.  It records the chunk count and a size histogram
checksum to $BENCH_TIMINGS so the driver can check both walks saw the same heap."""

import json
import os
import time

import gdb


def _segments():
    from ptmalloc import walk
    snap = walk.snapshot()
    return [(arena.top, segment.start, segment.end) for arena in snap.arenas
            for segment in arena.heaps]


class NaiveWalk(gdb.Command):
    """bench-naive-walk: per-field gdb.Value walk of every heap (see bench/naive_walk.py)."""

    def __init__(self):
        super().__init__("bench-naive-walk", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        segments = _segments()
        chunk_pointer = gdb.lookup_type("struct malloc_chunk").pointer()
        start_time = time.perf_counter()
        cpu_start = time.process_time()
        count = 0
        size_total = 0
        free_links = 0
        for top, start, end in segments:
            address = start
            while start <= address < end:
                chunk = gdb.Value(address).cast(chunk_pointer).dereference()
                int(chunk["mchunk_prev_size"])
                size = int(chunk["mchunk_size"]) & ~7
                # fd and bk are what a walker shows for a free chunk; read them for all.
                free_links ^= int(chunk["fd"]) ^ int(chunk["bk"])
                count += 1
                size_total += size
                if address == top or size == 0:
                    break
                address += size
        elapsed = time.perf_counter() - start_time
        entry = {"label": argument.strip() or "naive-walk", "seconds": elapsed,
                 "cpu_seconds": time.process_time() - cpu_start,
                 "chunks": count, "bytes": size_total, "field_reads": 4 * count}
        path = os.environ.get("BENCH_TIMINGS")
        if path:
            with open(path, "a") as handle:
                handle.write(json.dumps(entry) + "\n")
        gdb.write("naive walk: %d chunks, %d bytes in %.2f s\n" % (count, size_total, elapsed))


NaiveWalk()
