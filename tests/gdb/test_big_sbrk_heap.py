"""A main arena whose one sbrk heap is larger than 1 GiB (samples/known/big_sbrk.c): the walk
reaches top at its end, every chunk the sample recorded (free ones past the 1 GiB mark among
them) is listed in its state, and the heap checks healthy; live and from a gcore'd core, on
glibc 2.36 and on the clone.  No bound of the extension's own may cut the heap short."""

import pytest

from conftest import sample_run
from known_heap import (assert_recorded_chunk, assert_totals_match_mallinfo2, assert_walk_covers,
                        main_arena)

SAMPLE = "big_sbrk"
VARIANTS = ("glibc", "preload")
SOURCES = ("live", "gcore")
GIB = 1 << 30
NONCONTIGUOUS = 2


def get_run(runner, source, variant):
    return sample_run(runner, SAMPLE, source, variant)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_the_sbrk_heap_is_one_segment_to_top(runner, source, variant):
    run = get_run(runner, source, variant)
    arena = main_arena(run.json["arenas"])
    assert not arena["flags"] & NONCONTIGUOUS
    assert arena["heap_problem"] is None, arena["heap_problem"]
    heaps = arena["heaps"]
    assert len(heaps) == 1
    heap = heaps[0]
    assert heap["end"] - heap["start"] > GIB, "the sample's heap is not over 1 GiB"
    assert heap["start"] <= arena["top"] < heap["end"]
    assert arena["top"] + arena["top_size"] == heap["end"]
    assert heap["end"] == run.json["mp"]["mp_"]["sbrk_base"] + arena["system_mem"]
    assert run.json["chunks"]["complete"] is True, run.json["chunks"].get("problem")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_every_recorded_chunk_is_listed(runner, source, variant):
    run = get_run(runner, source, variant)
    arena = main_arena(run.json["chunks"])
    chunks = sorted(arena["chunks"], key=lambda c: c["address"])
    inside = assert_walk_covers(arena["heaps"][0], chunks)
    assert inside[-1]["state"] == "top"
    found = {c["address"]: c for c in chunks}
    start = arena["heaps"][0]["start"]
    past_the_mark = 0
    for entry in run.record.chunks:
        header = assert_recorded_chunk(entry, found)
        past_the_mark += header - start > GIB and entry["state"] != "in-use"
    assert past_the_mark >= 4, "the record hardly reaches past 1 GiB"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_totals_match_mallinfo2(runner, source, variant):
    assert_totals_match_mallinfo2(get_run(runner, source, variant))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_check_finds_the_heap_healthy(runner, source, variant):
    run = get_run(runner, source, variant)
    assert run.json["check"] == {"ok": True, "findings": []}, run.json["check"]
    assert run.json["summary"] is not None
