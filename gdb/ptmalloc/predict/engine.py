"""What free(), malloc(), realloc() or calloc() would do next, answered by the allocator's own code.

The prediction engine (gdb/native/predict_engine.c, built as build/ptmalloc-predict-RELEASE)
is the clone's C code in a program of its own.  It runs the call on a copy of the inferior's
memory in a child process and asks this module for what it needs: the allocator's globals and
the thread's thread-locals by name, the inferior's main_arena, and, while the call runs, each
page it touches.  Nothing here knows malloc's algorithm; this module reads what is asked,
serves pages, and hands back the engine's answer (docs/json.md, "Predictions").

The inferior is never written and no code runs in it: the engine works on copies, in its own
process."""

import json
import os
import select
import subprocess
import time

import gdb

from .. import constants as C, paths
from ..errors import HeapError
from ..memory import cache
from .pages import InferiorPages, PredictionError

_ENGINE_NAME = "ptmalloc-predict-%s"
# Releases the clone builds as, newest first: a release without an engine of its own is
# answered by the newest older one, and the answer says so.
_ENGINE_RELEASES = ((2, 41), (2, 36), (2, 31))
# The engine stops a call that runs away (a loop in a corrupted list) itself; this bounds the
# whole conversation, page service included.
_TIMEOUT = 60.0


# Every answer has every member (docs/json.md): a refusal carries only the reason.
_ANSWER_DEFAULTS = {
    "op": None, "outcome": "unknown", "returns": None, "new_mapping": False, "from": None,
    "to": None, "abort": None, "signal": None, "fault": None, "fault_kind": None, "hook": None,
    "unknown": None, "changes": [], "mappings": [], "unmappings": [], "break": [],
    "lock_waits": [], "calls": 0, "rseq_unmapped": None,
}


def engine_for(release):
    """(path, release text, approximate) of the engine that answers for `release`."""
    wanted = (release.major, release.minor)
    for engine_release in _ENGINE_RELEASES:
        if engine_release <= wanted:
            break
    else:
        engine_release = _ENGINE_RELEASES[-1]
    text = "%d.%d" % engine_release
    name = _ENGINE_NAME % text
    for folder in (paths.PACKAGE_DIR, os.path.join(paths.TREE_ROOT, "build")):
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK):
            return path, text, engine_release != wanted
    raise PredictionError("the prediction engine %s is not built (make, or make prediction-engines)"
                          % name)


def predict(snap, thread, call, *arguments, assume=(), repeat=1):
    """The engine's answer (a dict, docs/json.md) to `call` ("free", "malloc", "realloc",
    "calloc") with integer `arguments`, made by `thread` (a ThreadInfo, or None for a process
    whose threads could not be read).  `assume`: (address, word) pairs written into the copy
    before the call, to ask "what if" (find_fake_fast); never into the inferior.  `repeat`:
    make a malloc or calloc that many times in a row (the answer is the last one's, or the
    first that does not return; "calls" says which)."""
    path, engine_release, approximate = engine_for(snap.allocator.release)
    server = _PageServer(snap, thread)
    command = [path]
    for address, word in assume:
        command += ["--assume", "%#x" % address, "%#x" % word]
    if repeat > 1:
        command += ["--repeat", str(repeat)]
    command += [call] + ["%#x" % argument for argument in arguments]
    answer = dict(_ANSWER_DEFAULTS, **server.converse(command))
    answer["op"] = call
    if call == "realloc" and answer["returns"] is not None and answer["returns"] == arguments[0]:
        answer["from"] = "in-place"  # the chunk grew or shrank where it was: no bin gave it
    answer["rseq_unmapped"] = server.rseq_area_unmapped(answer["unmappings"])
    answer["engine"] = engine_release
    answer["approximate"] = approximate
    answer["thread"] = thread.num if thread is not None else None
    return answer


def crash_text(answer):
    """How a crashed call dies, in words: the signal and where ("SIGSEGV at 0x10")."""
    where = "at %#x" % answer["fault"] if answer["fault"] is not None else \
        "(a non-canonical address)" if answer["fault_kind"] == "general-protection" else ""
    return " ".join(part for part in (answer["signal"] or "a signal", where) if part)


