"""The host half of the fault-injection oracle: makes the cases, runs them in gdb (through
oracle_driver.py, restarting gdb past a case that kills or hangs it), and judges each answer
against what the program recorded and the damage it was given, never against the extension's
own reading of the heap.

What every answer must do:
- no Python traceback and no internal error, and an answer (or one clear line) within the time;
- every block the program holds is listed, at its header, in use and big enough, unless the
  listing says it is not complete ("complete": false);
- no block the program freed (and never got back) is listed as in use at its header, unless the
  listing says it is not complete;
- an undamaged heap is reported ok, with no finding but those marked unreliable on arenas and
  threads busy in an allocator call at the stop;
- a damaged heap is not reported ok, and a finding points at the damage: the damaged chunk's
  header or user pointer, or the chunk after it for damage that shows in the next header, or the
  global that was written.

    python3 tests/oracle/oracle_harness.py --cases 2000 --seed 1 [--allocator clone|glibc|...]
"""
import argparse
import collections
import json
import os
import pathlib
import random
import resource
import sys
import tempfile

import core_truth

# The batch runner shared with the other oracle lives one folder up.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import gdb_batches  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
BUILD = pathlib.Path(os.environ.get("PTM_BUILD", REPO_ROOT / "build"))
PROGRAM = BUILD / "tests" / "oracle" / "heap_oracle"
# The same program with the clone linked in from libptmalloc.a: its allocator is found in the
# executable, so a core cut before the libraries' data still has a heap to read.
LINKED_PROGRAM = BUILD / "tests" / "oracle" / "heap_oracle-linked"
CLONE = BUILD / "libptmalloc.so"
LOADER = REPO_ROOT / "gdb" / "ptmalloc-gdb.py"
DRIVER = HERE / "oracle_driver.py"
GDB = os.environ.get("GDB", "gdb")

HEADER = 16
PROGRAM_MUTATIONS = ["none", "busy", "zero-header", "size-grow", "size-garbage", "clear-prev-inuse",
                     "tcache-link", "tcache-cycle", "fastbin-link", "mmapped-size"]
GLOBAL_MUTATIONS = ["mp-tcache-bins", "global-max-fast", "arena-ring-null", "arena-ring-loop",
                    "tcache-count", "n-mmaps", "heap-info"]
# Undamaged heaps read from kernel cores that lack memory: cut at a random offset, or dumped
# with coredump_filter bits off.  Their truth is the record and the core's own program headers.
CORE_KINDS = ["core-cut", "core-filter"]
# 0x33 is the default, 0x1 anonymous private memory only (no ELF headers, so no build-ids),
# the others leave out anonymous private memory: heaps, stacks, written data.
CORE_FILTERS = ["0x33", "0x1", "0x32", "0x0", "0x12", "0x3"]
MUTATIONS = PROGRAM_MUTATIONS + GLOBAL_MUTATIONS + CORE_KINDS
# No damage: "busy" stops threads in the middle of their calls, which may only give findings
# marked unreliable.
UNDAMAGED = {"none", "busy"}
# Where the damage shows besides the damaged chunk itself: the next chunk's header.
SHOWS_IN_NEXT_CHUNK = {"size-grow", "size-garbage", "clear-prev-inuse", "zero-header"}
# Seconds a case may take in gdb (every command of both modes) before the host gives up on it.
CASE_SECONDS = 120


def make_cases(seed, count, mutations=MUTATIONS, modes=("live", "core"), directory="."):
    """`count` cases, the mutations in turn, each with its own program seed and thread count."""
    chooser = random.Random(seed)
    cases = []
    for number in range(count):
        mutation = mutations[number % len(mutations)]
        threads = chooser.choice([0, 1, 2, 2])
        if mutation == "arena-ring-loop":
            threads = max(threads, 2)
        elif mutation == "heap-info":
            threads = max(threads, 1)  # a thread arena, with a heap_info
        case = {"id": number, "seed": chooser.randrange(1, 1 << 30), "mutation": mutation,
                "threads": threads, "modes": list(modes),
                "record": str(pathlib.Path(directory) / ("case-%d" % number) / "record")}
        if mutation in CORE_KINDS:
            if mutation == "core-cut":
                kernel_cores = [{"name": "cut", "filter": "0x33",
                                 "cut": round(chooser.uniform(0.01, 0.999), 4)}]
            else:
                # One core per case: a second run of the program could place its thread heaps
                # differently from what the record (rewritten by each run) says.
                value = chooser.choice(CORE_FILTERS)
                kernel_cores = [{"name": "filter-" + value, "filter": value, "cut": None}]
            case["kernel_cores"] = kernel_cores
            case["modes"] = [mode["name"] for mode in kernel_cores]
        pathlib.Path(case["record"]).parent.mkdir(parents=True, exist_ok=True)
        cases.append(case)
    return cases


