"""Corruption fuzzer for the heap extension, run *inside* gdb (`source` it at a stop).

It finds the heap's structures itself, from raw words and symbols (never through the extension it
tests): every chunk header and link word of each heap, each malloc_state, each heap_info, mp_ and
each thread's tcache_perthread_struct.  Each case overwrites 1-3 of those words with a hostile
value, runs every heap command, judges how each one ended, and puts the bytes back.

Live, words are written with `set {unsigned long}ADDR = V`, so gdb's memory_changed event tells the
extension its cache is stale.  On a core (FUZZ_CORE set) each case writes a patched copy of the core
(file offsets from the PT_LOAD program headers) and loads it with `core-file`.

A command passes when it prints its answer or fails with one line starting "heap: " (which must not
be an internal error, nor an interruption by the per-command watchdog).  Settings come from the
environment: FUZZ_SEED, FUZZ_CASES, FUZZ_START, FUZZ_OUT (JSON lines, appended), FUZZ_CORE,
FUZZ_TIMEOUT.
"""
import _thread
import bisect
import json
import os
import random
import struct
import sys
import threading
import time

import gdb

# Sourced inside gdb: the shared test modules are two folders up from this file.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import json_contract  # noqa: E402 - the --json contract every answer must keep

WORD = 8
COMMANDS = ["heap", "heap summary", "heap arenas", "heap arena", "heap chunks",
            "heap chunks --summary", "heap bins", "heap tcache", "heap top", "heap mp",
            "heap chunk {chunk}", "heap chunk {chunk}+24", "heap check", "heap check --json",
            "heap --json", "heap chunks --json", "heap bins --json", "heap tcache --json",
            "bins", "tcachebins", "fastbins", "hi {chunk}"]
# Commands that read every writable mapping, not only the heap: in one case of OCCASIONAL_EVERY,
# so that they meet many damaged heaps without doubling the run.
OCCASIONAL = ["heap refs {chunk}+24 --json"]
OCCASIONAL_EVERY = 8
CHECK_COMMAND = "heap check"


