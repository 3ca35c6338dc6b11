"""How the heap check names the place a chunk is listed in, and reads an address back out of
a walk's one-line problem text."""


def address_in(text, default):
    for word in reversed(text.split()):
        if word.startswith("0x"):
            try:
                return int(word.rstrip(".,;)"), 16)
            except ValueError:
                break
    return default


def place_name(kind, chain):
    if kind == "tcache":
        return "tcache bin %#x" % chain.size
    if kind == "fastbin":
        return "fastbin %#x" % chain.size
    if kind == "unsorted":
        return "the unsorted bin"
    if kind == "smallbin":
        return "smallbin %#x" % chain.size
    return "large bin %d" % chain.index
