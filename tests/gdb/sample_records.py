"""The records the gdb suites' own sample programs write of what they did, read once for every
suite that runs them (tests/gdb on the system glibc, tests/versions on the other releases):
refs_planted.c's planted words, leaky_loop.c's held blocks, history_threads.c's calls."""

# refs_planted.c: the region each kind of planted word must be named by (the program's name is
# its file's), and the record's kind for a register of the main thread holding the address.
PLANTED_REGIONS = {"heap": "heap arena ", "data": ".data of refs_planted",
                   "bss": ".bss of refs_planted", "tls": "TLS of thread 2",
                   "stack": "stack of thread 1", "descriptor": "thread descriptor of thread 1"}
REGISTER_KIND = "register-"
MAIN_THREAD = 1

# leaky_loop.c: a chunk's header is two words before the pointer malloc returned, and its size
# is the usable size plus the one word of the next chunk's header that an in-use chunk does not
# lend.
HEADER, NOT_LENT = 16, 8


def planted(path):
    """([(kind, address, value)] of the words refs_planted.c planted, {(thread, register,
    value)} of the registers it holds the address in)."""
    words, registers = [], set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            kind, address, value = line.split()
            if kind.startswith(REGISTER_KIND):
                registers.add((MAIN_THREAD, kind[len(REGISTER_KIND):], int(value, 16)))
            elif kind != "target":
                words.append((kind, int(address, 16), int(value, 16)))
    return words, registers


def held_blocks(path):
    """{chunk header: (size, site, block number)} of what leaky_loop.c held at one stop."""
    held = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            address, usable, site, block = line.split()
            held[int(address, 16) - HEADER] = (int(usable) + NOT_LENT, site, int(block))
    return held


class Call:
    """One line of history_threads.c's record: a call, its result, size, line and thread."""

    def __init__(self, line):
        op, ptr, old_ptr, size, source_line, thread = line.split()
        self.op, self.size = op, int(size)
        self.ptr = 0 if ptr == "(nil)" else int(ptr, 16)
        self.old_ptr = 0 if old_ptr == "(nil)" else int(old_ptr, 16)
        self.line, self.thread = int(source_line), int(thread)


def read_calls(path):
    with open(path, encoding="utf-8") as handle:
        return [Call(line) for line in handle if line.strip()]