class Watchdog:
    """Interrupts the main thread (KeyboardInterrupt inside the command) when a command overruns."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.fired = False
        self._timer = None

    def __enter__(self):
        self.fired = False
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def _fire(self):
        self.fired = True
        _thread.interrupt_main()

    def __exit__(self, *exc):
        self._timer.cancel()
        return False


def read_word(address):
    data = gdb.selected_inferior().read_memory(address, WORD)
    return struct.unpack("<Q", bytes(data))[0]


def symbol_address(expression):
    try:
        return int(gdb.parse_and_eval(expression).cast(gdb.lookup_type("unsigned long")))
    except gdb.error:
        return None


class HeapMap:
    """Addresses of every word the fuzzer may damage, grouped by the structure they belong to."""

    def __init__(self):
        self.targets = {"chunk_size": [], "chunk_link": [], "chunk_prev_size": [],
                        "malloc_state": [], "heap_info": [], "mp_": [], "tcache": []}
        self.chunks = []
        main_arena = symbol_address("&main_arena")
        mp = symbol_address("&mp_")
        if main_arena is None or mp is None:
            raise RuntimeError("no main_arena/mp_ symbols in this target")
        self.arenas = [main_arena]
        arena = read_word(main_arena + 2160)
        while arena not in (0, main_arena) and len(self.arenas) < 64:
            self.arenas.append(arena)
            arena = read_word(arena + 2160)
        for arena in self.arenas:
            self.targets["malloc_state"] += [arena + off for off in range(0, 2200, WORD)]
        self.targets["mp_"] = [mp + off for off in range(0, 136, WORD)]
        sbrk_base = read_word(mp + 96)
        if sbrk_base:
            self._walk(sbrk_base, read_word(main_arena + 96))
        for arena in self.arenas[1:]:
            heap = arena - 48
            self.targets["heap_info"] += [heap + off for off in range(0, 48, WORD)]
            self._walk(heap + 0x8d0, read_word(arena + 96))
        self.sorted_chunks = sorted(self.chunks)
        # Each heap's first chunk is its tcache_perthread_struct (0x290 chunk, user data at +16).
        for chunk in list(self.chunks):
            if read_word(chunk + 8) & ~7 == 0x290:
                self.targets["tcache"] += [chunk + 16 + off for off in range(0, 640, WORD)]

    def _walk(self, start, top):
        chunk = start
        for _ in range(100000):
            self.chunks.append(chunk)
            self.targets["chunk_prev_size"].append(chunk)
            self.targets["chunk_size"].append(chunk + 8)
            if chunk == top:
                return
            self.targets["chunk_link"] += [chunk + off for off in (16, 24, 32, 40)]
            size = read_word(chunk + 8) & ~7
            if size < 32:
                return
            chunk += size


WEIGHTS = [("chunk_size", 30), ("chunk_link", 25), ("chunk_prev_size", 5), ("malloc_state", 15),
           ("tcache", 10), ("mp_", 7), ("heap_info", 8)]


def hostile_value(rng, old, heap_map):
    choice = rng.randrange(12)
    if choice == 0:
        return 0
    if choice == 1:
        return 0xFFFFFFFFFFFFFFFF
    if choice == 2:
        return rng.getrandbits(64)
    if choice == 3:
        return rng.randrange(0x2000)
    if choice == 4:
        return old ^ (1 << rng.randrange(64))
    if choice == 5:
        return (old + rng.choice((1, 8, 16, -8, -16, 0x100))) & 0xFFFFFFFFFFFFFFFF
    if choice == 6:
        return (old & ~0xFF) | rng.randrange(256)
    if choice == 7:
        return rng.choice(heap_map.chunks) + rng.choice((0, 16))
    if choice == 8:
        return 0x4141414141414141
    if choice == 9:
        return rng.choice((0x1000, 0xdead0000, 0x7fffffffe000 - 8, 1 << 47))
    if choice == 10:
        return old ^ (rng.choice(heap_map.chunks) >> 12)  # a plausible safe-linked pointer
    return old & ~(1 << rng.randrange(3))  # flags


def plan_case(rng, heap_map):
    """The words one case overwrites: [(class, address, new value)]."""
    classes = [name for name, weight in WEIGHTS for _ in range(weight) if heap_map.targets[name]]
    mutations = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.choice(classes)
        address = rng.choice(heap_map.targets[kind])
        mutations.append((kind, address))
    return mutations


def run_command(command, timeout):
    """('ok'|'error'|'hang'|'traceback'|'internal'|'bad-error'|'bad-json', message)."""
    with Watchdog(timeout) as dog:
        try:
            output = gdb.execute(command, to_string=True)
            if "Traceback" in output or "Python Exception" in output:
                return "traceback", output[-400:]
            # Run from Python, a bad verdict (heap check's findings) does not raise: it is the
            # last line of the text, the line the command fails with when gdb runs it.
            lines = output.strip().splitlines()
            if lines and lines[-1].startswith("heap: "):
                message = lines[-1]
            else:
                if "--json" in command:
                    # However damaged the heap, a JSON answer keeps the contract (docs/schema/).
                    try:
                        document = json.loads(lines[-1])
                    except (ValueError, IndexError):
                        return "bad-json", "not one JSON document: " + output[-300:]
                    broken = json_contract.problems(command, document)
                    if broken:
                        return "bad-json", "; ".join(broken[:3])
                return "ok", output
        except KeyboardInterrupt:
            return "hang", "interrupted by the watchdog after %ss" % timeout
        except gdb.error as error:
            message = str(error)
    if dog.fired:
        return "hang", message
    if "Error occurred in Python" in message or "Traceback" in message:
        return "traceback", message
    if "\n" in message.strip() or not message.startswith("heap: "):
        return "bad-error", message
    if "internal error" in message:
        return "internal", message
    return "error", message


def resident_megabytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


class CoreImage:
    """A core file and the file offset of each loaded address, for patching copies of it."""

    def __init__(self, path):
        with open(path, "rb") as handle:
            self.data = bytearray(handle.read())
        phoff, = struct.unpack_from("<Q", self.data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", self.data, 0x36)
        self.loads = []
        for index in range(phnum):
            entry = phoff + index * phentsize
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
                "<IIQQQQ", self.data, entry)
            if p_type == 1 and p_filesz:
                self.loads.append((p_vaddr, p_filesz, p_offset))

    def offset_of(self, address):
        for vaddr, filesz, offset in self.loads:
            if vaddr <= address and address + WORD <= vaddr + filesz:
                return offset + (address - vaddr)
        return None


def main():
    seed = int(os.environ.get("FUZZ_SEED", "1"))
    cases = int(os.environ.get("FUZZ_CASES", "100"))
    timeout = float(os.environ.get("FUZZ_TIMEOUT", "20"))
    out_path = os.environ["FUZZ_OUT"]
    core_path = os.environ.get("FUZZ_CORE")
    first_case = int(os.environ.get("FUZZ_START", "0"))
    heap_map = HeapMap()
    core = CoreImage(core_path) if core_path else None
    patched_path = out_path + ".core"
    summary = {"cases": 0, "commands": 0, "problems": 0, "internal": 0, "max_rss_mb": 0,
               "check_detected": {}, "check_total": {}, "mode": "core" if core else "live",
               "seconds": 0.0}
    started = time.time()
    with open(out_path, "a") as out:
        baseline = run_command(CHECK_COMMAND, timeout)
        out.write(json.dumps({"baseline_check": baseline[0], "message": baseline[1][-300:]}) + "\n")
        for case in range(first_case, cases):
            # One generator per case: a run restarted after a crash replays exactly the same cases.
            rng = random.Random(seed * 1000003 + case)
            plan = plan_case(rng, heap_map)
            applied = []
            patched = bytearray(core.data) if core else None
            for kind, address in plan:
                old = read_word(address) if core is None else struct.unpack_from(
                    "<Q", core.data, core.offset_of(address))[0]
                new = hostile_value(rng, old, heap_map)
                if new == old:
                    new = old ^ 0x10
                applied.append({"kind": kind, "address": "%#x" % address, "old": "%#x" % old,
                                "new": "%#x" % new})
                if core is None:
                    gdb.execute("set {unsigned long}%#x = %#x" % (address, new), to_string=True)
                else:
                    struct.pack_into("<Q", patched, core.offset_of(address), new)
            if core is not None:
                with open(patched_path, "wb") as handle:
                    handle.write(patched)
                gdb.execute("core-file " + patched_path, to_string=True)
            # Written before anything runs: if gdb itself dies, the last "begin" names the case.
            out.write(json.dumps({"begin": case, "mutations": applied}) + "\n")
            out.flush()
            chunk = "%#x" % rng.choice(heap_map.chunks)
            for kind, address in plan:
                if kind.startswith("chunk"):
                    owner = bisect.bisect_right(heap_map.sorted_chunks, address) - 1
                    chunk = "%#x" % heap_map.sorted_chunks[max(owner, 0)]
            problems = []
            check_status = None
            for template in COMMANDS + (OCCASIONAL if case % OCCASIONAL_EVERY == 0 else []):
                command = template.format(chunk=chunk)
                if os.environ.get("FUZZ_TRACE"):
                    out.write(json.dumps({"run": command}) + "\n")
                    out.flush()
                status, message = run_command(command, timeout)
                summary["commands"] += 1
                if command == CHECK_COMMAND:
                    check_status = status
                if status == "internal":
                    summary["internal"] += 1
                if status in ("hang", "traceback", "bad-error", "internal", "bad-json"):
                    problems.append({"command": command, "status": status,
                                     "message": message[-600:]})
            for kind, _address in plan:
                summary["check_total"][kind] = summary["check_total"].get(kind, 0) + 1
                if check_status == "error":
                    summary["check_detected"][kind] = summary["check_detected"].get(kind, 0) + 1
            if core is None:
                for entry in reversed(applied):
                    gdb.execute("set {unsigned long}%s = %s" % (entry["address"], entry["old"]),
                                to_string=True)
            rss = resident_megabytes()
            summary["max_rss_mb"] = max(summary["max_rss_mb"], rss)
            summary["cases"] += 1
            record = {"case": case, "mutations": applied, "check": check_status}
            if problems:
                summary["problems"] += len(problems)
                record["problems"] = problems
                record["reproduce"] = ["set {unsigned long}%s = %s" % (m["address"], m["new"])
                                       for m in applied]
            if problems or case % 50 == 0 or os.environ.get("FUZZ_VERBOSE"):
                out.write(json.dumps(record) + "\n")
                out.flush()
        if core is None:
            after = run_command(CHECK_COMMAND, timeout)
            summary["restored_check"] = after[0]
        summary["seconds"] = round(time.time() - started, 1)
        out.write(json.dumps({"summary": summary}) + "\n")
    if core is not None and os.path.exists(patched_path):
        os.unlink(patched_path)


try:
    main()
except Exception as error:  # noqa: BLE001 - the host runner reads this line, not a traceback
    with open(os.environ.get("FUZZ_OUT", "/dev/stderr"), "a") as out:
        out.write(json.dumps({"driver_error": "%s: %s" % (type(error).__name__, error)}) + "\n")
