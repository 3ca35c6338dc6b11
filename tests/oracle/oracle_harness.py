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
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
BUILD = pathlib.Path(os.environ.get("PTM_BUILD", REPO_ROOT / "build"))
PROGRAM = BUILD / "tests" / "oracle" / "heap_oracle"
CLONE = BUILD / "libptmalloc.so"
LOADER = REPO_ROOT / "gdb" / "ptmalloc-gdb.py"
DRIVER = HERE / "oracle_driver.py"
GDB = os.environ.get("GDB", "gdb")

HEADER = 16
PROGRAM_MUTATIONS = ["none", "busy", "zero-header", "size-grow", "size-garbage", "clear-prev-inuse",
                     "tcache-link", "tcache-cycle", "fastbin-link", "mmapped-size"]
GLOBAL_MUTATIONS = ["mp-tcache-bins", "global-max-fast", "arena-ring-null", "arena-ring-loop",
                    "tcache-count", "n-mmaps"]
MUTATIONS = PROGRAM_MUTATIONS + GLOBAL_MUTATIONS
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
        cases.append({"id": number, "seed": chooser.randrange(1, 1 << 30), "mutation": mutation,
                      "threads": threads, "modes": list(modes),
                      "record": str(pathlib.Path(directory) / ("case-%d.record" % number))})
    return cases


def _other_glibc(release):
    """heap_oracle built against Debian's glibc `release` (mk/versions.mk), and what gdb needs
    to read that glibc: its debug info and leave to load its libthread_db."""
    root = BUILD / "glibc" / release / "root"
    settings = ["-iex", "set debug-file-directory %s/usr/lib/debug" % root,
                "-iex", "add-auto-load-safe-path %s" % root]
    if release == "2.31":  # before safe-linking: the program writes plain tcache links
        settings += ["-ex", "set environment ORACLE_PLAIN_LINKS 1"]
    return BUILD / "tests" / "versions" / ("heap_oracle-" + release), settings


# Each allocator the oracle runs under: the program's build and gdb's settings for it.
ALLOCATORS = {
    "clone": (PROGRAM, ["-ex", "set environment LD_PRELOAD %s" % CLONE]),
    "glibc": (PROGRAM, []),
    "glibc-2.31": _other_glibc("2.31"),
    "glibc-2.41": _other_glibc("2.41"),
}


def gdb_command(allocator):
    program, settings = ALLOCATORS[allocator]
    return ([GDB, "-nx", "-q", "-batch"] + settings +
            ["-ex", "set pagination off", "-ex", "set confirm off", "-ex", "set width 0",
             "-ex", "set style enabled off", "-ex", "source %s" % LOADER,
             "-ex", "break oracle_stop", "-ex", "source %s" % DRIVER, str(program)])


def _read_lines(path):
    lines = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


def run_in_gdb(cases, allocator, directory):
    """({case id: [answer per mode]}, {case id: why gdb gave no answer}).  A case during which
    gdb dies or hangs is lost; gdb starts again at the case after it."""
    answers, lost = collections.defaultdict(list), {}
    remaining = list(cases)
    while remaining:
        cases_file = pathlib.Path(directory) / "cases.json"
        out_file = pathlib.Path(directory) / "answers.jsonl"
        cases_file.write_text(json.dumps(remaining))
        out_file.write_text("")
        environment = dict(os.environ, ORACLE_CASES=str(cases_file), ORACLE_OUT=str(out_file))
        try:
            completed = subprocess.run(gdb_command(allocator), env=environment,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       timeout=CASE_SECONDS * len(remaining), check=False)
            transcript = completed.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as expired:
            transcript = (expired.stdout or b"").decode(errors="replace") + "\n(gdb timed out)"
        last_started, finished = None, set()
        for line in _read_lines(out_file):
            if "started" in line:
                last_started = line["case"]
            elif "harness_error" in line:
                lost[line["case"]] = "harness: " + line["harness_error"]
                finished.add(line["case"])
            else:
                answers[line["case"]].append(line)
                if line["mode"] == remaining[0]["modes"][-1]:
                    finished.add(line["case"])
        if last_started is None:
            for case in remaining:
                lost[case["id"]] = "gdb answered nothing: " + transcript[-600:].strip()
            break
        if last_started not in finished:
            lost[last_started] = "gdb ended during the case: " + transcript[-600:].strip()
        remaining = [case for case in remaining if case["id"] > last_started]
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
            record["damage"] = (words[1], int(words[2], 16))
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


def _damage_addresses(mutation, header, rows):
    """The addresses a finding may name for this damage."""
    places = {header, header + HEADER}
    if mutation in SHOWS_IN_NEXT_CHUNK:
        following = sorted(address for address in rows if address > header)
        if following:
            places.add(following[0])
            places.add(following[0] + HEADER)
    return places


def judge(case, record, answer):
    """The list of what this answer got wrong (empty: it passed)."""
    problems = []
    for key, reply in answer["answers"].items():
        text = (reply["text"] or "") + (reply["error"] or "")
        if "Traceback" in text or "internal error" in text or "Python Exception" in text:
            problems.append("%s: traceback or internal error: %s" % (key, text[-300:]))
        if reply["error"] == "interrupted":
            problems.append("%s: did not answer in time" % key)
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
        places = _damage_addresses(mutation, damaged, rows)
    if check.get("ok"):
        problems.append("damage %s at %#x reported ok" % (mutation, min(places)))
    elif not any(f.get("address") in places for f in findings):
        problems.append("damage %s at %#x not named by any finding: %s"
                        % (mutation, min(places), [(f["rule"], f["address"]) for f in findings][:5]))
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
