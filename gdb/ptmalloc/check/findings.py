"""What the heap check reports: one Finding per piece of damage, its rule one of Rule.

The rules are named once here; `heap check --json` and the samples' expected verdicts
(samples/*/NAME.expect.json) spell them as these values."""

import enum


class Rule(enum.StrEnum):
    # A heap segment's chunks (heap, arena_bounds)
    ARENA_RING = "arena-ring"          # the ring of arenas does not lead back to main_arena
    MALLOC_PAR = "malloc-par"          # an mp_ field no tunable or mallopt call can set
    MAX_FAST = "max-fast"              # global_max_fast out of mallopt's range
    MALLOC_HOOK = "malloc-hook"        # a hook (before 2.34) set to what glibc never stores there
    HEAP_LIST = "heap-list"            # an arena's list of heaps is incomplete
    HEAP_WALK = "heap-walk"            # a segment's walk does not end where it must
    HEAP_INFO = "heap-info"            # a heap_info header breaks what new_heap keeps
    CHUNK_SIZE = "chunk-size"          # a size that cannot be a chunk's
    ARENA_BIT = "arena-bit"            # NON_MAIN_ARENA disagrees with where the chunk lives
    PREV_INUSE_CLEAR = "prev-inuse"    # PREV_INUSE clear without a free chunk before it
    PREV_SIZE = "prev-size"            # prev_size disagrees with the free chunk before it
    BIN_IN_USE = "bin-in-use"          # a binned chunk its successor marks in use
    TOP_SIZE = "top-size"
    SYSTEM_MEM = "system-mem"
    # Chunks no list holds (mmapped_chunks)
    MMAPPED_CHUNK = "mmapped-chunk"    # a header that does not fit its mapping, or covers another
    MMAPPED_COUNT = "mmapped-count"    # mp_.n_mmaps disagrees with the mmapped chunks found
    # What bins and tcaches list (membership)
    BIN_DUPLICATE = "bin-duplicate"
    BIN_POINTER = "bin-pointer"        # a list points outside every heap, or its walk stopped
    BIN_ARENA = "bin-arena"
    BIN_SIZE = "bin-size"
    TCACHE_STRUCT = "tcache-struct"
    # The lists themselves (chains)
    BIN_CYCLE = "bin-cycle"
    BIN_LINKS = "bin-links"            # fd and bk disagree
    LARGEBIN_ORDER = "largebin-order"
    LARGEBIN_SKIPLIST = "largebin-skiplist"
    BINMAP = "binmap"
    TCACHE_COUNT = "tcache-count"
    TCACHE_KEY = "tcache-key"
    # heap check --free, --next and --leaks
    NEXT_CALL = "next-call"            # the call --next names would abort or crash
    DOUBLE_FREE = "double-free"
    INVALID_FREE = "invalid-free"
    OVERLAP = "overlap"
    LEAK = "leak"


class Finding:
    """`rule` (a Rule), `address` (the chunk or structure), `message` (one line),
    `predicted_abort` (what the allocator will abort with when the program next touches the
    damage; None when it will not abort), `next_touch` (the predict/touches Outcome of the call
    that next meets the damage, None when none was simulated), and `unreliable` (why the
    finding may be a thread's call in progress rather than damage, model/busy.py; None when it
    is not)."""

    __slots__ = ("rule", "address", "message", "predicted_abort", "next_touch", "unreliable")

    def __init__(self, rule, address, message, next_touch=None):
        self.rule = rule
        self.address = address
        self.message = message
        self.next_touch = next_touch
        self.predicted_abort = next_touch.abort if next_touch is not None else None
        self.unreliable = None

    def to_json(self):
        document = {"rule": self.rule, "address": self.address, "message": self.message,
                    "predicted_abort": self.predicted_abort,
                    "next_touch": self.next_touch.to_json() if self.next_touch else None}
        if self.unreliable:
            document["unreliable"] = self.unreliable
        return document
