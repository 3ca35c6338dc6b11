"""Reading the ring of arenas: main_arena, then each arena's `next` until it leads back.

A ring that ends in NULL or loops short of main_arena is damage (the heap check's arena-ring
rule); the arenas it no longer reaches are still found the way threads find theirs, so that no
arena's chunks go missing from a listing.  Arenas on free_list (those no thread uses) are
marked."""

from .. import constants as C
from ..errors import HeapReadError
from .objects import Arena


class ArenaRing:
    """The arenas of one stop: `arenas` (main first, in `next` order, then any found off a
    broken ring), `ring_break` ((arena whose `next` breaks the ring, why) or None) and `notes`
    (one line for each thing that could not be read)."""

    def __init__(self, allocator, memory, notes):
        self.allocator = allocator
        self.memory = memory
        self.notes = notes
        self.ring_break = None
        self.arenas = []

    def read_arena(self, address, is_main):
        return Arena(address, is_main, self.memory.read_struct(
            self.allocator.layouts["state"], address))

    def read(self, main):
        """The ring that starts at `main` (an Arena already read)."""
        self.arenas = self._ring_from(main)
        self._mark_free_list(self.arenas)
        return self.arenas

    def _ring_from(self, main):
        arenas = [main]
        seen = {main.address}
        address = main.next
        while address != main.address:
            if address in seen or address == 0:
                why = "its next points back at arena %#x" % address if address else \
                    "its next is NULL"
                self.ring_break = (arenas[-1].address, why)
                self.notes.append("arena list is broken at %#x: %s" % (arenas[-1].address, why))
                self._arenas_off_the_ring(arenas, seen)
                break
            if len(arenas) >= C.MAX_ARENAS:
                self.notes.append("arena list stopped after %d arenas" % len(arenas))
                break
            arena = self._take_arena(address, arenas, seen)
            if arena is None:
                break
            address = arena.next
        return arenas

    def _take_arena(self, address, arenas, seen):
        """Reads the thread arena at `address` into `arenas`; None (with a note) when it cannot
        be read."""
        seen.add(address)
        try:
            arena = self.read_arena(address, False)
        except HeapReadError as error:
            self.notes.append("arena at %#x: %s" % (address, error))
            return None
        arenas.append(arena)
        return arena

    def _arenas_off_the_ring(self, arenas, seen):
        """Arenas a broken ring no longer reaches, found the way threads find theirs: each
        thread's thread_arena, then free_list, each followed along its own `next`."""
        starts = [values.get("thread_arena") or 0
                  for _thread, values, _error in self.allocator.thread_values()]
        address = self.allocator.addresses.get("free_list")
        if address is not None:
            try:
                starts.append(self.memory.u64(address))
            except HeapReadError:
                pass
        for address in starts:
            while address and address not in seen and len(arenas) < C.MAX_ARENAS:
                arena = self._take_arena(address, arenas, seen)
                if arena is None:
                    break
                self.notes.append("arena %#x found off the broken ring" % address)
                address = arena.next

    def _mark_free_list(self, arenas):
        address = self.allocator.addresses.get("free_list")
        if address is None:
            return
        by_address = {arena.address: arena for arena in arenas}
        try:
            current = self.memory.u64(address)
        except HeapReadError as error:
            self.notes.append("free_list: %s" % error)
            return
        seen = set()
        while current and current not in seen and len(seen) < C.MAX_ARENAS:
            seen.add(current)
            arena = by_address.get(current)
            if arena is None:
                self.notes.append("free_list names %#x, which is not an arena" % current)
                return
            arena.on_free_list = True
            current = arena.next_free
