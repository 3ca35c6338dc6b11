"""How many bytes an allocator's scalar global spans, as its symbols say: global_max_fast is a
word up to glibc 2.37 and one byte from 2.38, with another variable in the byte after it, so a
word read there would mix the two.  The file's .symtab gives the size without asking gdb (the
clone, and any unstripped file); otherwise the variable's DWARF symbol (glibc's libc6-dbg)."""

import gdb

from . import elf_symbols

WORD = 8


def width(allocator, name):
    """The size of the global `name` of `allocator` (target.allocator.Allocator), in bytes; a
    word when neither its .symtab nor its debug info says (a layout manifest)."""
    objfile = allocator.objfile
    if objfile.filename:
        entry = elf_symbols.symbol_table(objfile.filename, getattr(objfile, "build_id", None)) \
            .get(name.encode())
        if entry is not None and entry[2]:
            return entry[2]
    try:
        symbol = objfile.lookup_global_symbol(name) or objfile.lookup_static_symbol(name)
        return symbol.type.sizeof if symbol is not None else WORD
    except (gdb.error, RuntimeError):
        return WORD
