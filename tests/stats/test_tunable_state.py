"""GLIBC_TUNABLES, the MALLOC_*_ aliases and mallopt must leave the allocator's parameters (mp_,
global_max_fast, perturb_byte) exactly as glibc 2.36 leaves its own, and mallopt must return what
glibc returns.  Both sides are read by gdb at the same point of the same program; every case is
one run with exactly the listed environment, in that order."""
import json
import os
import subprocess
import tempfile

import pytest

from conftest import CLONE, PROGRAMS

PROBE = PROGRAMS / "tunables_probe"
GDB_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe_state.py")
GDB_TIMEOUT = 300


def tunables(*pairs):
    return [("GLIBC_TUNABLES", ":".join(f"glibc.malloc.{name}={value}" for name, value in pairs))]


def raw_tunables(text):
    return [("GLIBC_TUNABLES", text)]


SINGLE_TUNABLE_VALUES = {
    "top_pad": ["0", "4096", "-1", "-4096"],
    "perturb": ["0x5a", "255", "256", "-1", "0"],
    "mmap_threshold": ["65536", "0", "-1", "1073741824"],
    "trim_threshold": ["12345", "0"],
    "mmap_max": ["0", "5", "-1", "2147483647", "2147483648"],
    "arena_max": ["0", "1", "2", "-1"],
    "arena_test": ["0", "1", "3"],
    "tcache_max": ["0", "1", "24", "25", "100", "1032", "1033", "-1"],
    "tcache_count": ["0", "1", "65535", "65536"],
    "tcache_unsorted_limit": ["0", "5"],
    "mxfast": ["0", "1", "7", "8", "64", "160", "161", "-1"],
    "hugetlb": ["0", "1", "2", "3", "4096", "2097152", "1073741824"],
    "check": ["1", "4"],
}

NUMBER_SYNTAX = ["010", "0X1f", "+5", "12abc", "abc", "", "08", "18446744073709551614",
                 "99999999999999999999", "0x10000000000000000"]

ENV_CASES = [[]]
ENV_CASES += [tunables((name, value)) for name, values in SINGLE_TUNABLE_VALUES.items() for value in values]
ENV_CASES += [tunables(("top_pad", text)) for text in NUMBER_SYNTAX]
ENV_CASES += [
    tunables(("top_pad", "1"), ("perturb", "2"), ("mxfast", "64"), ("tcache_count", "3"),
             ("tcache_max", "200"), ("arena_max", "3"), ("mmap_max", "7")),
    tunables(("top_pad", "1"), ("top_pad", "2")),
    tunables(("perturb", "9"), ("perturb", "300")),
    raw_tunables("glibc.malloc.top_pad:glibc.malloc.perturb=3"),
    raw_tunables("glibc.malloc.perturb=3:glibc.malloc.top_pad"),
    raw_tunables("glibc.malloc.top_pad=5=6"),
    raw_tunables("glibc.cpu.hwcaps=-AVX2:glibc.malloc.perturb=9"),
    raw_tunables("::glibc.malloc.perturb=9:"),
    raw_tunables("glibc.malloc.perturbx=9:glibc.malloc.perturb_=8:glibc.malloc.pertur=7"),
    raw_tunables("glibc.malloc.mxfast=0:glibc.malloc.tcache_count=0:glibc.malloc.tcache_max=0"),
    raw_tunables("=5:glibc.malloc.perturb=4"),
    raw_tunables(""),
    [("MALLOC_TOP_PAD_", "4096")],
    [("MALLOC_PERTURB_", "17")],
    [("MALLOC_PERTURB_", "300")],
    [("MALLOC_MMAP_THRESHOLD_", "300000")],
    [("MALLOC_TRIM_THRESHOLD_", "0x100000")],
    [("MALLOC_MMAP_MAX_", "3")],
    [("MALLOC_ARENA_MAX", "2")],
    [("MALLOC_ARENA_MAX", "0")],
    [("MALLOC_ARENA_TEST", "4")],
    [("MALLOC_CHECK_", "3")],
    [("MALLOC_TOP_PAD", "4096"), ("MALLOC_TCACHE_COUNT_", "1")],
    # Precedence: GLIBC_TUNABLES wins in either order, but an invalid value there does not
    # block a valid alias.
    tunables(("top_pad", "1")) + [("MALLOC_TOP_PAD_", "2")],
    [("MALLOC_TOP_PAD_", "2")] + tunables(("top_pad", "1")),
    tunables(("perturb", "300")) + [("MALLOC_PERTURB_", "5")],
    [("MALLOC_PERTURB_", "5")] + tunables(("perturb", "300")),
    [("MALLOC_ARENA_MAX", "0")] + tunables(("arena_test", "2")),
    [("MALLOC_MMAP_MAX_", "-1"), ("MALLOC_ARENA_TEST", "0"), ("MALLOC_TRIM_THRESHOLD_", "-1")],
]

