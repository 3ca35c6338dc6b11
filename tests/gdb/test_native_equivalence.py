"""The gdb extension's C helper (gdb/native/heapwalk.c) gives exactly the answers of the Python
loops it replaces.

Every heap here is inspected twice, by two gdb processes that differ only in
PTMALLOC_GDB_NATIVE: 0 (the Python loops) and unset (the helper, which must really be loaded, so
a missing build cannot make the comparison pass by comparing Python with Python).  Each command's
output must be the same: text byte for byte, JSON value for value (test_json_key_order asks for
the same text too).  The heaps: the known samples (live, and from a gcore), bug samples stopped
at audit_point() and attack samples at attack_staged() as tests/audit stops them (from a gcore
there, just before the fatal call), and every_bin damaged from gdb with `set {long}ADDR = VALUE`:
cycles in a fastbin, a smallbin, a large bin, a tcache and through two heaps, size fields that
are zero, flags only, misaligned or run past the heap end, a header on the heap's last word, and
links that are misaligned or leave every heap segment.  Live, the two runs are two processes of
one program: LWPs and the random tcache_key are made equal before the outputs are compared; the
helper's live runs walk each heap through a window of a page (PTMALLOC_GDB_WINDOW), as they walk a
heap too big to copy."""

import concurrent.futures
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import (GDB, LIBRARY, LOADER, REPO, TIMEOUT, VARIANTS, binary, gdb_available,
                      require_variant, sections)
from json_contract import checked

sys.path.insert(0, os.path.join(REPO, "tests", "audit"))
import run_audit  # noqa: E402 - builds the bug and attack samples exactly as the audit does

HELPER = os.path.join(REPO, "build", "libptmalloc-heapwalk.so")
WORKERS = min(4, os.cpu_count() or 1)

# Compared in every run: the JSON contract and the text a user reads.
COMMANDS = [
    ("chunks", "heap chunks --json"),
    ("histogram", "heap chunks --summary --json"),
    ("bins", "heap bins --json"),
    ("tcache", "heap tcache --json"),
    ("check", "heap check --json CHECK_ARGS"),
    ("arenas", "heap arenas --json"),
    ("overview", "heap --json"),
    ("limited", "heap chunks --limit 40 --json"),
    ("chunks-text", "heap chunks"),
    ("histogram-text", "heap chunks --summary"),
    ("bins-text", "heap bins"),
    ("check-text", "heap check CHECK_ARGS"),
    ("overview-text", "heap"),
]

KNOWN = [("every_bin", "preload"), ("every_bin", "glibc"), ("every_bin", "static"),
         ("sbrk_blocked", "preload"), ("sbrk_blocked", "linked")]
BUGS = ["heap_overflow_next_size", "fastbin_double_free", "tcache_double_free",
        "smallbin_bk_uaf", "unsorted_corruption", "corrupted_top_size", "off_by_one_null",
        "healthy_threads"]
ATTACKS = ["double_free_tcache_loop", "tcache_poisoning_unaligned", "fastbin_poisoning",
           "house_of_force", "unsafe_unlink", "largebin_attack", "house_of_spirit",
           "overlapping_chunks", "house_of_einherjar", "unsorted_corrupted"]