def kernel_cores_unavailable():
    """Why the kernel cannot write the oracle a core here, or None."""
    try:
        pattern = pathlib.Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError as error:
        return "cannot read core_pattern: %s" % error
    if pattern.startswith("|"):
        return "core_pattern pipes cores to %s, not to a file" % pattern[1:].split()[0]
    if "/" in pattern:
        return "core_pattern %s writes cores outside the program's folder" % pattern
    if resource.getrlimit(resource.RLIMIT_CORE)[1] == 0:
        return "the hard core size limit is 0"
    return None


def _allow_cores():
    limit = resource.getrlimit(resource.RLIMIT_CORE)[1]
    resource.setrlimit(resource.RLIMIT_CORE, (limit, limit))


def _other_glibc(release):
    """heap_oracle built against Debian's glibc `release` (mk/versions.mk), and what gdb needs
    to read that glibc: its debug info and leave to load its libthread_db."""
    root = BUILD / "glibc" / release / "root"
    settings = ["-iex", "set debug-file-directory %s/usr/lib/debug" % root,
                "-iex", "add-auto-load-safe-path %s" % root]
    if release == "2.31":  # before safe-linking: the program writes plain tcache links
        settings += ["-ex", "set environment ORACLE_PLAIN_LINKS 1"]
    return BUILD / "tests" / "versions" / ("heap_oracle-" + release), settings


def _clone_as(release):
    """heap_oracle built against glibc `release` with the clone built as that release
    preloaded (build/libptmalloc-RELEASE.so, mk/allocator_2_31.mk and mk/allocator_2_41.mk)."""
    program, settings = _other_glibc(release)
    clone = BUILD / ("libptmalloc-%s.so" % release)
    # Started without the shell, which runs on the system's glibc and cannot load a library
    # built against another release.
    return program, settings + ["-ex", "set startup-with-shell off",
                                "-ex", "set environment LD_PRELOAD %s" % clone]


# Each allocator the oracle runs under: the program's build and gdb's settings for it.
ALLOCATORS = {
    "clone": (PROGRAM, ["-ex", "set environment LD_PRELOAD %s" % CLONE]),
    "glibc": (PROGRAM, []),
    "linked": (LINKED_PROGRAM, []),
    "glibc-2.31": _other_glibc("2.31"),
    "glibc-2.41": _other_glibc("2.41"),
    "clone-2.31": _clone_as("2.31"),
    "clone-2.41": _clone_as("2.41"),
}


def gdb_command(allocator):
    program, settings = ALLOCATORS[allocator]
    return ([GDB, "-nx", "-q", "-batch"] + settings +
            ["-ex", "set pagination off", "-ex", "set confirm off", "-ex", "set width 0",
             "-ex", "set style enabled off", "-ex", "source %s" % LOADER,
             "-ex", "break oracle_stop", "-ex", "source %s" % DRIVER, str(program)])


def run_in_gdb(cases, allocator, directory):
    """({case id: [answer per mode]}, {case id: why gdb gave no answer}); gdb starts again past a
    case during which it died or hung."""
    answers = collections.defaultdict(list)
    last_mode = {case["id"]: case["modes"][-1] for case in cases}

    def take_answer(line):
        answers[line["case"]].append(line)
        return line["mode"] == last_mode[line["case"]]

    def environment_for(cases_file, out_file):
        return dict(os.environ, ORACLE_CASES=str(cases_file), ORACLE_OUT=str(out_file),
                    ORACLE_DRIVER=str(DRIVER))

    lost = gdb_batches.run_cases(gdb_command(allocator), environment_for, cases, directory,
                                 take_answer, CASE_SECONDS, preexec_fn=_allow_cores)
    return answers, lost


