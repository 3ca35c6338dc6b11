"""Where a listing of a whole heap goes: through gdb.write, or straight to gdb's standard output
when nothing could tell the difference.

gdb.write hands its text to gdb's printf, which measures it with vsnprintf before it copies it:
about 200 MB a second here, so that `heap chunks --json` over ten million chunks (900 MB) spends
four seconds in it, more than the walk itself.  When gdb's standard output is a regular file
that gdb writes to unaltered, writing to that file ourselves is the same bytes in the same
place.  Unaltered is not assumed but seen: the first piece goes through gdb.write, and only if
that moved the file's offset by exactly its own bytes (not captured by `to_string`, `pipe` or
`set logging redirect`, not framed by MI, no warning of gdb's own in between) and gdb is not
also logging it elsewhere, do the later pieces go to the file directly.  A terminal, a pipe or
anything else is written through gdb as always."""

import os
import stat

import gdb

_STDOUT = 1


class Stream:
    """write(text) and flush() for one command's output (see the module's text)."""

    def __init__(self):
        self.direct = False  # whether the pieces after the first go to the file directly
        self._probed = False

    def write(self, text):
        if self.direct:
            gdb.flush()  # whatever gdb wrote since (a notice of its own) goes first
            _write_all(text.encode())
        elif self._probed or not text:
            gdb.write(text)
        else:
            self._probed = True
            self.direct = _writes_through_unaltered(text)

    def flush(self):
        if not self.direct:
            gdb.flush()


def _logging():
    """Whether gdb also copies its output to a log file (or cannot say)."""
    try:
        return bool(gdb.parameter("logging enabled"))
    except (gdb.error, RuntimeError):
        return True


def _offset():
    """The file offset of gdb's standard output when it is a regular file, else None."""
    try:
        if not stat.S_ISREG(os.fstat(_STDOUT).st_mode):
            return None
        return os.lseek(_STDOUT, 0, os.SEEK_CUR)
    except OSError:
        return None


def _writes_through_unaltered(text):
    """Write `text` with gdb.write; whether it landed, exactly, at the end of gdb's standard
    output file, which later pieces may then be written to directly."""
    gdb.flush()
    before = None if _logging() else _offset()
    gdb.write(text)
    gdb.flush()
    if before is None:
        return False
    after = _offset()
    return after is not None and after - before == len(text.encode())


def _write_all(data):
    view = memoryview(data)
    while view:
        written = os.write(_STDOUT, view)
        view = view[written:]