M_MXFAST, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX = 1, -1, -2, -3, -4
M_CHECK_ACTION, M_PERTURB, M_ARENA_TEST, M_ARENA_MAX = -5, -6, -7, -8

MALLOPT_CASES = [
    [f"{M_MXFAST}:{v}" for v in (0, 1, 7, 8, 64, 160, 161, -1, 100)],
    [f"{M_TRIM_THRESHOLD}:{v}" for v in (0, -1, 1048576)],
    [f"{M_TOP_PAD}:{v}" for v in (-1, 0)],
    [f"{M_MMAP_THRESHOLD}:{v}" for v in (0, 1073741824, -1, 4096)],
    [f"{M_MMAP_MAX}:{v}" for v in (0, -5, 9)],
    [f"{M_CHECK_ACTION}:3", f"{M_CHECK_ACTION}:-1"],
    [f"{M_PERTURB}:{v}" for v in (256, -1, 0xAA)],
    [f"{M_ARENA_TEST}:{v}" for v in (0, -1, 5)],
    [f"{M_ARENA_MAX}:{v}" for v in (0, -3, 4, 1)],
    [f"{param}:1" for param in (2, 3, 4, 99, -9, -100)],
    [f"{M_MMAP_THRESHOLD}:{2**31 - 1}", f"{M_MXFAST}:0", f"{M_PERTURB}:0"],
]

CASES = [{"env": env} for env in ENV_CASES]
CASES += [{"env": [], "mallopt": calls} for calls in MALLOPT_CASES]
# Tunables first, then mallopt on top of them.
CASES += [{"env": tunables(("mxfast", "32"), ("perturb", "1"), ("arena_max", "5")),
           "mallopt": [f"{M_MXFAST}:161", f"{M_PERTURB}:0", f"{M_ARENA_MAX}:0"]}]


def case_label(case):
    env = " ".join(f"{name}={value}" for name, value in case["env"]) or "(no environment)"
    return env + (" mallopt " + " ".join(case["mallopt"]) if case.get("mallopt") else "")


class GdbProbe:
    """One gdb session running every case against one library; started at once so the glibc and
    the clone sessions run side by side."""

    def __init__(self, source_file, preload):
        self.source_file = source_file
        self.scratch = tempfile.TemporaryDirectory()
        cases = [dict(case, env=list(case["env"]) + ([("LD_PRELOAD", str(CLONE))] if preload else []))
                 for case in CASES]
        cases_path = os.path.join(self.scratch.name, "cases.json")
        self.out_path = os.path.join(self.scratch.name, "states.jsonl")
        with open(cases_path, "w") as handle:
            json.dump(cases, handle)
        env = dict(os.environ, PTM_PROBE_CASES=cases_path, PTM_PROBE_OUT=self.out_path,
                   PTM_PROBE_SOURCE=source_file)
        self.process = subprocess.Popen(["gdb", "-nx", "-batch", "-x", GDB_SCRIPT, str(PROBE)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def states(self):
        try:
            self.process.wait(timeout=GDB_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"gdb probe ({self.source_file}) did not finish within {GDB_TIMEOUT}s", pytrace=False)
        try:
            with open(self.out_path) as handle:
                return [json.loads(line) for line in handle]
        except OSError:
            pytest.fail(f"gdb probe ({self.source_file}) wrote nothing", pytrace=False)
        finally:
            self.scratch.cleanup()


@pytest.fixture(scope="module")
def probed_states():
    glibc_probe = GdbProbe("malloc.c", preload=False)
    clone_probe = GdbProbe("tunables.c", preload=True)
    return glibc_probe.states(), clone_probe.states()


@pytest.fixture(scope="module")
def glibc_states(probed_states):
    return probed_states[0]


@pytest.fixture(scope="module")
def clone_states(probed_states):
    return probed_states[1]


def test_oracle_sees_every_case_and_the_settings_matter(glibc_states):
    assert len(glibc_states) == len(CASES)
    errors = [(case_label(CASES[i]), state["error"]) for i, state in enumerate(glibc_states) if "error" in state]
    assert not errors, errors
    # A harness that never changed anything would pass every comparison; it must not.
    distinct = {json.dumps({k: v for k, v in state.items() if k != "mallopt_results"}, sort_keys=True)
                for state in glibc_states}
    assert len(distinct) > 30


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case_label(case) for case in CASES])
def test_state_identical_to_glibc(index, glibc_states, clone_states):
    glibc, clone = glibc_states[index], clone_states[index]
    assert "error" not in glibc, glibc
    assert "error" not in clone, clone
    differences = {key: (glibc[key], clone[key]) for key in glibc if glibc[key] != clone.get(key)}
    assert not differences, f"(glibc, clone): {differences}"