# every_bin (clone preloaded) damaged at its checkpoint: name -> what the damaged heap must show
# in both runs (so a write that missed cannot pass as "no difference").
DAMAGE = {
    "fastbin_cycle": ("bins-text", "cycle at"),
    "fastbin_cross_heap_cycle": ("bins-text", "cycle at"),
    "smallbin_self_cycle": ("bins-text", "cycle at"),
    "largebin_cycle": ("bins-text", "cycle at"),
    "tcache_cycle": ("bins-text", "cycle at"),
    "tcache_outside_heaps": ("check", '"ok":false'),
    "tcache_unmapped": ("bins-text", "cannot read"),
    "unsorted_unaligned": ("check", '"ok":false'),
    # A size past the heap's end cannot be a chunk's: the check names it, and the walk resumes
    # at the next header proved by its chain.
    "size_past_end": ("check", "not a valid chunk size inside its heap"),
    "size_misaligned": ("chunks", '"complete":false'),
    "size_zero_prev_free": ("check", '"ok":false'),
    "size_past_end_prev_free": ("check", "not a valid chunk size inside its heap"),
    "size_flags_only": ("check", '"ok":false'),
    "header_at_last_word": ("chunks", '"complete":false'),
    "fastbin_misaligned": ("bins-text", "misaligned"),
}
# Known differences between the two paths, each a finding against gdb/ptmalloc, marked strict
# xfail with its reason (once fixed the case passes and its entry must go).  None at present:
# the three found when this file was written (the row before a stopping header, a list entry
# whose own link cannot be read, the order of heap --json's states) are fixed.
KNOWN_DIFFERENCES = {}


def _params(kind, names):
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES[
        (kind, name)])) if (kind, name) in KNOWN_DIFFERENCES else name for name in names]


