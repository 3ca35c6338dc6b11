"""Threads against the allocator: content-verified stress with cross-thread frees and thread
exit, the number of arenas glibc 2.36 would have made (also under arena tunables and mallopt),
arena reuse after thread exit, per-arena statistics that add up, and fork while threads churn."""
import re

import pytest

from conftest import LIBRARIES, run_program


@pytest.mark.parametrize("library", LIBRARIES)
def test_stress_with_content_verification(library):
    result = run_program("thread_stress", [4, 3, 20000], library)
    assert result.returncode == 0, result.stderr[-1000:]
    match = re.search(r"(\d+) blocks verified", result.stdout)
    assert match and int(match.group(1)) > 100000, result.stdout


@pytest.mark.parametrize("library", LIBRARIES)
def test_fork_while_threads_churn(library):
    result = run_program("fork_churn", [4, 300], library)
    assert result.returncode == 0, result.stdout + result.stderr[-1000:]
    assert "300 forks with 4 churning threads: 0 deadlocked, 0 failed" in result.stdout


ARENA_MODES = [
    ["concurrent", 5],
    ["concurrent", 20],
    ["waves", 3, 4],
    ["mallopt-max", 3, 10],
    ["reuse"],
]
ARENA_ENVIRONMENTS = {
    "defaults": {},
    "tunable-arena_max=2": {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"},
    "tunable-arena_test=2": {"GLIBC_TUNABLES": "glibc.malloc.arena_test=2"},
    "MALLOC_ARENA_MAX=1": {"MALLOC_ARENA_MAX": "1"},
    "MALLOC_ARENA_MAX=4": {"MALLOC_ARENA_MAX": "4"},
}
# With a single arena, "reuse" reports brk addresses, which move with ASLR: nothing to compare.
ARENA_CASES = [(mode, env) for mode in ARENA_MODES for env in ARENA_ENVIRONMENTS
               if not (mode == ["reuse"] and env == "MALLOC_ARENA_MAX=1")]


def arena_lines(output):
    """The program's own findings, before the final malloc_info dump."""
    return [line for line in output.splitlines() if "arenas=" in line or line.startswith("mallopt(")]


@pytest.mark.parametrize("mode,environment", ARENA_CASES,
                         ids=[" ".join(map(str, mode)) + " " + env for mode, env in ARENA_CASES])
def test_arena_count_matches_glibc(mode, environment):
    env = ARENA_ENVIRONMENTS[environment]
    glibc = run_program("arena_count", mode, "glibc", env)
    clone = run_program("arena_count", mode, "clone", env)
    assert glibc.returncode == 0, glibc.stderr
    assert clone.returncode == 0, clone.stderr[-1000:]
    assert arena_lines(glibc.stdout), glibc.stdout
    assert arena_lines(clone.stdout) == arena_lines(glibc.stdout)


def test_exited_thread_arena_is_reused():
    clone = run_program("arena_count", ["reuse"], "clone")
    assert "same heap=yes arenas=2" in clone.stdout, clone.stdout + clone.stderr


def parse_report(output):
    heaps = re.findall(r'<heap nr="\d+">(.*?)</heap>', output, re.S)
    after_heaps = output[output.rindex("</heap>"):]

    def figures(text, kind, tag="total"):
        found = re.search(rf'<{tag} type="{kind}" (?:count="(\d+)" )?size="(\d+)"/>', text)
        return tuple(int(value) for value in found.groups() if value is not None)

    info = dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", output.split("mallinfo2:")[1]))
    return heaps, after_heaps, figures, info


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("mode", [["concurrent", 20], ["waves", 3, 4]], ids=["concurrent", "waves"])
def test_per_arena_figures_add_up(library, mode):
    result = run_program("arena_count", mode, library)
    assert result.returncode == 0, result.stderr[-1000:]
    heaps, totals, figures, info = parse_report(result.stdout)
    assert len(heaps) > 1
    fast = [figures(heap, "fast") for heap in heaps]
    rest = [figures(heap, "rest") for heap in heaps]
    system = [figures(heap, "current", "system")[0] for heap in heaps]
    assert figures(totals, "fast") == (sum(c for c, _ in fast), sum(s for _, s in fast))
    assert figures(totals, "rest") == (sum(c for c, _ in rest), sum(s for _, s in rest))
    assert figures(totals, "current", "system") == (sum(system),)
    assert info["arena"] == sum(system)
    assert info["smblks"] == sum(c for c, _ in fast)
    assert info["fsmblks"] == sum(s for _, s in fast)
    assert info["ordblks"] == sum(c for c, _ in rest)
    assert figures(totals, "mmap") == (info["hblks"], info["hblkhd"])
    assert info["uordblks"] + info["fordblks"] == info["arena"]
