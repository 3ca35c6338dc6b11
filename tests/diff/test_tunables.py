"""Issue 3's tunables line: the differential traces again, under every glibc.malloc tunable, every
legacy MALLOC_* variable and every mallopt parameter (in range and out of range), plain vs
clone, 100% identical.  mallopt's return values are part of the compared output; where perturbing
is on, so is a hash of what every new block holds."""
import os

import pytest

import difftools

# mk/diff_2_31.mk runs the second release's pass shorter (PTM_TUNABLE_SEEDS, PTM_TRACE_OPERATIONS).
SEEDS = (11, 12, 13)[:int(os.environ.get("PTM_TUNABLE_SEEDS", "3"))]
OPERATIONS = min(6000, difftools.TRACE_OPERATIONS)
MIB = 1 << 20

TUNABLE_VALUES = {
    "tcache_count": ["0", "1", "3", "100", "65535", "65536"],
    "tcache_max": ["0", "24", "100", "500", "1032", "2000"],
    "tcache_unsorted_limit": ["1", "5"],
    "mxfast": ["0", "32", "80", "160", "161"],
    "top_pad": ["0", "4096", str(MIB)],
    "trim_threshold": ["0", "4096", str(MIB)],
    "mmap_threshold": ["4096", "65536", str(MIB), str(64 * MIB)],
    "mmap_max": ["0", "1", "4"],
    "arena_max": ["0", "1", "2"],
    "arena_test": ["0", "1", "4"],
    "perturb": ["0", "1", "170", "255", "256"],
    "hugetlb": ["0"],
}

ALIAS_VALUES = {
    "MALLOC_TOP_PAD_": ["0", "65536", "0x1000"],
    "MALLOC_PERTURB_": ["85", "300"],
    "MALLOC_MMAP_THRESHOLD_": ["8192", str(MIB), "-1"],
    "MALLOC_TRIM_THRESHOLD_": ["0", "4096", "010000"],
    "MALLOC_MMAP_MAX_": ["0", "2", "-1"],
    "MALLOC_ARENA_MAX": ["1", "0"],
    "MALLOC_ARENA_TEST": ["1", "0"],
}

# mallopt numbers: M_MXFAST 1, M_TRIM_THRESHOLD -1, M_TOP_PAD -2, M_MMAP_THRESHOLD -3,
# M_MMAP_MAX -4, M_CHECK_ACTION -5, M_PERTURB -6, M_ARENA_TEST -7, M_ARENA_MAX -8
MALLOPT_VALUES = {
    "M_MXFAST": (1, [0, 8, 64, 160, 161, -1]),
    "M_TRIM_THRESHOLD": (-1, [0, 65536, -1]),
    "M_TOP_PAD": (-2, [0, MIB, -1]),
    "M_MMAP_THRESHOLD": (-3, [4096, MIB, 64 * MIB, -1]),
    "M_MMAP_MAX": (-4, [0, 2, -1]),
    "M_CHECK_ACTION": (-5, [3]),
    "M_PERTURB": (-6, [90, -1, 1000]),
    "M_ARENA_TEST": (-7, [1, 0, -1]),
    "M_ARENA_MAX": (-8, [1, 0, -1]),
    "unknown parameter": (99, [1]),
}

PRECEDENCE_CASES = {
    "tunable beats alias": {"GLIBC_TUNABLES": "glibc.malloc.top_pad=0", "MALLOC_TOP_PAD_": str(MIB)},
    "several tunables": {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=2:glibc.malloc.mxfast=64:"
                                           "glibc.malloc.perturb=33"},
    "unknown tunable ignored": {"GLIBC_TUNABLES": "glibc.malloc.no_such_thing=5:glibc.malloc.mxfast=0"},
}


def threshold_floor(environment):
    """The mmap threshold an environment sets, which the generator must know (see trace_gen.c)."""
    for variable, prefix in (("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold="),
                             ("MALLOC_MMAP_THRESHOLD_", "")):
        for setting in environment.get(variable, "").split(":"):
            if setting.startswith(prefix) and setting[len(prefix):].isdigit():
                return int(setting[len(prefix):])
    return None


def cases():
    for name, values in TUNABLE_VALUES.items():
        for value in values:
            environment = {"GLIBC_TUNABLES": f"glibc.malloc.{name}={value}"}
            yield pytest.param(environment, (), name == "perturb", id=f"tunable-{name}={value}")
    for name, values in ALIAS_VALUES.items():
        for value in values:
            yield pytest.param({name: value}, (), name == "MALLOC_PERTURB_", id=f"env-{name}={value}")
    for name, (number, values) in MALLOPT_VALUES.items():
        for value in values:
            yield pytest.param({}, (f"{number}={value}",), number == -6,
                               id=f"mallopt-{name}={value}")
    for label, environment in PRECEDENCE_CASES.items():
        yield pytest.param(environment, (), "perturb" in str(environment), id=label)


def replay_with_content(trace, environment, with_content):
    if not with_content:
        return difftools.replay_both(trace, environment)
    arguments = [str(difftools.REPLAY), "--content"]
    plain = difftools.run(arguments, preload=False, env=environment, input_bytes=trace)
    cloned = difftools.run(arguments, preload=True, env=environment, input_bytes=trace)
    header = trace.split(b"\n", 1)[0].decode(errors="replace")
    difference = difftools.first_difference(plain.stdout, cloned.stdout)
    if plain.returncode != 0 or cloned.returncode != 0 or difference:
        return f"{header} (content hashes on): status {plain.returncode}/{cloned.returncode}\n{difference}"
    return difftools.replay_both(trace, environment)


@pytest.mark.parametrize("environment, mallopts, with_content", cases())
def test_traces_match_glibc_under_setting(environment, mallopts, with_content):
    extra = ["--no-mallopt", "--stats"]
    floor = threshold_floor(environment)
    if floor is not None:
        extra += ["--mmap-floor", str(floor)]
    for setting in mallopts:
        extra += ["--mallopt", setting]
    traces = [difftools.generate_trace(seed, OPERATIONS, extra) for seed in SEEDS]
    failures = [message for message in (replay_with_content(trace, environment, with_content)
                                        for trace in traces) if message]
    assert not failures, "\n\n".join(failures)
