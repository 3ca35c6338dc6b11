"""The states a chunk can be in, defined once, and the row codes the C helper shares.

A state is a StrEnum member, so it prints, compares and goes into JSON as its name ("in-use",
"tcache", ...) while the code names it.  A bin list's kind is the state of the chunks it lists.

The walk's C helper (gdb/native/heapwalk.c) labels each row of a segment with a one-byte code;
ROW_STATES is the table of those codes, and the C header with the same numbers is generated
from it at build time (gdb/native/row_codes.py), so the two cannot drift apart.  This module
imports nothing from gdb, so the build can import it too."""

import enum


class ChunkState(enum.StrEnum):
    IN_USE = "in-use"
    FREE = "free"  # free by its neighbour's PREV_INUSE, but in no bin
    TOP = "top"
    TCACHE = "tcache"
    FASTBIN = "fastbin"
    UNSORTED = "unsorted"
    SMALLBIN = "smallbin"
    LARGEBIN = "largebin"

    # A member is looked up in dicts keyed by its text too (JSON, --state arguments).
    __hash__ = str.__hash__


# The row codes, in code order: a row's code is its state's index here.
ROW_STATES = tuple(ChunkState)
ROW_CODE = {state: code for code, state in enumerate(ROW_STATES)}

# The lists of an arena's bins, which free chunks of each kind are filed in.
BINNED = frozenset((ChunkState.UNSORTED, ChunkState.SMALLBIN, ChunkState.LARGEBIN))
# Chunks the allocator still counts as in use: their NON_MAIN_ARENA bit and next chunk's
# PREV_INUSE say so although a cache lists them.
CACHED_OR_IN_USE = frozenset((ChunkState.IN_USE, ChunkState.TCACHE, ChunkState.FASTBIN))
# The order states are reported in, whatever order a walk met them in.
REPORT_ORDER = (ChunkState.IN_USE, ChunkState.TCACHE, ChunkState.FASTBIN, ChunkState.UNSORTED,
                ChunkState.SMALLBIN, ChunkState.LARGEBIN, ChunkState.FREE, ChunkState.TOP)
