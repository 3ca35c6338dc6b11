"""Where malloc_chunk keeps its fields in the target, from the snapshot's geometry (DWARF), for
the audit's rules."""


class ChunkOffsets:
    """The offsets of malloc_chunk's fields in the target: `fd`, `bk`, `fd_nextsize`,
    `bk_nextsize`, `size_offset` and `prev_offset`."""

    def __init__(self, snap):
        self.snap = snap
        self.mem = snap.memory
        geometry = self.geometry = snap.geometry
        self.fd = geometry.fd_offset
        self.bk = geometry.bk_offset
        self.fd_nextsize = geometry.fd_nextsize_offset
        self.bk_nextsize = geometry.bk_nextsize_offset
        self.size_offset = geometry.size_offset
        self.prev_offset = geometry.prev_size_offset
