"""The malloc hooks' values at one stop (glibc before 2.34; target/hooks.py says where they are
and what glibc itself stores there)."""

import gdb

from ..errors import HeapReadError


class HookValue:
    """`name`, `address` (of the variable), `value` (None when unreadable), `initial` (the
    value is glibc's own initialising function, stored at start-up), `malloc_check` (the value
    is glibc's own MALLOC_CHECK_ function), `target` (the symbol the value points at, e.g.
    "system", or None)."""

    __slots__ = ("name", "address", "value", "initial", "malloc_check", "target")

    def __init__(self, name, address, value, initial, malloc_check, target):
        self.name = name
        self.address = address
        self.value = value
        self.initial = initial
        self.malloc_check = malloc_check
        self.target = target

    @property
    def set_by_program(self):
        """Not NULL and none of glibc's own functions: something else will run in its place."""
        return bool(self.value) and not self.initial and not self.malloc_check

    def to_json(self):
        return {"name": self.name, "address": self.address, "value": self.value,
                "initial": self.initial, "malloc_check": self.malloc_check,
                "target": self.target}


def read(snap):
    """[HookValue] of the snapshot allocator's hooks at its stop ([] from glibc 2.34 on, whose
    malloc calls none)."""
    values = []
    for place in snap.allocator.hook_places():
        try:
            value = snap.memory.u64(place.address)
        except HeapReadError:
            value = None
        initial = bool(value) and value == place.initial
        malloc_check = bool(value) and value == place.malloc_check
        values.append(HookValue(place.name, place.address, value, initial, malloc_check,
                                _symbol_at(value) if value else None))
    return values


def _symbol_at(address):
    """The name of the symbol at or before `address` ("system", "win+4"), or None."""
    try:
        text = gdb.execute("info symbol %#x" % address, to_string=True)
    except gdb.error:
        return None
    if text.startswith("No symbol"):
        return None
    return text.split(" in section ", 1)[0].strip().replace(" + ", "+") or None
