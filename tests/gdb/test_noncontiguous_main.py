"""A main arena that went on in mmapped memory when sbrk failed (samples/known/sbrk_blocked.c):
every segment walked, live and from a gcore'd core, on glibc 2.36 and on the clone, checked
against the sample's own record and mallinfo2, and the clone's heap equal to glibc's."""

import pytest

from conftest import sample_run
from known_heap import (assert_recorded_chunk, assert_totals_match_mallinfo2, assert_walk_covers,
                        chunks_inside, main_arena)

SAMPLE = "sbrk_blocked"
VARIANTS = ("glibc", "preload")
SOURCES = ("live", "gcore")
NONCONTIGUOUS = 2
FENCEPOST = 16


def get_run(runner, source, variant):
    return sample_run(runner, SAMPLE, source, variant)


def segment_of(heaps, address):
    for heap in heaps:
        if heap["start"] <= address < heap["end"]:
            return heap
    return None


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_every_segment_is_listed(runner, source, variant):
    run = get_run(runner, source, variant)
    arena = next(a for a in run.json["arenas"]["arenas"] if a["main"])
    assert arena["flags"] & NONCONTIGUOUS, "sbrk was not blocked: the test would prove nothing"
    assert arena["heap_problem"] is None, arena["heap_problem"]
    heaps = arena["heaps"]
    assert [heap["kind"] for heap in heaps] == ["sbrk"] + ["mmap"] * (len(heaps) - 1)
    assert len(heaps) >= 4
    # The newest segment (top's) is listed last; system_mem counts every segment whole.
    assert heaps[-1]["start"] <= arena["top"] < heaps[-1]["end"]
    assert arena["top"] + arena["top_size"] == heaps[-1]["end"]
    sbrk_base = run.json["mp"]["mp_"]["sbrk_base"]
    held = (heaps[0]["end"] - sbrk_base) + sum(h["end"] - h["start"] for h in heaps[1:])
    assert held == arena["system_mem"]
    assert run.json["chunks"]["complete"] is True, run.json["chunks"].get("problem")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_each_segment_is_walked_whole(runner, source, variant):
    run = get_run(runner, source, variant)
    arena = main_arena(run.json["chunks"])
    chunks = sorted(arena["chunks"], key=lambda c: c["address"])
    heaps = arena["heaps"]
    for chunk in chunks:
        assert segment_of(heaps, chunk["address"]) is not None, chunk
    for heap in heaps:
        inside = assert_walk_covers(heap, chunks)
        if heap is heaps[-1]:
            assert inside[-1]["state"] == "top"
        else:
            assert [c["size"] for c in inside[-2:]] == [FENCEPOST, FENCEPOST], hex(heap["start"])
    for chunk in run.json["chunks"]["mmapped"]:
        for heap in heaps:
            assert chunk["address"] + chunk["size"] <= heap["start"] or \
                chunk["address"] >= heap["end"], (chunk, heap)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_every_recorded_chunk_has_its_state(runner, source, variant):
    run = get_run(runner, source, variant)
    arena = main_arena(run.json["chunks"])
    found = {c["address"]: c for c in arena["chunks"]}
    found.update((c["address"], dict(c, state="mmapped")) for c in run.json["chunks"]["mmapped"])
    heaps = arena["heaps"]
    assert len(run.record.chunks) > 90
    in_mmapped_segments = 0
    for entry in run.record.chunks:
        header = assert_recorded_chunk(entry, found)
        segment = segment_of(heaps, header)
        in_mmapped_segments += segment is not None and segment["kind"] == "mmap"
    assert in_mmapped_segments > 50, "the record hardly reaches the mmapped segments"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_totals_match_mallinfo2(runner, source, variant):
    run = get_run(runner, source, variant)
    info = run.record.mallinfo
    fast, mmapped = assert_totals_match_mallinfo2(run)
    walked_free = sum(size * count for size, count in _histogram(run, "fastbin", "unsorted",
                                                                  "smallbin", "largebin", "top"))
    assert len(fast) > 0
    assert info["fordblks"] == walked_free
    assert len(mmapped) > 0


def _histogram(run, *states):
    """[(size, count)] of the walked chunks in `states`, from `heap chunks --summary --json`."""
    return [(e["size"], e["count"]) for e in run.json["histogram"]["summary"]
            if e["state"] in states]


@pytest.mark.parametrize("variant", VARIANTS)
def test_cores_show_the_live_heap(runner, variant):
    live = get_run(runner, "live", variant)
    core = get_run(runner, "gcore", variant)
    for name in ("chunks", "bins", "arenas", "top", "mp", "check"):
        assert core.json[name] == live.json[name], name


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_check_finds_the_heap_healthy(runner, source, variant):
    run = get_run(runner, source, variant)
    assert run.json["check"] == {"ok": True, "findings": []}, run.json["check"]


def as_offsets(run):
    """Each segment as (kind, size, [(offset, size, flags, state)]), and every listed free chunk
    as (segment number, offset): addresses of mappings differ between the runs, layouts not."""
    arena = main_arena(run.json["chunks"])
    heaps = arena["heaps"]

    def offset(address):
        for number, heap in enumerate(heaps):
            if heap["start"] <= address < heap["end"]:
                return number, address - heap["start"]
        return "outside", None
    segments = []
    for heap in heaps:
        inside = [(c["address"] - heap["start"], c["size"], tuple(c["flags"]), c["state"])
                  for c in chunks_inside(heap, arena["chunks"])]
        segments.append((heap["kind"], heap["end"] - heap["start"], inside))
    bins = run.json["bins"]["arenas"][0]
    listed = {"unsorted": [offset(c) for c in bins["unsorted"]]}
    for key in ("fastbins", "smallbins", "largebins"):
        listed[key] = [[offset(c) for c in chain["chunks"]] for chain in bins[key]]
    listed["tcache"] = [[offset(c) for c in b["chunks"]] for t in run.json["bins"]["tcache"]
                        for b in t["bins"]]
    mmapped = sorted(c["size"] for c in run.json["chunks"]["mmapped"])
    return segments, listed, mmapped


def test_clone_heap_equals_glibc_heap(runner):
    glibc = as_offsets(get_run(runner, "live", "glibc"))
    clone = as_offsets(get_run(runner, "live", "preload"))
    assert len(clone[0]) == len(glibc[0])
    for number, (mine, theirs) in enumerate(zip(clone[0], glibc[0])):
        assert mine == theirs, "segment %d differs" % number
    assert clone[1] == glibc[1]
    assert clone[2] == glibc[2]
