"""Where the thread test programs and the clone live, and how to run one plain (system glibc,
the oracle) or with the clone preloaded, always under a timeout so a deadlock fails the test."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("PTM_BUILD", REPO / "build"))
CLONE = BUILD / "libptmalloc.so"
PROGRAMS = BUILD / "tests" / "threads"
RUN_TIMEOUT = 120

LIBRARIES = ["glibc", "clone"]
# Builds of a program with the clone linked in rather than preloaded: beside it, with a suffix.
LINKED_BUILDS = ["linked", "static"]


def run_program(name, args=(), library="glibc", extra_env=None):
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    environment.update(extra_env or {})
    if library == "clone":
        environment["LD_PRELOAD"] = str(CLONE)
    program = f"{name}-{library}" if library in LINKED_BUILDS else name
    command = [str(PROGRAMS / program), *map(str, args)]
    try:
        result = subprocess.run(command, env=environment, capture_output=True, text=True,
                                timeout=RUN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(command[1:]) or name} under {library}: no exit within {RUN_TIMEOUT}s "
                    "(deadlock?)", pytrace=False)
    return result


@pytest.fixture(autouse=True, scope="session")
def built_programs():
    missing = [str(path) for path in (CLONE, PROGRAMS / "thread_stress", PROGRAMS / "arena_count",
                                      PROGRAMS / "fork_stdio", PROGRAMS / "fork_handlers",
                                      PROGRAMS / "fork_churn") if not path.exists()]
    if missing:
        pytest.fail("not built: " + ", ".join(missing) + " (run make)", pytrace=False)
