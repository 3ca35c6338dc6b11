"""Shared by the statistics and tunables tests: where the built programs and the clone live, and
how to run a program plain (system glibc, the oracle) or with the clone preloaded."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("PTM_BUILD", REPO / "build"))
CLONE = BUILD / "libptmalloc.so"
PROGRAMS = BUILD / "tests" / "stats"
TLS_PEER = PROGRAMS / "libtls_peer.so"
# A program that hangs is a failure, never a stuck `make test`.
RUN_TIMEOUT = 60


def run_program(program, args=(), preload=False, env=None, clone=CLONE, tls_peer=TLS_PEER):
    """Runs one program with the clone preloaded, or plain with only the TLS peer preloaded (so
    both processes have the same TLS modules); env (a dict, order kept) replaces the environment
    when given.  `clone` and `tls_peer`: their builds for another release."""
    environment = dict(env) if env is not None else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    environment["LD_PRELOAD"] = str(clone if preload else tls_peer)
    try:
        return subprocess.run([str(program), *args], env=environment, capture_output=True,
                              timeout=RUN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{program.name} {' '.join(args)}: no exit within {RUN_TIMEOUT}s", pytrace=False)


@pytest.fixture(autouse=True, scope="session")
def built_programs():
    missing = [str(path) for path in (CLONE, TLS_PEER, PROGRAMS / "stats_scenarios",
                                      PROGRAMS / "tunables_probe")
               if not path.exists()]
    if missing:
        pytest.fail("not built: " + ", ".join(missing) + " (run make)", pytrace=False)