def read_record(path):
    record = {"held": [], "freed": [], "damage": None, "complete": False}
    for line in pathlib.Path(path).read_text().splitlines():
        words = line.split()
        if words[0] == "held":
            record["held"].append((int(words[1], 16), int(words[2])))
        elif words[0] == "freed":
            record["freed"].append(int(words[1], 16))
        elif words[0] == "damage" and words[1] != "none":
            # kind, header, the chunk's size before the damage (where its next chunk is)
            record["damage"] = (words[1], int(words[2], 16), int(words[3], 16))
        elif words[0] == "end":
            record["complete"] = True
    return record


def _json(answer, key):
    text = answer["answers"][key]["text"]
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _chunk_rows(listing):
    rows = {}
    for arena in listing.get("arenas", []):
        for row in arena.get("chunks", []):
            rows[row["address"]] = row
    for row in listing.get("mmapped", []):
        rows[row["address"]] = row
    return rows


def _damage_addresses(mutation, header, true_size):
    """The addresses a finding may name for this damage: the damaged chunk's header or user
    pointer, and for damage that shows in the next header, the chunk that really follows it
    (from its size before the damage, as the program recorded it)."""
    places = {header, header + HEADER}
    if mutation in SHOWS_IN_NEXT_CHUNK:
        places |= {header + true_size, header + true_size + HEADER}
    return places


def _broken_replies(answer):
    """A traceback, an internal error or no answer in time, in any reply."""
    problems = []
    for key, reply in answer["answers"].items():
        text = (reply["text"] or "") + (reply["error"] or "")
        if "Traceback" in text or "internal error" in text or "Python Exception" in text:
            problems.append("%s: traceback or internal error: %s" % (key, text[-300:]))
        if reply["error"] == "interrupted":
            problems.append("%s: did not answer in time" % key)
    return problems


def judge(case, record, answer):
    """The list of what this answer got wrong (empty: it passed)."""
    problems = _broken_replies(answer)
    listing, check = _json(answer, "chunks"), _json(answer, "check")
    if listing is None:
        problems.append("heap chunks --json gave no JSON: %s"
                        % (answer["answers"]["chunks"]["error"] or "")[:200])
    if check is None:
        problems.append("heap check --json gave no JSON: %s"
                        % (answer["answers"]["check"]["error"] or "")[:200])
    if problems:
        return problems
    rows = _chunk_rows(listing)
    damaged = record["damage"][1] if record["damage"] else None
    complete = listing.get("complete", True)
    for user, request in record["held"]:
        header = user - HEADER
        if header == damaged:
            continue
        row = rows.get(header)
        if row is None:
            if complete:
                problems.append("held chunk %#x not listed, yet the listing says complete" % header)
        elif row["state"] != "in-use" or row["size"] < request + 8:
            problems.append("held chunk %#x listed as %s, %d bytes (request %d)"
                            % (header, row["state"], row["size"], request))
    for user in record["freed"]:
        row = rows.get(user - HEADER)
        # A listing that says it is not complete may not know a chunk is free (a broken list).
        if row is not None and row["state"] == "in-use" and user - HEADER != damaged and complete:
            problems.append("freed chunk %#x listed as in use" % (user - HEADER))
    findings = check.get("findings", [])
    mutation = case["mutation"]
    if mutation in UNDAMAGED:
        reliable = [f for f in findings if not f.get("unreliable")]
        if not check.get("ok") or reliable:
            problems.append("false alarm on an undamaged heap: %s"
                            % [(f["rule"], f["address"]) for f in reliable][:5])
        return problems
    if mutation in GLOBAL_MUTATIONS:
        places = {answer.get("global_damage")}
    else:
        places = _damage_addresses(mutation, damaged, record["damage"][2])
    if check.get("ok"):
        problems.append("damage %s at %#x reported ok" % (mutation, min(places)))
    elif not any(f.get("address") in places for f in findings):
        problems.append("damage %s at %#x not named by any finding: %s"
                        % (mutation, min(places), [(f["rule"], f["address"]) for f in findings][:5]))
    return problems


