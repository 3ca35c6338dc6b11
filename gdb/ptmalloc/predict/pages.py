"""The inferior's memory as the prediction engine asks for it: page blocks with their
permission, "absent" where the inferior has nothing (the real call's segfault), "unknown" where
a core lacks the page, and whether the engine's own address ranges are free in the inferior."""

import gdb

from ..errors import HeapError
from ..memory.core_file import inferior_is_core
from ..memory.core_regions import NOT_IN_CORE

_PAGE = 4096
# Pages sent for one request: the one asked and those after it in the same mapping.  A call
# that scans a list through the heap touches page after page; 64 KiB per round trip keeps it
# from paying one each.
_BLOCK_PAGES = 16


class PredictionError(HeapError):
    """The engine could not be asked (missing, or it broke its side of the conversation)."""


class InferiorPages:
    """Answers the engine's page requests from one stop's Memory."""

    def __init__(self, memory):
        self.memory = memory
        self._live_maps = None

    def check_reserved(self, fields):
        numbers = [int(field, 16) for field in fields[fields.index("reserved") + 1:]]
        for low, high in zip(numbers[::2], numbers[1::2]):
            for start, end in self._mappings():
                if start < high and low < end:
                    raise PredictionError(
                        "the prediction engine cannot run: the inferior has memory at %#x-%#x, "
                        "where the engine itself lives (%#x-%#x)" % (start, end, low, high))

    def _mappings(self):
        if inferior_is_core():
            regions = self.memory.core_regions()
            return [(segment.start, segment.end) for segment in regions.segments] if regions else []
        return [(start, end) for start, end, _ in self._maps()]

    def _maps(self):
        """[(start, end, perms)] of the live process, read once per conversation."""
        if self._live_maps is None:
            self._live_maps = []
            try:
                with open("/proc/%d/maps" % gdb.selected_inferior().pid, encoding="utf-8") as maps:
                    for line in maps:
                        span, perms = line.split()[:2]
                        start, end = (int(x, 16) for x in span.split("-"))
                        self._live_maps.append((start, end, perms))
            except OSError:
                pass
        return self._live_maps

    def page(self, address):
        """The engine's page: copies (writable in the inferior) or read-only copies of it and the
        pages after it in the same mapping, absent (a real fault), or unknown (a core that lacks
        it)."""
        span = self._mapping(address)
        if span is None:
            return b"absent\n"
        end, writable = span
        count = max(1, min(_BLOCK_PAGES, (end - address) // _PAGE))
        while True:
            try:
                data = self.memory.read(address, count * _PAGE)
                break
            except HeapError as error:
                if count > 1:
                    count = 1  # part of the block is unreadable: the page alone
                    continue
                if NOT_IN_CORE in str(error):
                    return ("unknown page %#x is not in the core\n" % address).encode()
                return b"absent\n"
        kind = b"copy" if writable else b"readonly"
        return b"%s %d\n" % (kind, count) + bytes(data)

    def _mapping(self, address):
        """(end, writable) of the inferior's mapping holding `address`, or None when it has no
        readable page there."""
        if inferior_is_core():
            regions = self.memory.core_regions()
            if regions is None:
                return address + _PAGE, True
            segment = regions.segment_of(address)
            if segment is None:
                return None
            held = segment.held_end if segment.held_end > address else segment.end
            return min(segment.end, max(held, address + _PAGE)), segment.writable
        for start, end, perms in self._maps():
            if start <= address < end:
                return None if perms[0] != "r" else (end, perms[1] == "w")
        return None if self._maps() else (address + _PAGE, True)
