"""The extension against the sample's own record and mallinfo2, live, from a gcore'd core and
from a core left by a crash, on glibc 2.36 and on the clone (preloaded, linked, static)."""

import pytest

from conftest import VARIANTS, require_variant

SOURCES = ("live", "gcore", "crash")
HEADER = 16


def get_run(runner, source, variant):
    require_variant(variant)
    return getattr(runner, source)("every_bin", variant)


def all_chunks(chunks_json):
    """{header address: (chunk dict, arena dict)} over every arena, plus mmapped chunks."""
    found = {}
    for arena in chunks_json["arenas"]:
        for chunk in arena["chunks"]:
            found[chunk["address"]] = (chunk, arena)
    for chunk in chunks_json["mmapped"]:
        found[chunk["address"]] = (dict(chunk, state="mmapped"), None)
    return found


def thread_arenas(run):
    """{LWP: arena address} from the summary's per-thread TLS."""
    return {t["thread"]: t["arena"] for t in run.json["summary"]["threads"]}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("source", SOURCES)
def test_every_recorded_chunk_has_its_state(runner, source, variant):
    run = get_run(runner, source, variant)
    assert run.json["chunks"] is not None, run.output[-3000:]
    assert run.json["chunks"]["complete"] is True
    chunks = all_chunks(run.json["chunks"])
    arenas_of = thread_arenas(run)
    assert len(run.record.chunks) > 60
    for entry in run.record.chunks:
        header = entry["user"] - HEADER
        assert header in chunks, "record chunk %#x not found" % header
        chunk, arena = chunks[header]
        assert chunk["state"] == entry["state"], (hex(header), chunk, entry)
        assert chunk["size"] >= entry["request"] + 8
        if arena is not None:
            assert arena["address"] == arenas_of[entry["lwp"]], hex(header)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("source", SOURCES)
def test_bins_list_every_freed_chunk_in_its_owner(runner, source, variant):
    run = get_run(runner, source, variant)
    bins = run.json["bins"]
    tcache_of = {t["thread"]: set(c for b in t["bins"] for c in b["chunks"]) for t in bins["tcache"]}
    listed = {}
    for arena in bins["arenas"]:
        for key in ("fastbins", "smallbins", "largebins"):
            for chain in arena[key]:
                for chunk in chain["chunks"]:
                    listed[chunk] = (key[:-1], arena["address"])
        for chunk in arena["unsorted"]:
            listed[chunk] = ("unsorted", arena["address"])
    arenas_of = thread_arenas(run)
    expected_threads = [run.record.main] + run.record.threads
    assert sorted(tcache_of) == sorted(expected_threads)
    for entry in run.record.chunks:
        header = entry["user"] - HEADER
        if entry["state"] == "tcache":
            assert header in tcache_of[entry["lwp"]], hex(header)
        elif entry["state"] in ("fastbin", "smallbin", "largebin", "unsorted"):
            assert listed.get(header) == (entry["state"], arenas_of[entry["lwp"]]), hex(header)
        else:
            assert header not in listed and all(header not in s for s in tcache_of.values())
    for thread in bins["tcache"]:
        for chain in thread["bins"]:
            assert chain["count"] == len(chain["chunks"])


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("source", SOURCES)
def test_totals_match_mallinfo2(runner, source, variant):
    run = get_run(runner, source, variant)
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
    assert any(c["prev_size"] for c in chunks["mmapped"]), "the memaligned chunk is missing"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cores_show_the_live_heap(runner, variant):
    live = get_run(runner, "live", variant)
    core = get_run(runner, "gcore", variant)
    for name in ("chunks", "bins", "arenas", "top", "mp"):
        assert core.json[name] == live.json[name], name


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_heap_walk_covers_each_heap_exactly(runner, variant):
    run = get_run(runner, "live", variant)
    for arena in run.json["chunks"]["arenas"]:
        chunks = sorted(arena["chunks"], key=lambda c: c["address"])
        for heap in arena["heaps"]:
            inside = [c for c in chunks if heap["start"] <= c["address"] < heap["end"]]
            assert inside[0]["address"] == heap["start"]
            for before, after in zip(inside, inside[1:]):
                assert before["address"] + before["size"] == after["address"]
            assert inside[-1]["address"] + inside[-1]["size"] == heap["end"]
        assert chunks[-1]["state"] == "top"
