"""The one exception the extension raises on purpose, and how any failure becomes one line.

Commands never let a Python traceback reach the user: a HeapError carries a message meant for the
user as is; gdb.MemoryError and everything else are turned into a single line by `one_line`."""

import gdb

# How a core's missing memory is named: core_regions gives every such reason this start.
NOT_IN_CORE = "not in the core"


class HeapError(gdb.GdbError):
    """A condition the user should read about: not running, no allocator, unreadable memory..."""


class HeapVerdict(HeapError):
    """The command did its job and its verdict is bad: `heap check` found problems, `heap
    try-free` predicts an abort.  Typed, sourced or given with -ex, the command fails with it, so
    `gdb -batch` exits non-zero; run by a Python script (gdb.execute), it does not, so that the
    script gets the output it asked for (see commands.invoke_safely).  `in_json` says whether the
    output was JSON, which already holds the verdict."""

    def __init__(self, message, in_json=False):
        super().__init__(message)
        self.in_json = in_json


class HeapReadError(HeapError):
    """Memory the heap points at cannot be read (unmapped, or not in the core file)."""

    def __init__(self, address, length, why):
        self.address = address
        self.length = length
        self.why = why
        # Memory the program had but the core file lacks, as opposed to an address that was
        # never mapped: a pointer there may be sound, so it is no evidence of damage.
        self.missing = why.startswith(NOT_IN_CORE)
        super().__init__("cannot read %#x (%s)" % (address, why))


def one_line(error):
    """The text (without the `heap:` prefix) a command prints for an exception."""
    if isinstance(error, HeapError):
        text = str(error)
    elif isinstance(error, gdb.MemoryError):
        text = "cannot read memory: %s" % error
    elif isinstance(error, gdb.error):
        text = str(error)
    else:
        text = "internal error: %s: %s" % (type(error).__name__, error)
    return " ".join(text.split()) or type(error).__name__
