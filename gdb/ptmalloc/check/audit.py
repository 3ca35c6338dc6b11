"""The whole-heap audit behind `heap check`: every rule, each finding with its predicted abort.

A finding names the rule, the chunk, what is wrong in plain words, the call that would next
touch the damage, and what that call does: the message the allocator aborts with, a crash, or
nothing (glibc has no check there and the program goes on).  The rules choose the call
(predict/touches); the prediction engine, running the allocator's own code on a copy of the heap,
says what it does.

Precision matters more than reach: a healthy heap (tcache and fastbin chunks that look in use,
the tcache_perthread_struct chunk, fenceposts closing thread heaps, the main arena's initial top,
mmapped chunks, many threads) must give no finding, so every rule states the invariant glibc
keeps, not a heuristic.  One piece of damage gives one finding: once a heap walk or a chain walk
breaks, the rules that would only repeat the symptom further along are skipped.

The Audit here collects what points at chunks and runs the rules, which live by concern in
heap (segments and chunks), arena_bounds (heap_info, top, system_mem), membership (what bins
list), chains (the lists themselves and the tcache), allocator_globals (mp_,
global_max_fast) and hooks (the malloc hooks of glibc before 2.34)."""


from ..model import busy, unread

from ..model.problems import HeapStop
from ..model.states import ChunkState
from .chunk_offsets import ChunkOffsets
from ..predict.touches import NextTouch, Touch
from .allocator_globals import GlobalRules
from .arena_bounds import ArenaBoundRules
from .chains import ChainRules
from .findings import Finding, Rule
from .heap import HeapRules
from .hooks import HookRules
from .membership import MembershipRules
from .mmapped_chunks import MmappedRules
from .walked import WalkedChunks


# Rules whose verdict needs every bin and tcache list read to its end.
_NEED_WHOLE_LISTS = {Rule.PREV_INUSE_CLEAR, Rule.TCACHE_COUNT, Rule.BINMAP}


