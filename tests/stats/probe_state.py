"""Runs inside gdb (gdb -batch -x probe_state.py).  For every case in the JSON file named by
PTM_PROBE_CASES it starts tunables_probe with exactly that environment, in that order, stops in
probe_checkpoint() and appends one JSON line with the allocator's parameters to PTM_PROBE_OUT.
The same code reads glibc's variables (from libc6-dbg) and the clone's, by the source file that
defines them, so neither side is read with knowledge the other lacks."""
import json
import os

import gdb

MP_FIELDS = ("trim_threshold", "top_pad", "mmap_threshold", "arena_test", "arena_max", "thp_pagesize",
             "hp_pagesize", "hp_flags", "n_mmaps_max", "no_dyn_threshold", "tcache_bins",
             "tcache_max_bytes", "tcache_count", "tcache_unsorted_limit")


def variable(source_file, name):
    return gdb.parse_and_eval(f"'{source_file}'::{name}")


def read_state(source_file):
    mp = variable(source_file, "mp_")
    state = {field: int(mp[field]) for field in MP_FIELDS}
    state["global_max_fast"] = int(variable(source_file, "global_max_fast"))
    state["perturb_byte"] = int(variable(source_file, "perturb_byte"))
    calls = int(gdb.parse_and_eval("mallopt_calls"))
    results = gdb.parse_and_eval("mallopt_results")
    state["mallopt_results"] = [int(results[i]) for i in range(calls)]
    return state


def run_case(case, source_file):
    gdb.execute("unset environment", to_string=True)
    for name, value in case["env"]:
        gdb.execute(f"set environment {name}={value}", to_string=True)
    args = " ".join(case.get("mallopt", []))
    gdb.execute(f"run {args}", to_string=True)
    try:
        frame = gdb.selected_frame()
    except gdb.error:
        return {"error": "the probe did not stop at probe_checkpoint"}
    if frame.name() != "probe_checkpoint":
        return {"error": f"stopped in {frame.name()}"}
    state = read_state(source_file)
    gdb.execute("kill", to_string=True)
    return state


def main():
    cases = json.load(open(os.environ["PTM_PROBE_CASES"]))
    source_file = os.environ["PTM_PROBE_SOURCE"]
    gdb.execute("set confirm off")
    gdb.execute("set pagination off")
    gdb.execute("set startup-with-shell off")
    gdb.execute("set breakpoint pending on")
    # The probe has no threads to debug; looking for libthread_db on every run is wasted time.
    gdb.execute("set libthread-db-search-path")
    gdb.execute("break probe_checkpoint", to_string=True)
    with open(os.environ["PTM_PROBE_OUT"], "w") as out:
        for case in cases:
            try:
                result = run_case(case, source_file)
            except gdb.error as error:
                result = {"error": str(error)}
            out.write(json.dumps(result) + "\n")
            out.flush()


main()
