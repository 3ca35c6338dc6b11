"""JSON-ready dicts built from the model: the shapes of the `--json` contract live here.

Addresses are plain ints (JSON numbers); sizes are chunk sizes without flag bits."""

from ..model.states import REPORT_ORDER


def heap_json(segment):
    value = {"address": segment.address if segment.address is not None else segment.start,
             "start": segment.start, "end": segment.end, "kind": segment.kind}
    if segment.info is not None:
        value["size"] = segment.info.get("size")
        value["mprotect_size"] = segment.info.get("mprotect_size")
    return value


def arena_json(arena):
    return {
        "address": arena.address, "main": arena.is_main,
        "heaps": [heap_json(segment) for segment in arena.heaps],
        "top": arena.top, "top_size": arena.top_size, "last_remainder": arena.last_remainder,
        "system_mem": arena.system_mem, "max_system_mem": arena.max_system_mem,
        "attached_threads": arena.attached_threads, "on_free_list": arena.on_free_list,
        "threads": [thread.lwp for thread in arena.threads],
        "flags": arena.fields.get("flags"), "have_fastchunks": arena.fields.get("have_fastchunks"),
        "next": arena.next, "next_free": arena.next_free,
        "heap_problem": arena.heap_problem,
    }


def chain_json(chain, key, value):
    entry = {key: value, "chunks": list(chain.chunks)}
    if not chain.complete:
        entry["problem"] = chain.problem
    return entry


def tcache_json(thread):
    bins = []
    for chain in thread.tcache_bins:
        entry = chain_json(chain, "size", chain.size)
        entry["count"] = chain.count
        bins.append(entry)
    value = {"thread": thread.lwp, "num": thread.num, "address": thread.tcache, "bins": bins}
    if thread.error:
        value["error"] = thread.error
    return value


def arena_bins_json(arena, kinds):
    value = {"address": arena.address, "main": arena.is_main}
    if "fast" in kinds:
        value["fastbins"] = [chain_json(c, "size", c.size) for c in arena.fastbins]
    if "unsorted" in kinds:
        value["unsorted"] = list(arena.unsorted.chunks) if arena.unsorted else []
        if arena.unsorted is not None and not arena.unsorted.complete:
            value["unsorted_problem"] = arena.unsorted.problem
    if "small" in kinds:
        value["smallbins"] = [chain_json(c, "size", c.size) for c in arena.smallbins]
    if "large" in kinds:
        value["largebins"] = []
        for chain in arena.largebins:
            entry = chain_json(chain, "index", chain.index)
            low, high = chain.size_range
            entry["min_size"], entry["max_size"] = low, high
            value["largebins"].append(entry)
    return value




def state_totals(snap, arenas=None):
    """({state: [count, bytes]}, WalkStatus) over every chunk of the arenas' heaps, states in
    REPORT_ORDER (any other after them, by name)."""
    histogram, status = snap.size_state_histogram(arenas)
    totals = {}
    for (size, state), count in histogram.items():
        entry = totals.setdefault(state, [0, 0])
        entry[0] += count
        entry[1] += size * count
    rank = {state: number for number, state in enumerate(REPORT_ORDER)}
    ordered = sorted(totals, key=lambda state: (rank.get(state, len(rank)), state))
    return {state: totals[state] for state in ordered}, status