class Audit(ChunkOffsets, HeapRules, ArenaBoundRules, MembershipRules, ChainRules,
            GlobalRules, MmappedRules, HookRules):
    """One run of every rule over a HeapSnapshot; `findings` after `run()`."""

    def __init__(self, snap, thread=None):
        super().__init__(snap)
        self.findings = []
        self.touches = NextTouch(snap, thread)
        self.thread = thread
        self.walked = WalkedChunks()
        self.broken_arenas = set()
        # [(start, end)] of bytes a walk stepped over past damage: what a list points at there
        # cannot be checked against the walk.
        self.walk_gaps = []
        # The SegmentScan of every walked segment, for the rules that look past a walk.
        self.segment_scans = []
        self.reported = set()
        # Chunks reached only through a link found broken: what they look like is no evidence.
        self.suspect = set()
        # [(start or None, end or None, why)] of what could not be read, so not checked.
        self.unchecked = []
        self._cut_lists = None

    def add(self, rule, address, message, predicted=None):
        """`predicted`: the Touch (call) that next meets the damage, its resolved Outcome, or
        None when no call meets it with a check."""
        key = (rule, address)
        if key in self.reported:
            return
        if unread.is_missing_memory(message) or self.mem.core_lacks(address) or \
                (rule in _NEED_WHOLE_LISTS and self._lists_cut_by_core()):
            # Memory a core lacks is no evidence: whatever a rule made of its absence is a
            # range that could not be checked, not a finding.
            self.not_checked(address, None, "[%s] cannot be checked: %s" % (rule, message))
            return
        self.reported.add(key)
        if isinstance(predicted, Touch):
            predicted = self.touches.resolve(predicted)
        self.findings.append(Finding(rule, address, message, predicted))

    def _lists_cut_by_core(self):
        """Whether a bin or tcache list runs into memory the core lacks: a free chunk it would
        have listed then looks listed nowhere."""
        if self._cut_lists is None:
            self._cut_lists = any(unread.is_missing_memory(str(place[1].problem or ""))
                                  for place, _chunks in self._listings())
        return self._cut_lists

    def not_checked(self, start, end, why):
        entry = (start, end, why)
        if entry not in self.unchecked:
            self.unchecked.append(entry)
        if start is not None and end is not None:
            self.walk_gaps.append((start, end))

    def word(self, address):
        return self.mem.u64(address)

    def predict_free(self, chunk):
        """The Outcome of freeing `chunk` now."""
        return self.touches.resolve(self.touches.free(chunk))

    def run(self):
        self._check_globals()
        self._check_hooks()
        self._check_mmapped()
        if self.snap.ring_break is not None:
            owner, why = self.snap.ring_break
            self.add(Rule.ARENA_RING, owner,
                     "the arena ring is broken at arena %#x: %s (arenas off the ring were found "
                     "through the threads and free_list)" % (owner, why))
        for arena in self.snap.arenas:
            self._check_arena_links(arena)
        for arena in self.snap.arenas:
            top_flagged = self._check_top(arena)
            if arena.heap_problem:
                # A forged top size is also why the heap list looks short: one damage, one finding.
                if not (top_flagged and arena.heap_problem.kind in (HeapStop.TOP_UNREADABLE,
                                                                    HeapStop.TOP_PAST_HEAP)):
                    self.add(Rule.HEAP_LIST, arena.address, "%s: %s" % (arena.label(),
                                                                    arena.heap_problem))
                self.broken_arenas.add(arena.address)
            self._check_system_mem(arena)
            for segment in arena.heaps:
                if segment.info is not None:
                    self._check_heap_info(arena, segment)
                self._walk_segment(arena, segment)
        self._check_bin_membership()
        for arena in self.snap.arenas:
            self._check_binmap(arena)
        for thread in self.snap.threads:
            self._check_tcache(thread)
        for entry in unread.threads_unread(self.snap):
            self.not_checked(*entry)
        return self.findings

    # -- what points at chunks -------------------------------------------------------------------

    def _listings(self):
        """(place, chunk addresses) of every tcache bin and bin, in a fixed order: threads'
        tcaches, then each arena's bins."""
        for thread in self.snap.threads:
            for chain in thread.tcache_bins:
                yield (ChunkState.TCACHE, chain, thread), chain.chunks
        for arena in self.snap.arenas:
            for chain in arena.all_bins():
                yield (chain.kind, chain, arena), chain.chunks


def selected_thread_info(snap):
    """The ThreadInfo of gdb's selected thread (else the first): whose next free() is replayed."""
    selected = snap.selected_thread()
    if selected is not None:
        return selected
    return snap.threads[0] if snap.threads else None


def audit(snap):
    """(findings of every rule over the whole heap, busy.Busy of this stop, [(start, end, why)]
    of what could not be read and so was not checked); the findings on a busy arena or thread
    carry why they may be a call in progress."""
    auditor = Audit(snap, selected_thread_info(snap))
    findings = auditor.run()
    found_busy = busy.find(snap)
    if found_busy:
        _mark_unreliable(findings, found_busy, snap)
    return findings, found_busy, auditor.unchecked


def _mark_unreliable(findings, found_busy, snap):
    spans = []
    state_size = snap.layouts["state"].size
    for arena in snap.arenas:
        why = found_busy.arenas.get(arena.address)
        if why is not None:
            spans.append((arena.address, arena.address + state_size, why))
            # A thread heap's reserved span, not just what is walked: a top caught mid-update
            # can end short of where the heap ends.
            spans += [(segment.address, max(segment.end, segment.address + (
                segment.info or {}).get("mprotect_size", 0)), why) for segment in arena.heaps]
    tcaches = {thread.tcache: found_busy.threads[thread.num] for thread in snap.threads
               if thread.num in found_busy.threads and thread.tcache}
    anyone_busy = next(iter(found_busy.threads.values()), None) or \
        next(iter(found_busy.arenas.values()), None)
    for finding in findings:
        address = finding.address
        if finding.rule is Rule.MMAPPED_COUNT and anyone_busy:
            # mmap and the count's update are two steps of one call.
            finding.unreliable = anyone_busy
            continue
        if address in tcaches:
            finding.unreliable = tcaches[address]
            continue
        for low, high, why in spans:
            if address is not None and low <= address < high:
                finding.unreliable = why
                break
