"""Names for the words a predicted call would write: `main_arena.bins[3]`, `tcache of thread 2
.counts[0]`, `mp_.n_mmaps`, `chunk 0x… +0x8`.  The struct layouts come from the target's
DWARF (target/layouts); nothing here knows an offset."""


def describe(snap, address, chunks=()):
    """A short name for the word at `address`, or "" when it is in none of the allocator's
    structs and near none of `chunks` (chunk addresses the caller knows about)."""
    layouts = snap.layouts
    for arena in snap.arenas:
        name = _field_name(layouts["state"], arena.address, address)
        if name is not None:
            owner = "main_arena" if arena.is_main else "arena %#x" % arena.address
            return owner + name
    for thread in snap.threads:
        if thread.tcache:
            name = _field_name(layouts["tcache"], thread.tcache, address)
            if name is not None:
                return "tcache of thread %d %s" % (thread.num, name)
    mp_address = snap.allocator.addresses.get("mp_")
    if mp_address is not None:
        name = _field_name(layouts["par"], mp_address, address)
        if name is not None:
            return "mp_" + name
    chunk_size = layouts["chunk"].size
    for chunk in chunks:
        if chunk is not None and chunk <= address < chunk + chunk_size:
            name = _field_name(layouts["chunk"], chunk, address)
            return "chunk %#x %s" % (chunk, name.lstrip("."))
    return ""


def _field_name(layout, base, address):
    """".field" or ".field[i]" of the struct at `base` holding `address`, or None."""
    offset = address - base
    if not 0 <= offset < layout.size:
        return None
    for field in layout.fields.values():
        end = field.offset + field.size * field.count
        if field.offset <= offset < end:
            if field.count == 1:
                return "." + field.name
            return ".%s[%d]" % (field.name, (offset - field.offset) // field.size)
    return "+%#x" % offset