# Runs inside gdb: PARAMS (JSON) says what to do at the stop.
DRIVER = r'''
import json
import os

import gdb

PARAMS = json.loads(%r)


def emit(name, command):
    """Run a command as a user would (its output is kept when it fails, as `heap check` does on
    any finding), between markers."""
    gdb.write("\n@@BEGIN %%s\n" %% name)
    gdb.flush()
    try:
        gdb.execute(command)
    except gdb.error as error:
        gdb.write("gdb.error: %%s\n" %% error)
    gdb.flush()
    gdb.write("\n@@END %%s\n" %% name)


def as_json(command):
    return json.loads(gdb.execute(command, to_string=True).splitlines()[-1])


def listed(bins):
    chunks = [c for t in bins["tcache"] for b in t["bins"] for c in b["chunks"]]
    for arena in bins["arenas"]:
        chunks += arena["unsorted"]
        for kind in ("fastbins", "smallbins", "largebins"):
            chunks += [c for b in arena[kind] for c in b["chunks"]]
    return list(dict.fromkeys(chunks))


def inspect(prefix):
    for name, command in PARAMS["commands"]:
        emit(prefix + name, command)
    gdb.write("\n@@BEGIN %%sprobes\n" %% prefix)
    try:
        addresses = listed(as_json("heap bins --json"))
        for address in addresses[:32]:
            gdb.write(gdb.execute("heap chunk %%d --json" %% address, to_string=True))
            gdb.write(gdb.execute("heap chunk %%d" %% (address + 24), to_string=True))
        # The word scan of heap refs, on the chunk the first bin list names; from cores only:
        # the two live processes differ in their environments, so their stacks differ.
        from_core = getattr(gdb.selected_inferior().connection, "type", None) == "core"
        for address in addresses[:1] if from_core else []:
            gdb.write(gdb.execute("heap refs %%d --json" %% address, to_string=True))
    except (gdb.error, ValueError, KeyError) as error:
        gdb.write("error: %%s\n" %% error)
    gdb.write("\n@@END %%sprobes\n" %% prefix)


def link(chunk, target, safe):
    """(slot, value) making `chunk` link to `target`: fd is 16 bytes into a chunk, and so is a
    tcache entry's next (it points at the entry, the user address: pass chunk + 16)."""
    slot = chunk + 16
    return slot, target ^ (slot >> 12) if safe else target


def damage():
    bins = as_json("heap bins --json")
    chunks = as_json("heap chunks --json")
    main = bins["arenas"][0]
    fast = next(b["chunks"] for b in main["fastbins"] if len(b["chunks"]) >= 2)
    other_heap = next(b["chunks"][0] for a in bins["arenas"][1:] for b in a["fastbins"]
                      if b["chunks"])
    small = next(b["chunks"] for b in main["smallbins"] if b["chunks"])
    large = next(b["chunks"] for b in main["largebins"] if len(b["chunks"]) >= 3)
    tcache = next(b["chunks"] for b in bins["tcache"][0]["bins"] if len(b["chunks"]) >= 4)
    # A size field to damage: an in-use chunk after an in-use chunk (whose state then depends
    # only on the damaged field's PREV_INUSE bit).
    row = chunks["arenas"][0]["chunks"]
    pairs = [c["address"] for p, c in zip(row, row[1:]) if p["state"] == c["state"] == "in-use"]
    victim = pairs[len(pairs) // 2] + 8
    # A header on the heap's last word: top's size 8 less (the heap then ends 8 bytes into a
    # 16-byte unit), and the chunk before top stepping over top to that last word.
    top = next(c for c in row if c["state"] == "top")
    before_top = row[row.index(top) - 1]["address"]
    heap_end = top["address"] + top["size"] - 8
    outside = int(gdb.parse_and_eval("(unsigned long)&mp_")) & ~15
    return {
        "fastbin_cycle": [link(fast[1], fast[0], True)],
        "fastbin_cross_heap_cycle": [link(fast[0], other_heap, True),
                                     link(other_heap, fast[0], True)],
        "smallbin_self_cycle": [link(small[0], small[0], False)],
        "largebin_cycle": [link(large[2], large[1], False)],
        "tcache_cycle": [link(tcache[3], tcache[1] + 16, True)],
        "tcache_outside_heaps": [link(tcache[1], outside, True)],
        "tcache_unmapped": [link(tcache[1], 0x414141414140, True)],
        "unsorted_unaligned": [link(main["unsorted"][0], main["unsorted"][0] + 8, False)],
        "size_past_end": [(victim, 0x1000001)],
        "size_misaligned": [(victim, 0x59)],
        "size_zero_prev_free": [(victim, 0)],
        "size_past_end_prev_free": [(victim, 0x1000000)],
        "size_flags_only": [(victim, 0x1)],
        "header_at_last_word": [(top["address"] + 8, (top["size"] - 8) | 1),
                                (before_top + 8, (heap_end - 8 - before_top) | 1)],
        "fastbin_misaligned": [link(fast[0], fast[1] + 8, True)],
    }


def write(address, value):
    gdb.execute("set {long}%%d = %%d" %% (address, value - (1 << 64) if value >> 63 else value))


def main():
    import ptmalloc.model.native as native
    threads = sorted(gdb.selected_inferior().threads(), key=lambda thread: thread.num)
    gdb.write("\n@@LWPS %%s\n" %% " ".join(str(thread.ptid[1]) for thread in threads))
    try:
        gdb.write("@@KEY %%d\n" %% int(gdb.parse_and_eval("(unsigned long) tcache_key")))
    except gdb.error:
        pass
    gdb.write("\n@@BEGIN native\n%%s %%s\n@@END native\n" %% (
        native.available(), native.library_path and os.path.realpath(native.library_path)))
    if PARAMS["inspect"]:
        inspect("")
    if PARAMS["core"]:
        gdb.execute("gcore %%s" %% PARAMS["core"], to_string=True)
    if PARAMS["damage"]:
        for name, writes in sorted(damage().items()):
            saved = [(address, int(gdb.parse_and_eval("*(unsigned long *)%%d" %% address)))
                     for address, _ in writes]
            for address, value in writes:
                write(address, value)
            inspect(name + ":")
            if PARAMS["core"]:
                gdb.execute("gcore %%s.%%s" %% (PARAMS["core"], name), to_string=True)
            for address, value in reversed(saved):
                write(address, value)


main()
'''


