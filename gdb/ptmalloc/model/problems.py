"""Why a walk stopped, as values: each problem reads as the one line the user sees, and carries its
kind and the address it is about, so that no consumer parses the text back.

A Problem is a str (JSON, text output and notes take it as it is) with two attributes: `kind`, a
member of ListStop or HeapStop, and `address` (None when the problem names none)."""

import enum


class ListStop(enum.Enum):
    """Why a bin list's walk ended before the list's own end."""
    CYCLE = "cycle"              # an entry came back: `address` is the first one seen twice
    NULL_LINK = "null link"      # a circular list ran into a null link
    MISALIGNED = "misaligned"    # a safe-linked link decodes to a misaligned `address`
    TOO_LONG = "too long"        # the walk's bound was reached
    UNREADABLE = "unreadable"    # a link could not be read at `address`


class HeapStop(enum.Enum):
    """Why an arena's list of heaps is incomplete."""
    TOP_UNREADABLE = "top unreadable"
    TOP_PAST_HEAP = "top past its heap"  # top's size runs past the end of its heap
    HEAP_INFO = "heap_info"              # a heap_info chain or header that cannot be followed
    SEGMENT = "segment"                  # the main arena's sbrk or mmapped segments


class Problem(str):
    """One line of text that is also a value: `kind` and `address` (see the module)."""

    def __new__(cls, kind, address, text):
        problem = super().__new__(cls, text)
        problem.kind = kind
        problem.address = address
        return problem

    def __reduce__(self):
        return (Problem, (self.kind, self.address, str(self)))


def cycle(address):
    return Problem(ListStop.CYCLE, address, "cycle at %#x" % address)


def null_link(steps):
    return Problem(ListStop.NULL_LINK, None, "null fd after %d chunks" % steps)


def misaligned(address, noun=None):
    """A link that decodes to a misaligned address: "misaligned chunk 0x..." with a noun."""
    return Problem(ListStop.MISALIGNED, address,
                   "misaligned %s%#x" % (noun + " " if noun else "", address))


def too_long(steps):
    return Problem(ListStop.TOO_LONG, None, "stopped after %d entries" % steps)


def unreadable(error):
    """A HeapReadError met while following a list."""
    return Problem(ListStop.UNREADABLE, getattr(error, "address", None), str(error))
