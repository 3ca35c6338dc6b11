"""What single commands say about chosen chunks: exact bin positions, decoded links, the tcache
key, the --arena filter and large-bin ranges; plus the `not initialised` message."""

import pytest

from conftest import (VARIANTS, binary, gdb_argv, marked, require_variant, run_gdb, sections,
                      text_key)

SOURCES = ("live", "gcore", "crash")


def get_run(runner, source, variant):
    require_variant(variant)
    return getattr(runner, source)("every_bin", variant)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("source", SOURCES)
def test_chunk_in_tcache_from_an_interior_address(runner, source, variant):
    run = get_run(runner, source, variant)
    bins = run.json["bins"]
    first_bin = bins["tcache"][0]["bins"][0]
    chunk = run.json["probe_tcache"]
    assert chunk["address"] == first_bin["chunks"][1]
    assert chunk["state"] == "tcache"
    assert chunk["bin"] == {"kind": "tcache", "index": (first_bin["size"] - 32) // 16,
                            "position": 1, "arena": None, "thread": run.record.main}
    assert chunk["links"]["next"] == first_bin["chunks"][2] + 16
    assert chunk["key_matches_tcache_key"] is True
    assert chunk["usable_size"] == chunk["size"] - 8


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("source", SOURCES)
def test_chunk_in_large_and_fast_bins(runner, source, variant):
    run = get_run(runner, source, variant)
    main = run.json["bins"]["arenas"][0]
    large = run.json["probe_large"]
    chain = main["largebins"][0]["chunks"]
    assert large["state"] == "largebin" and large["bin"]["position"] == 0
    assert large["links"]["fd"] == chain[1]
    assert large["links"]["fd_nextsize"] in chain and large["links"]["bk_nextsize"] in chain
    fast = run.json["probe_fast"]
    fast_chain = main["fastbins"][0]["chunks"]
    assert fast["state"] == "fastbin" and fast["links"]["fd"] == fast_chain[1]
    assert fast["prev_chunk"] is not None and fast["next_chunk"] is not None
    ranges = run.json["probe_large_only"]["arenas"][0]["largebins"][0]
    assert ranges["min_size"] <= large["size"] <= ranges["max_size"]
    assert "tcache" not in run.json["probe_large_only"]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_arena_filter_lists_only_that_arena(runner, variant):
    run = get_run(runner, "live", variant)
    filtered = run.json["probe_arena"]
    everything = run.json["chunks"]
    assert [a["address"] for a in filtered["arenas"]] == [everything["arenas"][-1]["address"]]
    assert filtered["arenas"][0] == everything["arenas"][-1]
    assert filtered["mmapped"] == []


def test_static_clone_before_the_first_malloc(tmp_path):
    require_variant("static")
    output = run_gdb(gdb_argv(binary("every_bin", "static"),
                              ["starti %s" % (tmp_path / "r.txt")] + marked([("a", "heap")])),
                     str(tmp_path))
    assert sections(output)["a"].strip() == \
        "heap: the allocator is not initialised yet (no malloc call so far)"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_json_limit_counts_every_chunk_it_leaves_out(runner, variant):
    """--limit N: N chunks in all (arena and mmapped), and left_out says how many more exist."""
    run = get_run(runner, "live", variant)
    everything, limited = run.json["chunks"], run.json["limited"]

    def listed(chunks_json):
        return [c["address"] for a in chunks_json["arenas"] for c in a["chunks"]] + \
            [c["address"] for c in chunks_json["mmapped"]]

    total = len(listed(everything))
    assert total > 40 + len(everything["mmapped"])
    assert listed(limited) == listed(everything)[:40]
    assert limited["left_out"] == total - 40
    assert "left_out" not in everything


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("source", SOURCES)
def test_large_bin_skip_list_links_the_first_chunk_of_each_size(runner, source, variant):
    """The skip list holds the first chunk of each size, in list order, linked in a ring by
    fd_nextsize (towards smaller) and bk_nextsize; sizes come from the independent heap walk."""
    run = get_run(runner, source, variant)
    size_of = {c["address"]: c["size"] for a in run.json["chunks"]["arenas"] for c in a["chunks"]}
    large = run.json["probe_large_only"]["arenas"][0]["largebins"][0]
    sizes = [size_of[address] for address in large["chunks"]]
    assert len(set(sizes)) < len(sizes), "the sample puts two chunks of one size in this bin"
    heads = [address for number, address in enumerate(large["chunks"])
             if number == 0 or sizes[number] != sizes[number - 1]]
    skip = large["skip_list"]
    assert [entry["address"] for entry in skip] == heads
    assert [entry["size"] for entry in skip] == [size_of[address] for address in heads]
    for number, entry in enumerate(skip):
        assert entry["fd_nextsize"] == heads[(number + 1) % len(heads)]
        assert entry["bk_nextsize"] == heads[number - 1]
    text = run.text[text_key("off", "heap bins large")]
    assert text.count("not on the skip list") == len(sizes) - len(heads)