def _gdb(program, stop, folder, script, native, preload=None, core=None):
    """One batch gdb: load the extension, reach the stop (a breakpoint, or a core), run `script`.
    `native` False sets PTMALLOC_GDB_NATIVE=0; True leaves it unset."""
    argv = [GDB, "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "set width 0",
            "-ex", "set confirm off", "-ex", "set style enabled off", "-ex", "source " + LOADER]
    if preload:
        argv += ["-ex", "set environment LD_PRELOAD " + preload]
    argv += ["-ex", "file " + program]
    if core:
        argv += ["-ex", "core-file " + core]
    else:
        argv += ["-ex", "break " + stop[0], "-ex", "run " + stop[1]]
    argv += ["-x", script, "-ex", "kill"] if not core else ["-x", script]
    environment = dict(os.environ)
    environment.pop("PTMALLOC_GDB_NATIVE", None)
    if not native:
        environment["PTMALLOC_GDB_NATIVE"] = "0"
    elif not core:
        # Live, the helper walks every heap a page-sized window at a time and follows the lists
        # through the process's pages (model/native_live.py), as it does a heap of gigabytes:
        # the Python loops, which read each segment whole, must agree with it.
        environment["PTMALLOC_GDB_WINDOW"] = "4096"
    result = subprocess.run(argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", timeout=TIMEOUT, env=environment)
    return result.stdout


def _script(folder, name, check_args="", inspect=True, core=None, damage=False):
    commands = [(n, c.replace("CHECK_ARGS", check_args).strip()) for n, c in COMMANDS]
    path = os.path.join(folder, name + ".driver.py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(DRIVER % json.dumps({"commands": commands, "inspect": inspect,
                                          "core": core, "damage": damage}))
    return path


def as_one_process(output):
    """A live run's output with what differs between two processes of one program made equal:
    each LWP (from the driver's @@LWPS line, in gdb's thread order) becomes minus its thread
    number, so JSON stays JSON, and the random tcache_key (@@KEY) becomes a fixed word."""
    found = re.search(r"^@@LWPS (.*)$", output, re.M)
    lwps = found.group(1).split() if found else []
    if lwps:
        number = {lwp: "-%d" % (index + 1) for index, lwp in enumerate(lwps)}
        output = re.sub(r"\b(%s)\b" % "|".join(lwps), lambda m: number[m.group(1)], output)
    found = re.search(r"^@@KEY (\d+)$", output, re.M)
    if found:
        key = int(found.group(1))
        output = re.sub(r"\b(%d|%#x)\b" % (key, key), "-99", output)
    return output


class Heap:
    """One heap to compare: how to stop the program, and the outputs once compared."""

    def __init__(self, name, program, stop, preload=None, check_args="", live=False,
                 damage=False):
        self.name, self.program, self.stop, self.preload = name, program, stop, preload
        self.check_args, self.live, self.damage = check_args, live, damage
        self.runs = {}  # (source, native) -> {section: text}
        self.outputs = {}


class Comparisons:
    """Builds the samples, stops each program once per mode, then reads its cores twice; every
    gdb run of the session at once, a few in parallel."""

    def __init__(self, folder):
        self.folder = folder
        self.heaps = {}
        self.failures = {}
        self._done = False

    def add(self, heap):
        self.heaps[heap.name] = heap

    def run_all(self):
        if self._done:
            return
        self._done = True
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(self._guard(self._stop), self.heaps.values()))
            cores = [(heap, core) for heap in self.heaps.values() for core in self._cores(heap)]
            list(pool.map(self._guard(lambda item: self._read_core(*item)), cores))

    def _guard(self, function):
        def guarded(item):
            heap = item[0] if isinstance(item, tuple) else item
            try:
                function(item)
            except Exception as error:  # noqa: BLE001 - reported by the heap's own test
                self.failures[heap.name] = "%s: %s" % (type(error).__name__, error)
        return guarded

    def _folder(self, heap):
        path = os.path.join(self.folder, heap.name)
        os.makedirs(path, exist_ok=True)
        return path

    def _stop(self, heap):
        folder = self._folder(heap)
        core = os.path.join(folder, "stop.core")
        modes = (True, False) if heap.live else (True,)
        for native in modes:
            script = _script(folder, "live-%s" % native, heap.check_args, inspect=heap.live,
                             core=core if native else None, damage=heap.damage)
            output = _gdb(heap.program, heap.stop, folder, script, native, preload=heap.preload)
            heap.outputs[("live", native)] = output
            heap.runs[("live", native)] = sections(as_one_process(output))

    @staticmethod
    def _cores(heap):
        return ["stop.core"] + (["stop.core." + name for name in sorted(DAMAGE)]
                                if heap.damage else [])

    def _read_core(self, heap, core_name):
        folder = self._folder(heap)
        core = os.path.join(folder, core_name)
        for native in (True, False):
            script = _script(folder, "%s-%s" % (core_name, native), heap.check_args)
            output = _gdb(heap.program, None, folder, script, native, core=core)
            heap.outputs[(core_name, native)] = output
            heap.runs[(core_name, native)] = sections(output)


