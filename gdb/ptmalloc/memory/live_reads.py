"""Reads of a live process into buffers of the caller's, for the Memory of a stop: a window of a
heap too big to hold whole, read again and again into one buffer (model/native_live.py), and
the things made once per stop beside the reads (that buffer, the C helper's page cache).

A mixin of cache.Memory, which supplies `inferior` and `_kept` (a dict, emptied with the stop)."""

import gdb

from ..errors import HeapReadError
from . import process_memory
from .core_file import inferior_is_core

# gdb's own reads of a long range are made in pieces of at most this many bytes.
GDB_READ_PIECE = 1 << 26


def gdb_read_into(inferior, address, view, length):
    """Copy the `length` bytes at `address` into the writable memoryview `view` through gdb's
    reads, a piece at a time: gdb never holds more than a piece beside it.  gdb's errors pass
    through."""
    for offset in range(0, length, GDB_READ_PIECE):
        piece = min(GDB_READ_PIECE, length - offset)
        view[offset:offset + piece] = inferior.read_memory(address + offset, piece)


class LiveReads:
    def reads_live_pages(self):
        """Whether this stop is a live process of gdb's native target, whose memory can be read
        into buffers of our own (process_memory)."""
        return not inferior_is_core() and process_memory.is_native(self.inferior)

    def kept(self, name, make):
        """Something made once per stop and kept with its reads (a reused buffer, the C
        helper's page cache): make() the first time `name` is asked for."""
        if name not in self._kept:
            self._kept[name] = make()
        return self._kept[name]

    @staticmethod
    def window_buffer(length):
        """A buffer of `length` bytes to read windows of a live heap into (read_into)."""
        return process_memory.buffer(length)

    def never_written(self, address, length):
        """Whether the program never wrote the `length` bytes at `address` (private anonymous
        memory none of whose pages it touched): they read as zeros (process_memory)."""
        return process_memory.never_written(self.inferior, address, length)

    def read_into(self, address, target, length):
        """The `length` bytes at `address` copied into the start of the writable buffer
        `target`, not kept; HeapReadError when they cannot be read."""
        if process_memory.read_into(self.inferior, address, target, length):
            return
        view = memoryview(target)
        try:
            gdb_read_into(self.inferior, address, view, length)
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
            from .cache import unreadable_reason  # cache builds on this module
            raise HeapReadError(address, length, unreadable_reason()) from None
        finally:
            view.release()
