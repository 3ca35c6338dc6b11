"""Shared machinery of the differential tests: where the programs are, how to run one plain and
under the clone, and how to say precisely where two outputs part ways.

glibc 2.36 on this machine is the oracle: every comparison runs the same program twice, once as
is and once with build/libptmalloc.so in LD_PRELOAD, and demands identical answers.  With
PTM_GLIBC=2.31 the oracle is Debian's glibc 2.31 fetched by `make glibc-versions`: the programs
are the ones built against it (build/diff-2.31/, run by its loader) and the clone is
build/libptmalloc-2.31.so; PTM_GLIBC=2.41 likewise with Debian's 2.41.
"""
import concurrent.futures
import os
import pathlib
import subprocess

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("PTM_BUILD", REPO_ROOT / "build"))
# The glibc release under test: the system's, or one fetched beside it (mk/versions.mk).
RELEASE = os.environ.get("PTM_GLIBC", "2.36")
SYSTEM_RELEASE = RELEASE == "2.36"
CLONE = BUILD / ("libptmalloc.so" if SYSTEM_RELEASE else f"libptmalloc-{RELEASE}.so")
DIFF_BIN = BUILD / ("diff" if SYSTEM_RELEASE else f"diff-{RELEASE}")
# Where the release's libc and its debug information live.
GLIBC_ROOT = pathlib.Path("/") if SYSTEM_RELEASE else BUILD / "glibc" / RELEASE / "root"
# Its libc.so.6: under /lib in 2.31's packages, under /usr/lib from 2.41's (merged /usr).
GLIBC_LIBC = next((path for path in (GLIBC_ROOT / "lib/x86_64-linux-gnu/libc.so.6",
                                     GLIBC_ROOT / "usr/lib/x86_64-linux-gnu/libc.so.6")
                   if path.exists()), GLIBC_ROOT / "lib/x86_64-linux-gnu/libc.so.6")
TRACE_GEN = BUILD / "diff" / "trace_gen"  # writes text only: any build of it will do
REPLAY = DIFF_BIN / "replay"
CORRUPT = DIFF_BIN / "corrupt"
# How long the traces are (mk/diff_2_31.mk shortens them for the second release).
TRACE_OPERATIONS = int(os.environ.get("PTM_TRACE_OPERATIONS", "20000"))

# Entry points the replayer reports the provider of; all must come from the clone when preloaded.
CLONE_NAME = CLONE.name
WORKERS = max(1, min(4, os.cpu_count() or 1))

# Variables that would change the allocator's behaviour behind a test's back.
_ALLOCATOR_VARIABLES = ("GLIBC_TUNABLES", "LD_PRELOAD", "MALLOC_CHECK_", "MALLOC_PERTURB_",
                        "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                        "MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST")


def base_environment(extra=None):
    """The environment of a plain run: the caller's, minus anything that tunes malloc."""
    environment = {k: v for k, v in os.environ.items() if k not in _ALLOCATOR_VARIABLES}
    environment["LC_ALL"] = "C"
    # glibc 2.36 prints fatal messages on stderr anyway; this keeps it so on any glibc.
    environment["LIBC_FATAL_STDERR_"] = "1"
    environment.update(extra or {})
    return environment


def clone_environment(extra=None):
    environment = base_environment(extra)
    environment["LD_PRELOAD"] = str(CLONE)
    return environment


def run(argv, *, preload, env=None, input_bytes=None, cwd=None, timeout=120):
    """Runs a program plain or under the clone; returns the CompletedProcess (bytes)."""
    environment = clone_environment(env) if preload else base_environment(env)
    return subprocess.run(argv, input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=environment, cwd=cwd, timeout=timeout, check=False)


def first_difference(expected, actual, expected_name="glibc", actual_name="clone", context=3):
    """None when equal, else a short report around the first differing line."""
    if expected == actual:
        return None
    if isinstance(expected, bytes):
        expected = expected.decode("utf-8", "replace")
    if isinstance(actual, bytes):
        actual = actual.decode("utf-8", "replace")
    expected_lines = expected.splitlines()
    actual_lines = actual.splitlines()
    index = 0
    while (index < len(expected_lines) and index < len(actual_lines)
           and expected_lines[index] == actual_lines[index]):
        index += 1
    if index == len(expected_lines) and index == len(actual_lines):
        return "outputs differ only in line endings or a final newline"
    report = [f"first difference at line {index + 1}:"]
    for line in expected_lines[max(0, index - context):index]:
        report.append(f"    {line}")
    shown_expected = expected_lines[index] if index < len(expected_lines) else "<end of output>"
    shown_actual = actual_lines[index] if index < len(actual_lines) else "<end of output>"
    report.append(f"  {expected_name}: {shown_expected}")
    report.append(f"  {actual_name}: {shown_actual}")
    report.append(f"  ({len(expected_lines)} lines from {expected_name}, "
                  f"{len(actual_lines)} from {actual_name})")
    return "\n".join(report)


def generate_trace(seed, operations, extra_arguments=()):
    completed = subprocess.run([str(TRACE_GEN), str(seed), str(operations), *extra_arguments],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"trace_gen {seed} failed: {completed.stderr.decode(errors='replace')}")
    return completed.stdout


def split_providers(output):
    """Separates the replayer's trace answers from its 'provider NAME OBJECT' lines."""
    answers, providers = [], {}
    for line in output.decode("utf-8", "replace").splitlines():
        if line.startswith("provider "):
            _, name, provider = line.split(" ", 2)
            providers[name] = provider
        else:
            answers.append(line)
    return "\n".join(answers) + "\n", providers


def replay_both(trace, env=None):
    """Replays one trace plain and under the clone; returns a failure message or None."""
    plain = run([str(REPLAY), "--providers"], preload=False, env=env, input_bytes=trace)
    cloned = run([str(REPLAY), "--providers"], preload=True, env=env, input_bytes=trace)
    header = trace.split(b"\n", 1)[0].decode(errors="replace")
    if plain.returncode < 0 and cloned.returncode == plain.returncode:
        # glibc itself died (2.31's memalign overflow): the clone must die there too.
        difference = first_difference(plain.stdout, cloned.stdout)
        return f"{header}: {difference}" if difference else None
    if plain.returncode != 0:
        return (f"{header}: plain replay failed with status {plain.returncode}: "
                f"{plain.stderr.decode(errors='replace').strip()[:500]}")
    plain_answers, plain_providers = split_providers(plain.stdout)
    clone_answers, clone_providers = split_providers(cloned.stdout)
    foreign = sorted(name for name, provider in clone_providers.items() if provider != CLONE_NAME)
    if cloned.returncode == 0 and foreign:
        return (f"{header}: the clone does not provide {', '.join(foreign)} "
                f"(resolved to {clone_providers[foreign[0]]}), so the run proves nothing")
    difference = first_difference(plain_answers, clone_answers)
    if cloned.returncode != 0:
        stderr = cloned.stderr.decode(errors="replace").strip()[:500]
        return (f"{header}: clone replay died with status {cloned.returncode} ({stderr})\n"
                f"{difference or ''}")
    if difference:
        return f"{header}: {difference}"
    return None


def replay_many(traces, env=None):
    """Replays traces on all cores; returns the failure messages (empty when all agree)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(lambda trace: replay_both(trace, env), traces))
    return [message for message in results if message]
