"""fork() under threads takes its locks in glibc's order, so no program's locks can close a cycle
with the allocator's: libio's list lock before the arena locks (threads forking while others
realloc inside getline() and one flushes every stream), and atfork handlers that allocate,
wherever they were registered (a linked library's constructor, before a preloaded clone's
handlers; the program's constructor; main before the first malloc; under threads).  Run under
system glibc (the oracle: it must pass there too) and with the clone preloaded, linked as a
shared library and linked in from libptmalloc.a.  Each program counts forks, not seconds, and
reports a deadlock itself when forks stop completing."""
import re

import pytest

from conftest import LIBRARIES, LINKED_BUILDS, run_program

BUILDS = LIBRARIES + LINKED_BUILDS
# An allocator with the wrong order deadlocks within the first few forks of either program.
STDIO_FORKS = 2000
HANDLER_FORKS = 300


def _forks_reported(result):
    match = re.search(r"^(\d+) forks, .*: ok$", result.stdout, re.MULTILINE)
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize("library", BUILDS)
def test_fork_while_threads_hold_stdio_locks(library):
    result = run_program("fork_stdio", [STDIO_FORKS, 2, 2], library)
    assert result.returncode == 0, result.stdout + result.stderr[-1000:]
    assert _forks_reported(result) >= STDIO_FORKS, result.stdout
    assert " 0 children failed" in result.stdout


@pytest.mark.parametrize("library", BUILDS)
def test_fork_handlers_that_allocate(library):
    result = run_program("fork_handlers", [HANDLER_FORKS, 2, 2], library)
    assert result.returncode == 0, result.stdout + result.stderr[-1000:]
    assert _forks_reported(result) >= HANDLER_FORKS, result.stdout