def _bug_heaps(folder):
    heaps = []
    cc = os.environ.get("CC", "gcc")
    for directory, names, mark in ((os.path.join(REPO, "samples", "bugs"), BUGS, "audit_point"),
                                   (os.path.join(REPO, "samples", "attacks"), ATTACKS,
                                    "attack_staged")):
        for name in names:
            source = os.path.join(directory, name + ".c")
            program = run_audit.build_sample(source, folder, cc)
            expect = run_audit.load_expect(os.path.join(directory, name + ".expect.json"))
            heaps.append(Heap(name, program, (mark, "2>/dev/null"), preload=LIBRARY,
                              check_args=expect["check_args"]))
    return heaps


@pytest.fixture(scope="session")
def comparisons(tmp_path_factory):
    if not gdb_available():
        pytest.skip("gdb is not installed")
    if not os.path.exists(HELPER):
        pytest.fail("build/libptmalloc-heapwalk.so is not built: the comparison would be vacuous")
    folder = str(tmp_path_factory.mktemp("native-equivalence"))
    result = Comparisons(folder)
    for sample, variant in KNOWN:
        try:
            require_variant(variant, sample)
        except pytest.skip.Exception:
            continue  # its tests skip
        result.add(Heap("%s-%s" % (sample, variant), binary(sample, variant),
                        ("sample_checkpoint", "record.txt"),
                        preload=VARIANTS[variant][1], live=True,
                        damage=(sample, variant) == ("every_bin", "preload")))
    samples = os.path.join(folder, "samples")
    os.makedirs(samples, exist_ok=True)
    for heap in _bug_heaps(samples):
        result.add(heap)
    result.run_all()
    return result


def _assert_equal_runs(heap, source, prefix=""):
    on, off = heap.runs.get((source, True)), heap.runs.get((source, False))
    assert on is not None and off is not None, "gdb runs missing for %s %s" % (heap.name, source)
    names = [prefix + name for name, _ in COMMANDS] + [prefix + "probes"]
    raw = heap.outputs[(source, True)]
    for name in names:
        assert name in on, "no %s in the helper's run:\n%s" % (name, raw[-3000:])
        assert name in off, "no %s in the Python run:\n%s" % (
            name, heap.outputs[(source, False)][-3000:])
    for name in names:
        assert "Traceback" not in on[name] and "internal error" not in on[name], on[name][-2000:]
        assert comparable(on[name]) == comparable(off[name]), \
            "%s %s: `%s` differs with the C helper" % (heap.name, source, name)
    # Damaged heaps too must keep the JSON contract (docs/schema/), whatever the walk met; read
    # from the output as gdb printed it, before LWPs became thread numbers for the comparison.
    printed = sections(raw)
    for name, command in COMMANDS:
        text = printed.get(prefix + name, "")
        last = text.splitlines()[-1] if text.strip() else ""
        if "--json" in command and last.startswith("{"):
            checked(command, json.loads(last))
    for line in printed.get(prefix + "probes", "").splitlines():
        if line.startswith("{"):  # the probes' `heap chunk ADDR --json`, between their text
            document = json.loads(line)
            checked("heap refs --json" if "refs" in document else "heap chunk --json", document)
    # The comparison must have compared a walked heap, not two identical error lines.
    chunks = json.loads(on[prefix + "chunks"].splitlines()[-1])
    assert any(arena["chunks"] for arena in chunks["arenas"])
    json.loads(on[prefix + "bins"].splitlines()[-1])