def judge_kernel_core(case, record, answer):
    """What an answer from a kernel core lacking memory got wrong: it may say it cannot read
    the heap (one clean line), or list and check it, but never claim a complete listing or an
    `ok` the core cannot show, and never report a finding on this undamaged heap."""
    problems = _broken_replies(answer)
    for key, reply in answer["answers"].items():
        if reply["text"] is None and not (reply["error"] or "").startswith("heap: "):
            problems.append("%s: neither an answer nor a one-line error: %r"
                            % (key, (reply["error"] or "")[:200]))
    if problems:
        return problems
    held = answer["core_segments"]
    missing = [user - HEADER for user, _request in record["held"]
               if not core_truth.holds(held, user - HEADER, HEADER)]
    listing, check = _json(answer, "chunks"), _json(answer, "check")
    if listing is not None:
        rows = _chunk_rows(listing)
        complete = listing.get("complete", True)
        if complete and missing:
            problems.append("listing says complete, yet the core lacks held chunk %#x"
                            % missing[0])
        fake = dict(answer, answers={"chunks": answer["answers"]["chunks"],
                                     "check": answer["answers"]["check"]})
        if complete:
            problems += [problem for problem in judge(dict(case, mutation="none"), record, fake)
                         if "listed" in problem]
        for address, row in rows.items():
            if row["state"] == "in-use" and address in {u - HEADER for u in record["freed"]} \
                    and complete:
                problems.append("freed chunk %#x listed as in use" % address)
    if check is not None:
        reliable = [f for f in check.get("findings", []) if not f.get("unreliable")]
        if reliable:
            problems.append("finding on an undamaged heap read from a core lacking memory: %s"
                            % [(f["rule"], f["address"], f["message"][:120])
                               for f in reliable][:3])
        if check.get("ok") and missing:
            problems.append("heap check ok, yet the core lacks held chunk %#x" % missing[0])
    return problems


def run(cases, allocator, directory):
    """[(case, mode, problems)] for every case and mode; a lost case counts once per mode."""
    answers, lost = run_in_gdb(cases, allocator, directory)
    outcomes = []
    for case in cases:
        if case["id"] in lost:
            outcomes += [(case, mode, [lost[case["id"]]]) for mode in case["modes"]]
            continue
        if not pathlib.Path(case["record"]).exists():
            outcomes += [(case, mode, ["the program left no record"]) for mode in case["modes"]]
            continue
        record = read_record(case["record"])
        for answer in answers.get(case["id"], []):
            if not answer.get("staged", True):
                outcomes.append((case, answer["mode"], ["not staged: " + answer["stage_error"]]))
            elif case["mutation"] in CORE_KINDS:
                outcomes.append((case, answer["mode"], judge_kernel_core(case, record, answer)))
            else:
                outcomes.append((case, answer["mode"], judge(case, record, answer)))
        given = {answer["mode"] for answer in answers.get(case["id"], [])}
        outcomes += [(case, mode, ["no answer"]) for mode in case["modes"] if mode not in given]
    return outcomes


def summary(outcomes, allocator):
    """One line per (mutation, mode): passed / run."""
    table = collections.OrderedDict()
    for case, mode, problems in outcomes:
        key = (case["mutation"], mode)
        passed, total = table.get(key, (0, 0))
        table[key] = (passed + (not problems), total + 1)
    lines = ["%-7s %-18s %-5s %5d/%-5d" % (allocator, mutation, mode, passed, total)
             for (mutation, mode), (passed, total) in table.items()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=len(MUTATIONS) * 4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--allocator", choices=list(ALLOCATORS), action="append")
    parser.add_argument("--mode", choices=["live", "core"], action="append")
    parser.add_argument("--mutation", choices=MUTATIONS, action="append")
    arguments = parser.parse_args()
    passed = failed = 0
    for allocator in arguments.allocator or ["clone", "glibc"]:
        with tempfile.TemporaryDirectory(prefix="heap-oracle-") as directory:
            cases = make_cases(arguments.seed, arguments.cases, arguments.mutation or MUTATIONS,
                               arguments.mode or ("live", "core"), directory)
            outcomes = run(cases, allocator, directory)
        print(summary(outcomes, allocator))
        for case, mode, problems in outcomes:
            passed += not problems
            failed += bool(problems)
            for problem in problems:
                print("FAIL %s case %d (%s, seed %d, %d threads) %s: %s"
                      % (allocator, case["id"], case["mutation"], case["seed"], case["threads"],
                         mode, problem))
    print("oracle: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
