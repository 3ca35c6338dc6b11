"""What the core gdb has open holds, for the Memory of a stop: its load sections (core_file) and
its program headers (core_regions), asked whether a range is there and, when it is not, why.

A mixin of cache.Memory, which supplies `_core_sections` and `_core_regions` (None until first
asked for) and `inferior`."""

from ..errors import NOT_IN_CORE, HeapReadError
from . import core_file, core_regions
from .core_file import inferior_is_core


class CoreHoldings:
    def _core(self):
        if self._core_sections is None:
            self._core_sections = core_file.sections()
        return self._core_sections

    def core_regions(self):
        """The CoreRegions of the core gdb has open (None live, or when it cannot be read)."""
        if self._core_regions is None:
            path = self._core().path() if inferior_is_core() else None
            self._core_regions = (path and core_regions.of_file(path)) or False
        return self._core_regions or None

    def _unheld(self, address, length):
        """(first address, why) when a core lacks bytes of the range that gdb would answer
        wrongly, else None.  gdb reads what the core lacks from the file mapped there: right
        for read-only code and data, the file's initial bytes (not the program's) for
        writable memory, so only the read-only case is left to gdb."""
        regions = self.core_regions()
        missing = regions.missing(address, length) if regions is not None else None
        if missing is None:
            return None
        segment = regions.segment_of(missing[0])
        if segment is not None and not segment.writable and regions.file_at(missing[0]):
            return None
        return missing

    def _refuse_unheld(self, address, length):
        missing = self._unheld(address, length)
        if missing is not None:
            raise HeapReadError(missing[0], length - (missing[0] - address), missing[1])

    def core_lacks(self, address, length=8):
        """Whether the program had memory at `address` that the core does not hold (False
        live, and False for an address that was never mapped: a pointer there is damage)."""
        missing = self._unheld(address, length) if inferior_is_core() else None
        return missing is not None and missing[1].startswith(NOT_IN_CORE)

    def unheld_anonymous(self):
        """[(start, end, why)] of a core's anonymous writable memory it does not hold: heaps,
        mmapped chunks and stacks may be there, unreadable ([] live)."""
        regions = self.core_regions()
        return regions.unheld_anonymous() if regions is not None else []

    def core_file_extent(self, address, length):
        """(file descriptor, offset) of the core file's bytes for [address, address + length),
        when one section it trusts holds them all (core_file.CoreSections.file_extent); else
        None."""
        return self._core().file_extent(self.inferior, address, length)

    def held_length(self, address, length):
        """How many of the `length` bytes at `address` a core holds in a row (`length` live:
        a live process's reads fail only on unmapped memory)."""
        regions = self.core_regions()
        return regions.held_length(address, length) if regions is not None else length

    # -- address space ------------------------------------------------------------------------
