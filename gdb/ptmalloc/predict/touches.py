"""The next touch of a damaged place: which call meets the damage first, and what it does.

`heap check` names, for each finding, the call that would reach it (the free of that chunk, a
malloc of that bin's size, the next malloc that sorts the unsorted bin, one that reaches the
top) and what that call does, as the prediction engine answers it: the abort message, a crash,
or nothing (glibc has no check there, or another path serves the call first).  The audit says
*which* call; the engine, running the allocator's own code, says *what* it does.

Engine calls cost tens of milliseconds; a check makes one per distinct touch (answers are
kept), up to MAX_SIMULATIONS, and says so when it stops simulating."""

from ..errors import HeapError
from ..model.states import ChunkState
from . import engine

MAX_SIMULATIONS = 64


class Touch:
    """A call that would meet some damage: `operation` ("free", "malloc"), its `arguments`, the
    Arena whose thread makes it or the `thread` (ThreadInfo) itself (neither: the selected
    thread), and `why` (how it gets there)."""

    __slots__ = ("operation", "arguments", "arena", "thread", "why", "repeat")

    def __init__(self, operation, arguments, arena=None, why="", thread=None, repeat=1):
        self.operation = operation
        self.arguments = tuple(arguments)
        self.arena = arena
        self.thread = thread
        self.why = why
        # The n-th call of a kind is the one that reaches the n-th entry of a list.
        self.repeat = repeat

    def text(self):
        call = "%s(%s)" % (self.operation, ", ".join("%#x" % value for value in self.arguments))
        return call if self.repeat == 1 else "%s, %d times" % (call, self.repeat)

    def key(self):
        return (self.operation, self.arguments, self.arena.address if self.arena else None,
                self.thread.num if self.thread else None, self.repeat)


class Outcome:
    """What a Touch does: `abort` (message or None), `crashes`, `operation` (its text), `why`
    (how the call gets there), `summary` (one line: returns, aborts, crashes, cannot tell) and
    the engine's whole `answer` (None when it was not asked)."""

    __slots__ = ("abort", "crashes", "operation", "why", "summary", "answer")

    def __init__(self, touch, answer=None, summary=None):
        self.operation = touch.text()
        self.why = touch.why
        self.answer = answer
        self.abort = answer["abort"] if answer else None
        self.crashes = bool(answer) and answer["outcome"] == "crashed"
        self.summary = summary or _summary(answer)

    def meets_a_check(self):
        """Whether the call ends badly (an abort or a crash): the damage shows there."""
        return self.abort is not None or self.crashes

    def to_json(self):
        return {"call": self.operation, "why": self.why, "outcome": self.summary}


def _summary(answer):
    text = _what_it_does(answer)
    if answer.get("calls", 1) > 1 and answer["outcome"] != "returned":
        return "call %d %s" % (answer["calls"], text)
    return text


def _what_it_does(answer):
    outcome = answer["outcome"]
    if outcome == "aborted":
        return "aborts with \"%s\"" % answer["abort"]
    if outcome == "crashed":
        return "crashes (%s)" % engine.crash_text(answer)
    if outcome == "returned":
        if answer["op"] == "free":
            return "passes; the chunk goes to %s" % (answer["to"] or "?")
        if answer["new_mapping"]:
            return "passes and returns a new mapping"
        return "passes and returns %#x from %s" % (answer["returns"] or 0, answer["from"] or "?")
    if outcome == "hook":
        return "goes to %s" % answer["hook"]["name"]
    if outcome == "hung":
        return "does not finish"
    return "cannot tell: %s" % (answer["unknown"] or "?")


class NextTouch:
    """Resolves Touches for one check, with the engine, answers kept."""

    def __init__(self, snap, thread):
        self.snap = snap
        self.thread = thread
        self._answers = {}
        self.stopped = None  # why simulation stopped early, once it has

    # -- the touches the rules name -------------------------------------------------------------

    def free(self, chunk):
        return Touch("free", (self.snap.geometry.user_pointer(chunk),), None,
                     "freeing the chunk")

    def malloc_of_chunk(self, arena, chunk_size, why):
        """A malloc whose request becomes `chunk_size`, by a thread of `arena`."""
        request = max(chunk_size - 2 * self.snap.geometry.size_sz, 0)
        return Touch("malloc", (request,), arena, why)

    def unsorted_scan(self, arena):
        """A malloc that sorts the unsorted bin: a large request, which neither the tcache nor
        a small bin serves, below the mmap threshold."""
        request = max(self.snap.geometry.min_large_size, (self.snap.mp.get("tcache_max_bytes") or 0) + 1)
        return Touch("malloc", (request,), arena, "the next malloc that sorts the unsorted bin")

    def taking_from(self, kind, chain, owner, reach=0):
        """The malloc that takes from list `chain` of `kind`, owned by `owner` (an Arena, or
        the ThreadInfo of a tcache bin); with `reach`, the one that takes the list's entry
        number `reach` (0 the first): that many calls of the size come before it."""
        if kind == ChunkState.TCACHE:
            touch = self.malloc_of_chunk(None, chain.size, "a malloc served by this tcache bin")
            touch.thread = owner
            touch.repeat = reach + 1
            return touch
        if kind == ChunkState.UNSORTED:
            return self.unsorted_scan(owner)
        size = chain.size if kind != ChunkState.LARGEBIN else chain.size_range[0]
        touch = self.malloc_of_chunk(owner, size, "a malloc of this bin's size")
        if self._tcache_serves(self._thread_for(owner), size):
            # malloc would take the thread's cached chunk first; calloc skips the tcache.
            touch.operation, touch.arguments = "calloc", (1,) + touch.arguments
            touch.why = "calloc of this bin's size (a malloc takes the thread's tcache bin first)"
        touch.repeat = reach + 1
        return touch

    @staticmethod
    def _tcache_serves(thread, size):
        return thread is not None and any(
            chain.size == size and (chain.count or len(chain.chunks)) for chain in thread.tcache_bins)

    def top(self, arena):
        """A malloc that reaches the top chunk: one no bin can hold."""
        request = max(self.snap.mp.get("mmap_threshold") or 0, 1) - 1
        return Touch("malloc", (request,), arena, "a malloc served by the top chunk")

    # -- resolving ------------------------------------------------------------------------------

    def resolve(self, touch):
        """The Outcome of `touch` (a Touch), or None for a plain message given instead."""
        key = touch.key()
        if key in self._answers:
            return self._answers[key]
        if len(self._answers) >= MAX_SIMULATIONS:
            self.stopped = "predictions stop after %d simulated calls" % MAX_SIMULATIONS
            return Outcome(touch, summary="not simulated (%s)" % self.stopped)
        thread = touch.thread or self._thread_for(touch.arena)
        try:
            outcome = Outcome(touch, engine.predict(self.snap, thread, touch.operation,
                                                    *touch.arguments, repeat=touch.repeat))
        except HeapError as error:
            outcome = Outcome(touch, summary="cannot tell: %s" % error)
        self._answers[key] = outcome
        return outcome

    def _thread_for(self, arena):
        """A thread attached to `arena`, the selected one when it is or when none is."""
        if arena is None or self.thread is not None and (
                self.thread.arena == arena.address or (arena.is_main and not self.thread.arena)):
            return self.thread
        for thread in self.snap.threads:
            if thread.arena == arena.address or (arena.is_main and not thread.arena):
                return thread
        return self.thread
