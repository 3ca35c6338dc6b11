"""The extension against the sample's own record and mallinfo2, live, from a gcore'd core and
from a core left by a crash, on glibc 2.36 and on the clone (preloaded, linked, static)."""

import pytest

from conftest import VARIANTS, require_variant
from known_heap import (HEADER, assert_recorded_chunk, assert_totals_match_mallinfo2,
                        assert_walk_covers)

SOURCES = ("live", "gcore", "crash")


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
    found = {header: chunk for header, (chunk, _) in chunks.items()}
    for entry in run.record.chunks:
        header = assert_recorded_chunk(entry, found)
        arena = chunks[header][1]
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
    _, mmapped = assert_totals_match_mallinfo2(run)
    assert any(c["prev_size"] for c in mmapped), "the memaligned chunk is missing"


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
            assert_walk_covers(heap, chunks)
        assert chunks[-1]["state"] == "top"


def freed_lifo_chains(run, state):
    """{(LWP, chunk size): headers, most recently freed first} for the record's `state` chunks:
    tcache bins and fastbins are LIFO, so this is their list order from the head."""
    chains = {}
    for entry in run.record.chunks:
        if entry["state"] == state:
            size = max(32, (entry["request"] + 8 + 15) & ~15)
            chains.setdefault((entry["lwp"], size), []).insert(0, entry["user"] - HEADER)
    return chains


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("source", SOURCES)
def test_lifo_bins_list_chunks_from_the_head(runner, source, variant):
    run = get_run(runner, source, variant)
    bins = run.json["bins"]
    listed_tcache = {(t["thread"], b["size"]): b["chunks"] for t in bins["tcache"] for b in t["bins"]}
    assert listed_tcache == freed_lifo_chains(run, "tcache")
    owner = {arena: lwp for lwp, arena in thread_arenas(run).items()}
    listed_fast = {(owner[a["address"]], chain["size"]): chain["chunks"]
                   for a in bins["arenas"] for chain in a["fastbins"]}
    assert listed_fast == freed_lifo_chains(run, "fastbin")
