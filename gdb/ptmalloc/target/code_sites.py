"""Where a return address lies in the program's source, as gdb's symbols say: the file and line
of the call (the instruction before the return address) and the function holding it."""

import collections

import gdb

# `file` and `line` are None when gdb has no line table there, `function` when no symbol.
CodeSite = collections.namedtuple("CodeSite", "file line function")


class SiteNamer:
    """Caches the site of each distinct return address: a ring repeats few call sites."""

    def __init__(self):
        self._sites = {}

    def site(self, return_address):
        site = self._sites.get(return_address)
        if site is None:
            site = self._sites[return_address] = _site_of(return_address)
        return site


def _site_of(return_address):
    if not return_address:
        return CodeSite(None, None, None)
    call = return_address - 1
    file = line = function = None
    try:
        found = gdb.find_pc_line(call)
        if found.symtab is not None and found.line:
            file, line = found.symtab.filename, found.line
    except (gdb.error, RuntimeError):
        pass
    try:
        block = gdb.current_progspace().block_for_pc(call)
        while block is not None and block.function is None:
            block = block.superblock
        if block is not None:
            function = block.function.print_name
    except (gdb.error, RuntimeError):
        pass
    if function is None:
        try:
            # No debug info there (a library's code): the ELF symbol, as `info symbol` has it.
            described = gdb.execute("info symbol %#x" % call, to_string=True).strip()
            if described and not described.startswith("No symbol"):
                function = described.split(" in section ")[0].split(" + ")[0]
        except gdb.error:
            pass
    return CodeSite(file, line, function)


def describe(site):
    """`file.c:LINE (function)`, or what is known of it."""
    if site.file is not None:
        where = "%s:%d" % (site.file, site.line)
        return "%s (%s)" % (where, site.function) if site.function else where
    return site.function or "unknown code"
