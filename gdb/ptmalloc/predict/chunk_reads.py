"""Where malloc_chunk keeps its fields in the target, and word reads made the way the allocator
makes them, for the replays of glibc's checks (free_model, malloc_model) and the audit.

A replay that meets unmapped memory answers "the program would crash" instead of an abort
message, so its reads raise Unreadable rather than HeapReadError; and an address computed from
damaged fields wraps at 64 bits, as the allocator's pointer arithmetic does."""

from ..errors import HeapReadError


class Unreadable(Exception):
    """The allocator would dereference memory that is not there: a crash, not an abort message."""


class ChunkOffsets:
    """The offsets of malloc_chunk's fields in the target, from the snapshot's geometry:
    `fd`, `bk`, `fd_nextsize`, `bk_nextsize`, `size_offset` and `prev_offset`."""

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


class ChunkReader(ChunkOffsets):
    """Reads of chunk headers and links as the allocator would make them (see the module)."""

    def word(self, address):
        address &= self.geometry.address_mask
        try:
            return self.mem.u64(address)
        except HeapReadError:
            raise Unreadable("%#x" % address) from None

    def size_field(self, chunk):
        return self.word(chunk + self.size_offset)

    def size(self, chunk):
        return self.size_field(chunk) & self.geometry.size_mask

    def prev_size(self, chunk):
        return self.word(chunk + self.prev_offset)
