"""Every thread's values of the allocator's thread-local variables (`tcache`, `thread_arena`).

A reader has `read(name, thread)` and says whether the thread must be the selected one while it
reads (`needs_selection`):

- ThreadPointerTls needs nothing selected: a thread's pointer is its pthread handle (on x86-64
  the thread descriptor sits at the thread pointer), and the module's TLS block lies at a fixed
  offset from it, which the dynamic linker wrote into a GOT slot of the library.  No symbol is
  looked up and no thread switched to.
- Readers that go through gdb's symbols (DWARF, or a layout manifest's $fs_base) read in the
  selected thread.  `thread apply all` selects each thread in turn and then puts back the user's
  thread and frame the way gdb itself keeps them: lazily, without working out any frame.
  Switching threads from Python instead means asking for the selected frame first, so as to
  select it again after, and on a core that unwinds frame #0 (a millisecond, and more after the
  switch) in every session's first heap command."""

import gdb

from .. import constants as C
from ..errors import HeapError
from ..memory import cache
from . import elf_symbols

NAMES = ("tcache", "thread_arena")


def read_all(reader):
    """[(gdb.InferiorThread, {name: int or None}, error or None)] for every thread, by number;
    `error` is a one-line reason when a thread's variables could not be read."""
    if not reader.needs_selection:
        threads = sorted(gdb.selected_inferior().threads(), key=lambda thread: thread.num)
        return [_read_thread(reader, thread) for thread in threads]
    global _selected_reader
    _probed.clear()
    _selected_reader = reader
    try:
        in_each_thread(_probe_thread)
    finally:
        _selected_reader = None
    for thread in gdb.selected_inferior().threads():
        if thread.num not in _probed:
            _probed[thread.num] = (thread, dict.fromkeys(NAMES), "TLS of thread %d cannot be "
                                   "read: gdb could not select it" % thread.num)
    results = [_probed[number] for number in sorted(_probed)]
    _probed.clear()
    return results


def in_each_thread(probe):
    """Runs probe() with each thread selected in turn (`thread apply all`, which puts back the
    user's thread and frame afterwards); gdb.error from gdb itself is left to the caller."""
    global _thread_probe, _interrupted
    _thread_probe, _interrupted = probe, False
    try:
        # -c: a thread gdb cannot select (running, in non-stop mode) must not stop the others.
        printed = gdb.execute("thread apply all -q -c python import sys; "
                              "sys.modules[%r]._run_probe()" % __name__, to_string=True)
    finally:
        _thread_probe = None
    if _interrupted or _PYTHON_FAILED in printed:
        # -c took a Ctrl-C in one thread's probe (in it, or in the line that calls it) for that
        # thread's error and went on: the thread it hit would look unreadable.  The probes
        # catch every error of their own, so nothing else fails there.
        raise KeyboardInterrupt


_thread_probe = None
_interrupted = False
# What gdb prints, and `thread apply -c` passes over, when a Python command raises.
_PYTHON_FAILED = "Error while executing Python code."


def _run_probe():
    global _interrupted
    if _interrupted:
        return
    try:
        _thread_probe()
    except KeyboardInterrupt:
        _interrupted = True


# What _probe_thread, run in each thread by in_each_thread, hands back:
# {thread number: result of _read_thread}.
_probed = {}
_selected_reader = None


def _probe_thread():
    thread = gdb.selected_thread()
    _probed[thread.num] = _read_thread(_selected_reader, thread)


def _read_thread(reader, thread):
    values = {}
    error = None
    try:
        for name in NAMES:
            values[name] = reader.read(name, thread)
    except (gdb.error, gdb.GdbError, HeapError, RuntimeError) as failure:
        error = "TLS of thread %d cannot be read: %s" % (thread.num, " ".join(str(failure).split()))
        for name in NAMES:
            values.setdefault(name, None)
    return thread, values, error


class ThreadPointerTls:
    """Thread-local variables at thread pointer + the module's TLS block offset + their place
    in the block (their .symtab values); see the module docstring."""

    needs_selection = False

    def __init__(self, places, slot_address, slot_addend):
        self._places = places
        self._slot_address = slot_address
        self._slot_addend = slot_addend
        self._block_offset = None

    @classmethod
    def create(cls, objfile, symbol_table, load_bias):
        """The reader for a library that reaches its TLS block through an initial-exec GOT
        slot, or None (an executable's own TLS, a stripped file, no thread handles)."""
        places = {}
        for name in NAMES:
            entry = symbol_table.get(name.encode())
            if entry is None or entry[0] != elf_symbols.STT_TLS:
                return None
            places[name] = entry[1]
        slots = elf_symbols.tls_offset_slots(objfile.filename, getattr(objfile, "build_id", None))
        if not slots or _thread_pointer(gdb.selected_thread()) is None:
            return None
        slot, addend = slots[0]
        return cls(places, load_bias + slot, addend)

    def read(self, name, thread):
        pointer = self._pointer(thread)
        if pointer is None:
            raise HeapError("no thread handle (libthread_db is not in use)")
        if self._block_offset is None:
            stored = cache.current().u64(self._slot_address)
            self._block_offset = (stored - self._slot_addend) & C.MASK64
        address = (pointer + self._block_offset + self._places[name]) & C.MASK64
        return cache.current().u64(address)


    def _pointer(self, thread):
        return _thread_pointer(thread)


class FsBaseTls(ThreadPointerTls):
    """The same reads at the selected thread's $fs_base (its thread pointer on x86-64), for a
    glibc whose TLS gdb cannot read: before 2.34 gdb reads libc's thread-locals through
    libthread_db, which a program that does not load libpthread never gets.  The variables'
    places in the TLS block come from the .symtab of libc's separate debug file."""

    needs_selection = True

    @classmethod
    def from_debug_file(cls, objfile, anchor, anchor_address):
        """The reader, placed by the global `anchor` at `anchor_address`; None when the debug
        file has no .symtab with the variables, or the library no initial-exec GOT slot."""
        build_id = getattr(objfile, "build_id", None)
        debug_file = next((other.filename for other in gdb.objfiles()
                           if getattr(other, "owner", None) is objfile and other.filename), None)
        table = elf_symbols.symbol_table(debug_file, build_id) if debug_file else {}
        anchor_entry = table.get(anchor.encode())
        places = {name: table.get(name.encode()) for name in NAMES}
        if anchor_entry is None or any(entry is None or entry[0] != elf_symbols.STT_TLS
                                       for entry in places.values()):
            return None
        slots = elf_symbols.tls_offset_slots(objfile.filename, build_id)
        if not slots:
            return None
        slot, addend = slots[0]
        load_bias = anchor_address - anchor_entry[1]
        return cls({name: entry[1] for name, entry in places.items()}, load_bias + slot, addend)

    def _pointer(self, thread):
        try:
            return int(gdb.parse_and_eval("$fs_base")) & C.MASK64
        except (gdb.error, RuntimeError):
            return None


def _thread_pointer(thread):
    """The thread's pthread_t, which on x86-64 glibc is its thread pointer; None when gdb has
    no handle for it (thread debugging off)."""
    try:
        handle = thread.handle()
    except (gdb.error, RuntimeError, AttributeError):
        return None
    if not handle or len(handle) != 8:
        return None
    return int.from_bytes(handle, "little")
