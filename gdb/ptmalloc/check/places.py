"""How the heap check names the place a chunk is listed in."""

from ..model.states import ChunkState


def place_name(kind, chain):
    if kind == ChunkState.TCACHE:
        return "tcache bin %#x" % chain.size
    if kind == ChunkState.FASTBIN:
        return "fastbin %#x" % chain.size
    if kind == ChunkState.UNSORTED:
        return "the unsorted bin"
    if kind == ChunkState.SMALLBIN:
        return "smallbin %#x" % chain.size
    return "large bin %d" % chain.index
