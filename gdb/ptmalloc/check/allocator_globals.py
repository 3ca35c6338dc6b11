"""The heap check's rules over malloc's own settings: the mp_ fields that size the tcache and
global_max_fast.  Overwriting them is a technique of its own (a huge mp_.tcache_bins makes
malloc and free index past the tcache; a huge global_max_fast sends every free to a fastbin
past the arena's array), so a value no tunable or mallopt call can set is damage.  Every bound
comes from the Geometry (the DWARF of the tcache and of the fastbin array).  A mixin of
audit.Audit, which supplies `add`, `snap` and `geometry`."""

from .findings import Rule


class GlobalRules:
    def _check_globals(self):
        geometry, mp = self.geometry, self.snap.mp
        mp_address = self.snap.allocator.addresses.get("mp_")
        largest_tcache_request = geometry.tcache_size(geometry.tcache_bin_count - 1) - \
            geometry.size_sz
        count_limit = (1 << (8 * geometry.tcache_count_size)) - 1
        limits = (("tcache_bins", geometry.tcache_bin_count, "the bins a tcache has"),
                  ("tcache_max_bytes", largest_tcache_request, "the largest tcache request"),
                  ("tcache_count", count_limit, "what a tcache count can hold"))
        for field, limit, what in limits:
            value = mp.get(field)
            if value is not None and value > limit:
                self.add(Rule.MALLOC_PAR, mp_address,
                         "mp_.%s is %#x, beyond %s (%#x): no tunable or mallopt call sets that; "
                         "malloc and free would reach past the tcache" % (field, value, what, limit))
        self._check_max_fast()

    def _check_max_fast(self):
        value = self.snap.global_max_fast
        if value is None or value == 0:  # 0: malloc has not set it up yet
            return
        geometry = self.geometry
        largest = geometry.fastbin_size(geometry.fastbin_count - 1)
        smallest = geometry.min_chunk_size // 2
        if smallest <= value <= largest and (value % geometry.alignment == 0 or value == smallest):
            return
        self.add(Rule.MAX_FAST, self.snap.allocator.addresses.get("global_max_fast"),
                 "global_max_fast is %#x; mallopt(M_MXFAST) sets it between %#x and %#x: frees of "
                 "larger chunks would go to fastbins past the arena's %d"
                 % (value, smallest, largest, geometry.fastbin_count))
