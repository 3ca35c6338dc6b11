"""unlink_chunk()'s checks: what taking a free chunk out of its doubly linked bin would meet.

free() runs them when it merges a chunk with a free neighbour, malloc when it takes a chunk from
a small or large bin; the order of the checks is the allocator's."""


def unlink_problem(reader, chunk):
    """The message unlink_chunk() would abort with when taking `chunk` out of its bin, read
    through `reader` (a ChunkReader); None when the unlink goes through."""
    size = reader.size(chunk)
    if reader.prev_size(chunk + size) != size:
        return "corrupted size vs. prev_size"
    forward = reader.word(chunk + reader.fd)
    backward = reader.word(chunk + reader.bk)
    if reader.word(forward + reader.bk) != chunk or reader.word(backward + reader.fd) != chunk:
        return "corrupted double-linked list"
    if size >= reader.geometry.min_large_size and reader.word(chunk + reader.fd_nextsize):
        next_group = reader.word(chunk + reader.fd_nextsize)
        prev_group = reader.word(chunk + reader.bk_nextsize)
        if reader.word(next_group + reader.bk_nextsize) != chunk or \
                reader.word(prev_group + reader.fd_nextsize) != chunk:
            return "corrupted double-linked list (not small)"
    return None