class _PageServer:
    """One conversation with the engine: its questions answered from the inferior."""

    def __init__(self, snap, thread):
        self.snap = snap
        self.thread = thread
        self.allocator = snap.allocator
        self.memory = cache.current()
        self.pages = InferiorPages(self.memory)

    def converse(self, command):
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
        except OSError as error:
            raise PredictionError("cannot start the prediction engine: %s" % error) from None
        try:
            return self._serve(process, _LineReader(process.stdout.fileno()))
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stdin.close()
            process.stdout.close()
            process.stderr.close()

    def _serve(self, process, lines):
        deadline = time.monotonic() + _TIMEOUT
        while True:
            line = lines.next(deadline)
            if line is None:
                complaint = process.stderr.read().decode("utf-8", "replace").strip()
                raise PredictionError("the prediction engine stopped without an answer%s" % (
                    ": " + complaint.splitlines()[-1] if complaint else ""))
            word, _, rest = line.partition(" ")
            if word == "result":
                return json.loads(rest)
            reply = self._answer(word, rest.split())
            process.stdin.write(reply)
            process.stdin.flush()

    def _answer(self, word, fields):
        if word == "page":
            return self.pages.page(int(fields[0], 16))
        if word in ("global", "thread"):
            value = self._global(fields[0], int(fields[1])) if word == "global" else \
                self._thread_local(fields[0], int(fields[1]))
            return b"none\n" if value is None else b"value " + value.hex().encode() + b"\n"
        if word == "symbol":
            address = self._symbol(fields[0])
            return b"none\n" if address is None else b"at %#x\n" % address
        if word == "engine":
            self.pages.check_reserved(fields)
            return b""
        if word == "single_threaded":
            threads = len(gdb.selected_inferior().threads())
            return b"yes\n" if threads <= 1 else b"no\n"
        if word == "errno":
            address = self._errno_address()
            return b"none\n" if address is None else b"at %#x\n" % address
        if word == "thread_pointer":
            address = self._thread_pointer()
            return b"none\n" if address is None else b"at %#x\n" % address
        if word == "break":
            end = self._program_break()
            return b"none\n" if end is None else b"at %#x\n" % end
        if word == "program_name":
            name = os.path.basename(gdb.current_progspace().filename or "")
            return b"name " + name.encode("utf-8", "replace") + b"\n"
        raise PredictionError("the prediction engine asked something unknown: %s" % word)

    # -- the allocator's state ----------------------------------------------------------------

    def _global(self, name, size):
        address = self.allocator.global_address(name)
        if address is None:
            address = _any_objfile_address(name)
        if address is None:
            return None
        try:
            return self.memory.read(address, size)
        except HeapError:
            return None

    def _thread_local(self, name, size):
        if self.thread is None:
            return None
        values = {"tcache": self.thread.tcache, "thread_arena": self.thread.arena}
        if name not in values or self.thread.error:
            return None
        return (values[name] or 0).to_bytes(8, "little")[:size]

    def _symbol(self, name):
        if name in self.allocator.addresses:
            return self.allocator.addresses[name]
        return self.allocator.global_address(name, function=True)

    def _errno_address(self):
        """The calling thread's errno, when it is the selected thread (gdb reads TLS there)."""
        try:
            if self.thread is None or gdb.selected_thread().num != self.thread.num:
                return None
            return int(gdb.parse_and_eval("(unsigned long) &errno"))
        except (gdb.error, AttributeError, ValueError):
            return None

    def _thread_pointer(self):
        """The calling thread's thread pointer ($fs_base, its TCB), live or from a core."""
        if self.thread is None:
            return None
        selected = gdb.selected_thread()
        try:
            for candidate in gdb.selected_inferior().threads():
                if candidate.num == self.thread.num:
                    candidate.switch()
                    return int(gdb.parse_and_eval("(unsigned long) $fs_base")) or None
            return None
        except (gdb.error, ValueError):
            return None
        finally:
            if selected is not None and selected.is_valid():
                selected.switch()

    def rseq_area_unmapped(self, unmappings):
        """The calling thread's rseq area (glibc 2.35 on: the thread pointer plus libc's
        __rseq_offset, when __rseq_size says it is registered) when one of `unmappings` covers
        it, else None.  The kernel writes that area at the thread's every preemption and signal;
        once it is gone the kernel kills the thread with a SIGSEGV of its own (no fault address),
        which may come before the call's own next touch of the lost memory."""
        if not unmappings:
            return None
        registered = self._global_word("__rseq_size", 4)
        offset = self._global_word("__rseq_offset", 8)
        thread_pointer = self._thread_pointer()
        if not registered or offset is None or thread_pointer is None:
            return None
        area = (thread_pointer + offset) & C.MASK64
        for piece in unmappings:
            if piece["address"] <= area < piece["address"] + piece["length"]:
                return area
        return None

    def _global_word(self, name, width):
        """A signed integer global of `width` bytes anywhere in the process, or None."""
        address = _any_objfile_address(name)
        if address is None:
            return None
        try:
            return int.from_bytes(self.memory.read(address, width), "little", signed=True)
        except HeapError:
            return None

    def _program_break(self):
        """The break, where the main arena's top ends while the arena is contiguous (sysmalloc
        keeps it so); None when the main arena has left sbrk for mmap."""
        main = self.snap.arenas[0]
        if main.fields["flags"] & self.snap.geometry.noncontiguous_bit:
            return None
        return main.top + main.top_size


def _any_objfile_address(name):
    """A global outside the allocator's file (libc's __libc_single_threaded for the clone)."""
    try:
        symbol = gdb.lookup_global_symbol(name)
        if symbol is not None:
            return int(symbol.value().address)
        return int(gdb.parse_and_eval("(unsigned long) &'%s'" % name))
    except (gdb.error, TypeError, ValueError):
        return None


class _LineReader:
    """The engine's lines, read as they come, with a deadline (select, then os.read).  A result
    line can be megabytes (every word a consolidation writes): the pieces are kept in a list
    and only the newest is searched for the line's end."""

    def __init__(self, descriptor):
        self._descriptor = descriptor
        self._pieces = []

    def next(self, deadline):
        """One line, or None when the engine has closed its side."""
        while True:
            if self._pieces:
                end = self._pieces[-1].find(b"\n")
                if end >= 0:
                    last = self._pieces.pop()
                    line = b"".join(self._pieces) + last[:end]
                    self._pieces = [last[end + 1:]] if end + 1 < len(last) else []
                    return line.decode("utf-8", "replace")
            remaining = deadline - time.monotonic()
            ready = select.select([self._descriptor], [], [], max(remaining, 0))[0]
            if not ready:
                raise PredictionError("the prediction engine took longer than %d s" % _TIMEOUT)
            chunk = os.read(self._descriptor, 1 << 20)
            if not chunk:
                return None
            self._pieces.append(chunk)
