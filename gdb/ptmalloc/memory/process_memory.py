"""A live process's memory read straight from the kernel, for the big reads of heap segments.

gdb reads a live inferior through /proc/PID/mem into a buffer it has just allocated, so every
page of a heap segment costs a page fault as the read fills it in; for the tens of megabytes of a
big heap the faults cost more than the copy.  process_vm_readv into a buffer mapped with
MAP_POPULATE (its pages made in one go) reads the same bytes in about 60% of the time.

Only for gdb's native target: there inferior.pid is a process of this machine that gdb traces,
which is also what lets us read it.  A remote target's pid names a process elsewhere.  Anything
else (no permission, a seccomp filter, a short read because part of the range is unmapped)
answers None, and the caller reads through gdb as before."""

import ctypes
import mmap

# Below this, gdb's read is as quick and the mapping not worth making (a fresh heap's main
# segment is 132 KB).
MIN_LENGTH = 64 << 10


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def _load():
    try:
        function = ctypes.CDLL(None, use_errno=True).process_vm_readv
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_ulong,
                         ctypes.POINTER(_IoVec), ctypes.c_ulong, ctypes.c_ulong]
    function.restype = ctypes.c_ssize_t
    return function


_process_vm_readv = _load()


def is_native(inferior):
    connection = getattr(inferior, "connection", None)
    return connection is not None and getattr(connection, "type", None) == "native" and \
        inferior.pid > 0


def read(inferior, address, length):
    """A writable memoryview of the `length` bytes at `address` in the live inferior, or None
    when they cannot be read this way."""
    if _process_vm_readv is None or length < MIN_LENGTH or not is_native(inferior):
        return None
    try:
        buffer = mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS |
                           getattr(mmap, "MAP_POPULATE", 0))
    except (OSError, ValueError, OverflowError):
        return None
    window = (ctypes.c_char * length).from_buffer(buffer)
    local, remote = _IoVec(ctypes.addressof(window), length), _IoVec(address, length)
    done = _process_vm_readv(inferior.pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    del window  # the buffer can be closed only once nothing else holds it
    if done != length:
        buffer.close()
        return None
    return memoryview(buffer)
