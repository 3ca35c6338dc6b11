"""The in-gdb half of the fault-injection oracle (run with `source`; the host half is
oracle_harness.py).  For each case of ORACLE_CASES (a JSON file: a list of cases) it runs
heap_oracle to its stop, applies the damage that only a debugger can make (allocator globals,
which the program cannot name), answers the heap commands live and, with "core" in the case's
modes, again from a gcore of the same stop, and appends one JSON line per (case, mode) to
ORACLE_OUT.  The verdict is the host's: this side only collects what the extension said.

The damage written here uses gdb's own view of the allocator (DWARF of the clone, libc6-dbg for
glibc) and never the extension under test."""
import json
import os
import time

import gdb

COMMANDS = {"chunks": "heap chunks --json", "check": "heap check --json"}

# Damage to the allocator's globals: gdb expressions to write, and the address the damage is at.
GLOBAL_MUTATIONS = {
    "mp-tcache-bins": (["set var mp_.tcache_bins = 0x7fffffffffff"], "&mp_"),
    "global-max-fast": (["set var global_max_fast = (size_t)-1"], "&global_max_fast"),
    "arena-ring-null": (["set var main_arena.next = 0"], "&main_arena"),
    "arena-ring-loop": (["set var main_arena.next->next = main_arena.next"], "main_arena.next"),
    "tcache-count": (["set var tcache->counts[0] = 0xffff"], "tcache"),
    "n-mmaps": (["set var mp_.n_mmaps = mp_.n_mmaps - 1"], "&mp_"),
    # The newest thread arena lies right after its first heap's heap_info.
    "heap-info": (["set var ((heap_info *) ((char *) main_arena.next - sizeof (heap_info)))"
                   "->mprotect_size = 0x1000"],
                  "(char *) main_arena.next - sizeof (heap_info)"),
}


def _execute(command):
    """(text, error line): what a heap command printed, or the one line it failed with."""
    try:
        return gdb.execute(command, to_string=True), None
    except gdb.error as error:
        return None, str(error)
    except KeyboardInterrupt:
        return None, "interrupted"


def _answers():
    answers = {}
    for key, command in COMMANDS.items():
        started = time.monotonic()
        text, error = _execute(command)
        answers[key] = {"text": text, "error": error, "seconds": time.monotonic() - started}
    return answers


def _mutate_globals(mutation):
    """Applies a global mutation; returns the damaged address, or None when gdb cannot write it
    (the harness then reports the case as not staged)."""
    writes, where = GLOBAL_MUTATIONS[mutation]
    try:
        address = int(gdb.parse_and_eval("(unsigned long)(%s)" % where))
        for write in writes:
            gdb.execute(write, to_string=True)
    except gdb.error as error:
        return None, str(error)
    return address, None


def _run_case(case, out):
    program_mutation = case["mutation"] if case["mutation"] not in GLOBAL_MUTATIONS else "none"
    gdb.execute("set args %s %d %s %d" % (case["record"], case["seed"], program_mutation,
                                         case["threads"]), to_string=True)
    gdb.execute("run", to_string=True)
    result = {"case": case["id"], "staged": True}
    if case["mutation"] in GLOBAL_MUTATIONS:
        address, error = _mutate_globals(case["mutation"])
        result["global_damage"] = address
        if error:
            result["staged"] = False
            result["stage_error"] = error
    if "live" in case["modes"]:
        out.write(json.dumps(dict(result, mode="live", answers=_answers())) + "\n")
        out.flush()
    if "core" in case["modes"]:
        core = case["record"] + ".core"
        gdb.execute("gcore %s" % core, to_string=True)
        gdb.execute("kill", to_string=True)
        gdb.execute("core-file %s" % core, to_string=True)
        out.write(json.dumps(dict(result, mode="core", answers=_answers())) + "\n")
        out.flush()
        gdb.execute("core-file", to_string=True)
        os.unlink(core)
    else:
        gdb.execute("kill", to_string=True)


def _kernel_core(case, mode):
    """Lets the kernel dump the stopped program with the case's coredump_filter, cuts the core
    at the case's fraction of its size for a "cut" mode, and opens it; the path of the core."""
    directory = os.path.dirname(case["record"]) or "."
    core = os.path.join(directory, "core")
    if os.path.exists(core):
        os.unlink(core)
    pid = gdb.selected_inferior().pid
    with open("/proc/%d/coredump_filter" % pid, "w") as handle:
        handle.write(mode["filter"])
    try:
        gdb.execute("signal SIGABRT", to_string=True)
    except gdb.error:
        # gdb may lose the threads while the kernel kills them ("Couldn't get registers"):
        # the dump goes on regardless.
        pass
    for _wait in range(100):
        if os.path.exists(core) and not _dumping(pid):
            break
        time.sleep(0.1)
    if not os.path.exists(core):
        raise gdb.error("the kernel wrote no core (is RLIMIT_CORE 0, or core_pattern a pipe?)")
    if gdb.selected_inferior().pid:
        try:
            gdb.execute("kill", to_string=True)
        except gdb.error:
            pass
    if mode.get("cut") is not None:
        os.truncate(core, int(os.path.getsize(core) * mode["cut"]))
    gdb.execute("core-file %s" % core, to_string=True)
    return core


def _dumping(pid):
    """Whether the process is still there (the kernel writes its core before it is gone)."""
    return os.path.exists("/proc/%d" % pid) and "zombie" not in _state(pid)


def _state(pid):
    try:
        with open("/proc/%d/status" % pid) as status:
            return status.read().lower()
    except OSError:
        return "zombie"


def _run_kernel_core_case(case, out):
    """A case whose answers come from kernel cores (case["kernel_cores"]: [{"name", "filter",
    "cut"}]), the program run again, undamaged, for each one."""
    for mode in case["kernel_cores"]:
        gdb.execute("set cwd %s" % (os.path.dirname(case["record"]) or "."), to_string=True)
        gdb.execute("set args %s %d none %d" % (case["record"], case["seed"], case["threads"]),
                    to_string=True)
        gdb.execute("run", to_string=True)
        core = _kernel_core(case, mode)
        regions = _segments(core)
        out.write(json.dumps({"case": case["id"], "staged": True, "mode": mode["name"],
                              "core_segments": regions, "answers": _answers()}) + "\n")
        out.flush()
        gdb.execute("core-file", to_string=True)
        os.unlink(core)
        try:
            gdb.execute("kill", to_string=True)
        except gdb.error:
            pass


def _segments(core):
    """[(start, end of the bytes held)] of the core's PT_LOAD segments, read by the harness's
    own parser, not the extension's."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(os.environ["ORACLE_DRIVER"])))
    import core_truth
    return core_truth.held_ranges(core)


def main():
    cases = json.loads(open(os.environ["ORACLE_CASES"]).read())
    with open(os.environ["ORACLE_OUT"], "a") as out:
        for case in cases:
            out.write(json.dumps({"case": case["id"], "started": True}) + "\n")
            out.flush()
            try:
                if case.get("kernel_cores"):
                    _run_kernel_core_case(case, out)
                else:
                    _run_case(case, out)
            except gdb.error as error:
                out.write(json.dumps({"case": case["id"], "harness_error": str(error)}) + "\n")
                out.flush()
                try:
                    gdb.execute("kill", to_string=True)
                except gdb.error:
                    pass


main()
