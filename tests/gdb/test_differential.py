"""The same sample on glibc 2.36 and on the clone must give the same heap: the JSON of
`heap chunks`, `heap bins` and `heap tcache`, with addresses as offsets from their heap start.

The glibc run preloads a library with one TLS variable, because the clone adds a TLS module to
the process, which makes pthread_create's DTV calloc 16 bytes larger (samples/known/tls_pad.c)."""

import pytest

from conftest import CLONE_VARIANTS, require_variant


def _heap_starts(chunks_json):
    """[(start, end, (arena number, heap number))] of every heap segment."""
    starts = []
    for number, arena in enumerate(chunks_json["arenas"]):
        for heap_number, heap in enumerate(arena["heaps"]):
            starts.append((heap["start"], heap["end"], (number, heap_number)))
    return starts


def _offsetter(chunks_json):
    heaps = _heap_starts(chunks_json)

    def offset(address):
        for start, end, name in heaps:
            if start <= address < end:
                return (name, address - start)
        return ("outside", None)
    return offset


def normalise(run):
    chunks = run.json["chunks"]
    offset = _offsetter(chunks)
    arenas = [[(offset(c["address"]), c["size"], tuple(c["flags"]), c["state"])
               for c in arena["chunks"]] for arena in chunks["arenas"]]
    mmapped = sorted(c["size"] for c in chunks["mmapped"])
    bins = []
    for arena in run.json["bins"]["arenas"]:
        entry = {"main": arena["main"], "unsorted": [offset(c) for c in arena["unsorted"]]}
        for key, label in (("fastbins", "size"), ("smallbins", "size"), ("largebins", "index")):
            entry[key] = [(chain[label], [offset(c) for c in chain["chunks"]])
                          for chain in arena[key]]
        bins.append(entry)
    tcaches = [[(b["size"], b["count"], [offset(c) for c in b["chunks"]]) for b in t["bins"]]
               for t in run.json["bins"]["tcache"]]
    return {"arenas": arenas, "mmapped": mmapped, "bins": bins, "tcache": tcaches,
            "complete": chunks["complete"]}


@pytest.mark.parametrize("variant", CLONE_VARIANTS)
def test_clone_heap_equals_glibc_heap(runner, variant):
    require_variant("glibc-tls-pad")
    require_variant(variant)
    glibc = normalise(runner.live("every_bin", "glibc-tls-pad"))
    clone = normalise(runner.live("every_bin", variant))
    for key in ("complete", "mmapped", "tcache", "bins", "arenas"):
        assert clone[key] == glibc[key], key