def comparable(text):
    """A command's output as compared: JSON parsed (an object's key order carries no meaning,
    see test_json_key_order), text as it is."""
    last = text.splitlines()[-1] if text.strip() else ""
    if last.startswith("{"):
        try:
            return text.splitlines()[:-1], json.loads(last)
        except ValueError:
            pass
    return text


def _assert_helper_loaded(heap, source):
    assert heap.runs[(source, True)].get("native", "").split()[:2] == [
        "True", os.path.realpath(HELPER)], heap.outputs[(source, True)][-3000:]
    assert heap.runs[(source, False)].get("native", "").split() == ["False", "None"]


def _heap(comparisons, name):
    if name not in comparisons.heaps:
        pytest.skip("%s is not built (make build-all)" % name)
    if name in comparisons.failures:
        pytest.fail(comparisons.failures[name])
    return comparisons.heaps[name]


KNOWN_NAMES = ["%s-%s" % pair for pair in KNOWN]


@pytest.mark.parametrize("name", KNOWN_NAMES)
def test_known_heap_live(comparisons, name):
    heap = _heap(comparisons, name)
    _assert_helper_loaded(heap, "live")
    _assert_equal_runs(heap, "live")


@pytest.mark.parametrize("name", _params("core", KNOWN_NAMES + BUGS + ATTACKS))
def test_heap_from_core(comparisons, name):
    heap = _heap(comparisons, name)
    _assert_helper_loaded(heap, "stop.core")
    _assert_equal_runs(heap, "stop.core")


@pytest.mark.parametrize("damage", _params("damage", sorted(DAMAGE)))
@pytest.mark.parametrize("source", ["live", "core"])
def test_damaged_heap(comparisons, source, damage):
    heap = _heap(comparisons, "every_bin-preload")
    source_key = "live" if source == "live" else "stop.core." + damage
    prefix = damage + ":" if source == "live" else ""
    _assert_helper_loaded(heap, source_key)
    section, evidence = DAMAGE[damage]
    for native in (True, False):
        text = heap.runs[(source_key, native)].get(prefix + section, "")
        assert evidence.replace(" ", "") in text.replace(" ", ""), \
            "the damage did not show:\n" + text[-2000:]
    _assert_equal_runs(heap, source_key, prefix)


def test_json_key_order(comparisons):
    """Beyond equal values: the same JSON text, keys in the same order, for a user who diffs
    two reports."""
    heap = _heap(comparisons, "every_bin-preload")
    on, off = heap.runs[("stop.core", True)], heap.runs[("stop.core", False)]
    for name, command in COMMANDS:
        if "--json" in command:
            assert on[name] == off[name], "%s: same values, other key order" % command


def test_helper_is_chosen_by_the_environment(tmp_path):
    """PTMALLOC_GDB_NATIVE names a library file, or 0 turns the helper off; a missing file
    falls back to the Python loops."""
    if not gdb_available():
        pytest.skip("gdb is not installed")
    probe = ("python import os, ptmalloc.model.native as n; print('@@', n.available(), "
             "n.library_path and os.path.realpath(n.library_path))")
    answers = {}
    for setting in ("0", "off", "1", HELPER, str(tmp_path / "missing.so")):
        environment = dict(os.environ, PTMALLOC_GDB_NATIVE=setting)
        output = subprocess.run([GDB, "-nx", "-q", "-batch", "-ex", "source " + LOADER, "-ex",
                                 probe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=TIMEOUT, env=environment).stdout
        answers[setting] = next(line.split()[1:] for line in output.splitlines()
                                if line.startswith("@@"))
    helper = os.path.realpath(HELPER)
    assert answers == {"0": ["False", "None"], "off": ["False", "None"], "1": ["True", helper],
                       HELPER: ["True", helper], str(tmp_path / "missing.so"): ["False", "None"]}
