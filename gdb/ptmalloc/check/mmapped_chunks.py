"""The heap check's rules over mmapped chunks, which no list holds: mp_.n_mmaps counts them, so
a count that differs from what the scan of the mappings found means a chunk is hidden (its
header damaged, or a neighbour's size grown over it) or the count itself was written.

A chunk the count says is missing is named where the damage shows: a header flagged as an
mmapped chunk whose size does not fit its mapping, or a chunk whose size covers another one's
header.  A core may lack mappings (coredump_filter, a cut file): when it lacks anonymous
memory, a shortfall without such a header is not called damage.  A mixin of audit.Audit, which
supplies `add`, `snap`, `geometry` and `predict_free`."""

from ..memory import cache
from .findings import Rule


class MmappedRules:
    def _check_mmapped(self):
        report = self.snap.mmapped_report()
        missing = report.missing()
        for address, size_field, why in report.rejected:
            self.add(Rule.MMAPPED_CHUNK, address,
                     "mmapped chunk at %#x (size field %#x): %s; mp_.n_mmaps counts %d chunks, "
                     "%d were found" % (address, size_field, why, report.expected,
                                        len(report.chunks)),
                     self.predict_free(address))
        for chunk, covered in report.overlaps:
            self.add(Rule.MMAPPED_CHUNK, chunk.address,
                     "mmapped chunk at %#x has size %#x, over the mmapped chunk at %#x: a size "
                     "grown past its own mapping" % (chunk.address, chunk.size, covered))
        named = report.rejected or report.overlaps
        mp_address = self.snap.allocator.addresses.get("mp_")
        if missing < 0:
            self.add(Rule.MMAPPED_COUNT, mp_address,
                     "mp_.n_mmaps is %d but %d mmapped chunks were found" % (
                         report.expected, len(report.chunks)))
        elif missing > 0 and not named and self._every_mapping_readable():
            self.add(Rule.MMAPPED_COUNT, mp_address,
                     "mp_.n_mmaps counts %d mmapped chunks but %d were found: a header may be "
                     "damaged, or the count written" % (report.expected, len(report.chunks)))

    def _every_mapping_readable(self):
        """Live, always; in a core, when its program headers say it holds all anonymous memory."""
        memory = self.snap.memory
        if not cache.inferior_is_core():
            return True
        return memory.core_regions() is not None and not memory.unheld_anonymous()
