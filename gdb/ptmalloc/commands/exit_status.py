"""gdb -batch's exit status follows `heap check`, not only the last command.

gdb -batch exits with the status of its last command, so `gdb -batch -ex 'heap check' -ex kill`
exits 0 whatever the verdict.  A `heap check` that fails as a gdb command (typed, -ex, a command
file) in batch mode is remembered here; when gdb then exits with status 0, it exits 1 instead.
gdb has killed or detached the program and saved its history by the time Python's atexit
handlers run (its last clean-ups), so exiting there skips nothing the user relies on."""

import atexit
import os

import gdb

_state = {"failed": None, "exit_code": None, "armed": False}


def batch_mode():
    """True when this gdb runs with -batch (or -batch-silent): gdb has no parameter saying so."""
    try:
        with open("/proc/self/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return False
    return any(word in (b"-batch", b"--batch", b"-batch-silent", b"--batch-silent")
               for word in words)


def _on_exiting(event):
    _state["exit_code"] = getattr(event, "exit_code", None)


def _at_exit():
    if _state["failed"] and not _state["exit_code"]:
        os._exit(1)


def check_failed(message):
    """Called when `heap check` failed as a gdb command."""
    if not batch_mode():
        return
    _state["failed"] = message
    if not _state["armed"]:
        _state["armed"] = True
        exiting = getattr(gdb.events, "gdb_exiting", None)
        if exiting is not None:
            exiting.connect(_on_exiting)
        atexit.register(_at_exit)
