"""The heap check's rules on what bounds an arena's heaps: heap_info headers, the top chunk and
system_mem.  A mixin of audit.Audit, which supplies `add`, `geometry`, `snap`, `broken_arenas`
and (from heap.HeapRules) `_initial_top`."""

from .findings import Rule


class ArenaBoundRules:
    def _check_heap_info(self, arena, segment):
        """new_heap and grow_heap/shrink_heap keep: pagesize a power of two of at least a page,
        size and mprotect_size multiples of it, size <= mprotect_size <= the heap size (from
        mp_.hp_pagesize), and nothing ever writes the pad of the zeroed mapping."""
        geometry = self.geometry
        info = segment.info
        # Before glibc 2.35 heap_info has no pagesize: its heaps are of the system's pages.
        pagesize, size = info.get("pagesize", geometry.page_size), info.get("size")
        protected, pad = info.get("mprotect_size"), info.get("pad")
        problems = []
        if pagesize is not None and (pagesize < geometry.page_size or pagesize & (pagesize - 1)):
            problems.append("pagesize %#x is not a page size" % pagesize)
        elif pagesize is not None and protected is not None:
            limit = geometry.heap_max_size
            if size % pagesize or protected % pagesize:
                problems.append("size %#x / mprotect_size %#x are not multiples of its pagesize "
                                "%#x" % (size, protected, pagesize))
            elif not size <= protected <= limit:
                problems.append("mprotect_size %#x is not between its size %#x and %#x"
                                % (protected, size, limit))
        if pad is not None and any(pad if isinstance(pad, tuple) else (pad,)):
            problems.append("its pad bytes, never written by the allocator, are not zero")
        if problems:
            self.add(Rule.HEAP_INFO, segment.address, "heap_info at %#x of %s: %s" % (
                segment.address, arena.label(), "; ".join(problems)))

    def _heap_end_of_top(self, arena):
        if arena.is_main:
            if arena.fields.get("flags", 0) & self.geometry.noncontiguous_bit:
                return None
            return self.snap.mp["sbrk_base"] + arena.system_mem
        for segment in arena.heaps:
            if segment.info is not None and segment.address <= arena.top < \
                    segment.address + segment.info["size"]:
                return segment.address + segment.info["size"]
        return None

    def _check_top(self, arena):
        """True when the top chunk is flagged."""
        if arena.top == self._initial_top(arena):
            return False  # the main arena before its first sbrk: top is the unsorted bin's fake chunk
        top = arena.top
        size = arena.top_size
        problems = []
        if not self.geometry.is_aligned(top):
            problems.append("top %#x is misaligned" % top)
        if not self.geometry.is_aligned(size):
            problems.append("its size %#x is misaligned" % size)
        if size > arena.system_mem:
            problems.append("its size %#x exceeds the arena's system_mem %#x"
                            % (size, arena.system_mem))
        end = self._heap_end_of_top(arena)
        if end is not None and not problems and top + size != end:
            problems.append("it ends at %#x, not at the end of its heap %#x" % (top + size, end))
        if problems:
            predicted = self.touches.top(arena)
            self.add(Rule.TOP_SIZE, top, "top chunk of %s %#x: %s" % (
                arena.label(), arena.address, "; ".join(problems)), predicted)
        return bool(problems)

    def _check_system_mem(self, arena):
        if arena.is_main or arena.address in self.broken_arenas or not arena.heaps:
            return
        total = sum(segment.info["size"] for segment in arena.heaps if segment.info)
        if total != arena.system_mem:
            self.add(Rule.SYSTEM_MEM, arena.address,
                     "arena %#x says system_mem %#x but its %d heaps hold %#x bytes" % (
                         arena.address, arena.system_mem, len(arena.heaps), total))
        if arena.max_system_mem < arena.system_mem:
            self.add(Rule.SYSTEM_MEM, arena.address,
                     "arena %#x has max_system_mem %#x below system_mem %#x" % (
                         arena.address, arena.max_system_mem, arena.system_mem))
