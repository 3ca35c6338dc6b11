"""Which allocator serves `malloc` in the inferior, and how its data is laid out.

Several objfiles may define `main_arena` (the clone, preloaded or linked, and glibc's libc.so.6
with libc6-dbg).  The dynamic linker binds `malloc` to the first definition in link-map order,
which is the order gdb lists objfiles in: the executable (a static link of libptmalloc.a), then
preloaded libraries, then the needed ones.  So the allocator is the first primary objfile in
`gdb.objfiles()` that defines `main_arena`.  Its symbols and types are looked up in that objfile
only, in the first of three ways that works:

- the clone with DWARF: its type anchor (dwarf/types.c) gives the types, and the file's .symtab
  places the globals beside the anchor and the TLS variables in each thread's block, so gdb
  expands one small unit of debug info (_anchored_allocator);
- any allocator with DWARF (glibc with libc6-dbg, a clone linked into the executable): the
  symbols main_arena and tcache, and the types in main_arena's unit (_dwarf_allocator);
- no DWARF: `manifest.resolve(objfile)`, the one hook that can still describe it.

Nothing here hard-codes an offset: every struct layout is read from a gdb.Type."""


import os

import gdb

from ..errors import HeapError
from ..memory import cache
from . import allocator_absence, core_checks, elf_symbols, hooks, release, thread_locals
from .layouts import StructLayout

_TYPE_NAMES = {
    "chunk": "struct malloc_chunk",
    "state": "struct malloc_state",
    "heap_info": "heap_info",
    "par": "struct malloc_par",
    "tcache": "tcache_perthread_struct",
    "tcache_entry": "tcache_entry",
}
_GLOBALS = ("main_arena", "mp_", "global_max_fast", "narenas", "free_list", "tcache_key")
_REQUIRED_GLOBALS = ("main_arena", "mp_")
# The clone's DWARF unit dwarf/types.c holds one variable with a member of every heap type.
_TYPE_ANCHOR = "ptmalloc_dwarf_type_anchor"


class Allocator:
    """The allocator found in the inferior.

    Attributes: `objfile`, `name` (its file name), `flavour` ("clone" or "glibc"), `layouts`
    ({"chunk", "state", "heap_info", "par", "tcache", "tcache_entry"} -> StructLayout),
    `addresses` ({"main_arena", "mp_", ...} -> int; optional globals may be missing),
    `source` ("DWARF" or the manifest path) and `release` (release.Release: which glibc it is,
    or the clone built as)."""

    def __init__(self, objfile, layouts, addresses, tls_reader, source, built_as=None):
        """`tls_reader`: see thread_locals (read(name, thread), needs_selection); `built_as`:
        the clone's recorded release, None to read it from the file."""
        self.objfile = objfile
        self.name = objfile.filename or "?"
        base = self.name.rsplit("/", 1)[-1]
        self.flavour = "glibc" if base.startswith("libc.so") or base.startswith("libc-") else "clone"
        self.layouts = layouts
        self.addresses = addresses
        self._tls_reader = tls_reader
        self.source = source
        self.release = built_as or release.of_file(objfile.filename, self.flavour == "clone") \
            or release.inferred(layouts, addresses)
        self._hook_places = None

    def describe(self):
        version = str(self.release) if self.release.known else \
            "release unknown, read as %s" % self.release
        what = "glibc %s" % version if self.flavour == "glibc" else \
            "ptmalloc clone (glibc %s)" % version
        # A preloaded library's name is the path as the program was given it
        # (samples/x/../../libptmalloc.so); the heading names the file plainly.
        return "%s in %s" % (what, os.path.normpath(self.name))

    def hook_places(self):
        """[hooks.HookPlace] of its malloc hooks ([] from glibc 2.34 on), looked up once."""
        if self._hook_places is None:
            self._hook_places = hooks.places(self)
        return self._hook_places

    def global_address(self, name, function=False):
        """Where the allocator's global `name` (a function when `function`) is, or None.

        Asked of gdb first: a program that names an exported variable itself (a hook, say)
        holds a copy of it that the dynamic linker binds every library to (a copy relocation),
        and gdb's symbol lookup follows it there; the file's .symtab, at the name's distance
        from main_arena, would place the allocator's unused original."""
        symbol = _dwarf_symbol(self.objfile, name)
        if symbol is not None:
            try:
                value = symbol.value()
                return int(value.address if value.address is not None else value)
            except (gdb.error, TypeError):
                pass
        table = _symbol_table(self.objfile)
        arena_entry, entry = table.get(b"main_arena"), table.get(name.encode())
        wanted = elf_symbols.STT_FUNC if function else elf_symbols.STT_OBJECT
        if arena_entry is None or entry is None or entry[0] != wanted:
            return None
        return self.addresses["main_arena"] - arena_entry[1] + entry[1]

    def thread_values(self):
        """[(gdb.InferiorThread, {"tcache": int or None, "thread_arena": int or None}, error)]
        for every thread; `error` is a one-line reason when TLS could not be read."""
        return thread_locals.read_all(self._tls_reader)


def _primary_objfiles():
    for objfile in gdb.objfiles():
        if getattr(objfile, "owner", None) is None and objfile.is_valid():
            yield objfile


def _dwarf_symbol(objfile, name):
    # Global first: a miss there is cheap, while a missed static lookup makes gdb search every
    # unit's static block (milliseconds on the first command of a session).
    try:
        symbol = objfile.lookup_global_symbol(name)
        if symbol is None:
            symbol = objfile.lookup_static_symbol(name)
    except (gdb.error, RuntimeError):
        return None
    return symbol


def _anchored_allocator(objfile):
    """The clone with DWARF, described from its type anchor alone, or None when `objfile` is not
    that (no anchor in its .symtab, no DWARF for it, a file rebuilt since gdb read it).

    The anchor's members give every heap type, and gdb expands only the small unit that defines
    it; its address and the .symtab place every global (see _beside), and the TLS variables come
    from the thread pointers (thread_locals).  Looking up main_arena and tcache instead makes gdb
    expand a unit of the allocator itself, with every macro of every header it includes: the
    biggest fixed cost of a session's first heap command."""
    symbol_table = _symbol_table(objfile)
    entry = symbol_table.get(_TYPE_ANCHOR.encode())
    if entry is None or entry[0] != elf_symbols.STT_OBJECT:
        return None
    try:
        anchor = objfile.lookup_static_symbol(_TYPE_ANCHOR)
        anchor_address = int(anchor.value().address) if anchor is not None else None
        anchor_fields = anchor.type.strip_typedefs().fields() if anchor is not None else []
        members = {str(field.type): field.type for field in anchor_fields}
        built_as = _recorded_release(anchor_fields)
    except (gdb.error, RuntimeError, TypeError):
        return None
    gdb_types = {key: members.get(type_name) for key, type_name in _TYPE_NAMES.items()}
    if anchor_address is None or None in gdb_types.values():
        return None
    addresses = {}
    for name in _GLOBALS:
        address = _beside(symbol_table, _TYPE_ANCHOR, anchor_address, name, elf_symbols.STT_OBJECT)
        if address is not None:
            addresses[name] = address
    if any(name not in addresses for name in _REQUIRED_GLOBALS):
        return None
    load_bias = anchor_address - entry[1]
    tls = thread_locals.ThreadPointerTls.create(objfile, symbol_table, load_bias) or \
        _SymbolTls(objfile, symbol_table)
    layouts = {key: StructLayout.from_gdb_type(t) for key, t in gdb_types.items()}
    return Allocator(objfile, layouts, addresses, tls, "DWARF", built_as)


def _recorded_release(anchor_fields):
    """The release the clone was built as, from its anchor's enum member glibc_release (the
    build's GLIBC_VERSION); None for a build from before that member (its banner may say)."""
    member = next((field for field in anchor_fields if field.name == "glibc_release"), None)
    if member is None:
        return None
    return release.of_clone_constant(member.type.strip_typedefs().fields()[0].enumval)


def _dwarf_allocator(objfile, arena_symbol):
    block = arena_symbol.symtab.static_block() if arena_symbol.symtab else None
    symbol_table = _symbol_table(objfile)
    tls = _SymbolTls(objfile, symbol_table)
    gdb_types = {}
    if tls.anchor is not None:
        # The TLS pointer names its struct for free; a type missing from main_arena's unit
        # would otherwise be looked for in every unit of every objfile.
        gdb_types["tcache"] = tls.anchor.type.target()
    for key, type_name in _TYPE_NAMES.items():
        if key in gdb_types:
            continue
        try:
            gdb_types[key] = gdb.lookup_type(type_name, block) if block else gdb.lookup_type(type_name)
        except gdb.error:
            gdb_types[key] = None
    # Types not named in main_arena's unit are reached through the variables that use them.
    if gdb_types["state"] is None:
        gdb_types["state"] = arena_symbol.type
    if gdb_types["chunk"] is None:
        gdb_types["chunk"] = arena_symbol.type.strip_typedefs()["top"].type.target()
    missing = [type_name for key, type_name in _TYPE_NAMES.items() if gdb_types[key] is None]
    if missing:
        raise HeapError("%s has debug info but no type %s" % (objfile.filename, ", ".join(missing)))
    layouts = {key: StructLayout.from_gdb_type(t) for key, t in gdb_types.items()}
    try:
        arena_address = int(arena_symbol.value().address)
    except (gdb.error, TypeError):
        raise HeapError("%s has no symbol main_arena" % objfile.filename) from None
    addresses = {"main_arena": arena_address}
    tls.arena_address = arena_address
    for name in _GLOBALS:
        if name in addresses:
            continue
        address = _beside(symbol_table, "main_arena", arena_address, name, elf_symbols.STT_OBJECT)
        if address is None:
            address = _symbol_address(objfile, name)
        if address is not None:
            addresses[name] = address
    for name in _REQUIRED_GLOBALS:
        if name not in addresses:
            raise HeapError("%s has no symbol %s" % (objfile.filename, name))
    return Allocator(objfile, layouts, addresses, tls, "DWARF")


def _symbol_table(objfile):
    """The .symtab of the objfile's file (see elf_symbols.symbol_table); {} without a file."""
    if not objfile.filename:
        return {}
    return elf_symbols.symbol_table(objfile.filename, getattr(objfile, "build_id", None))


def _symbol_address(objfile, name):
    symbol = _dwarf_symbol(objfile, name)
    if symbol is None:
        return None
    try:
        return int(symbol.value().address)
    except (gdb.error, TypeError):
        return None


def _beside(symbol_table, anchor, anchor_address, name, symbol_type):
    """Where `name` is, given that `anchor` is at anchor_address: their distance in the ELF
    symbol table, when both are there as symbols of `symbol_type`; else None.  Variables of one
    module keep their distances wherever it is loaded (thread-local ones in each thread's TLS
    block), so this asks gdb for nothing (see elf_symbols)."""
    anchor_entry = symbol_table.get(anchor.encode())
    entry = symbol_table.get(name.encode())
    if anchor_entry is None or entry is None or anchor_entry[0] != symbol_type or \
            entry[0] != symbol_type:
        return None
    return anchor_address + entry[1] - anchor_entry[1]


class _SymbolTls:
    """The TLS variables of an allocator with DWARF, read in the selected thread.

    `tcache` is read through its symbol (the anchor), the others at their distance from it in
    the module's TLS block when the file's .symtab gives it (see _beside): looking up
    thread_arena would make gdb expand one more compilation unit of debug info.  Without a
    .symtab (a stripped file with separate debug info, such as glibc's), each variable goes
    through its own symbol."""

    needs_selection = True

    def __init__(self, objfile, symbol_table):
        self._objfile = objfile
        self._symbol_table = symbol_table
        self.anchor = _dwarf_symbol(objfile, "tcache")
        self._symbols = {"tcache": self.anchor}
        # Where main_arena is, which places the fallback's debug .symtab (set by the caller).
        self.arena_address = None
        self._fallback = None

    def read(self, name, thread):
        try:
            return self._read(name, thread)
        except gdb.error:
            # gdb reads glibc's TLS through libthread_db, which a glibc 2.31 program without
            # libpthread never loads: then read at the thread pointer (thread_locals).
            if self._fallback is None and self.arena_address is not None:
                self._fallback = thread_locals.FsBaseTls.from_debug_file(
                    self._objfile, "main_arena", self.arena_address) or False
            if not self._fallback:
                raise
            return self._fallback.read(name, thread)

    def _read(self, name, thread):
        if name != "tcache" and self.anchor is not None:
            address = _beside(self._symbol_table, "tcache", int(self.anchor.value().address),
                              name, elf_symbols.STT_TLS)
            if address is not None:
                return cache.current().u64(address)
        if name not in self._symbols:
            self._symbols[name] = _dwarf_symbol(self._objfile, name)
        symbol = self._symbols[name]
        if symbol is None:
            raise HeapError("no TLS symbol %s" % name)
        return int(symbol.value())


def _manifest_allocator(objfile):
    """The manifest hook: an objfile without DWARF described by a ptm-layout manifest."""
    try:
        from . import manifest
    except ImportError:
        return None
    try:
        layout = manifest.resolve(objfile)
    except gdb.GdbError as error:
        raise HeapError(str(error).replace("heap: ", "", 1)) from None
    if layout is None:
        return None
    layouts = {}
    for key, type_name in _TYPE_NAMES.items():
        layouts[key] = StructLayout.from_manifest(type_name, layout.type_size(type_name),
                                                  layout.fields(type_name))
    addresses = {}
    for name in _GLOBALS:
        try:
            addresses[name] = layout.symbol_address(name)
        except gdb.GdbError:
            if name in _REQUIRED_GLOBALS:
                raise
    return Allocator(objfile, layouts, addresses, _ManifestTls(layout), layout.path)


class _ManifestTls:
    """TLS variables where the manifest places them from the selected thread's $fs_base."""

    needs_selection = True

    def __init__(self, layout):
        self._layout = layout

    def read(self, name, thread):
        return cache.current().u64(self._layout.tls_address(name, thread))


def require_inferior():
    inferior = gdb.selected_inferior()
    if inferior is None or inferior.pid == 0:
        raise HeapError("the program is not running (run it, attach to it, or load a core file)")
    running = [thread.num for thread in inferior.threads() if thread.is_running()]
    if running:
        # Its heap changes under the reads: a walk would mix states of different moments.
        raise HeapError("the program is running (%d of its %d threads): stop it first "
                        "(`interrupt`, or Ctrl-C), then ask again"
                        % (len(running), len(inferior.threads())))
    return inferior


_cached = (None, None)


def find_allocator():
    """The Allocator serving malloc, cached until the inferior changes; HeapError if none."""
    global _cached
    require_inferior()
    generation = cache.generation()
    if _cached[0] == generation and _cached[1] is not None:
        return _cached[1]
    found = None
    for objfile in _primary_objfiles():
        # ld.so up to glibc 2.31 exports a malloc of its own, the minimal allocator it uses
        # while loading; it comes after libc in the program's lookup scope (though gdb lists it
        # first), so the program's calls bind to libc's malloc.
        if _plainly_not_an_allocator(objfile) or elf_symbols.is_dynamic_linker(objfile.filename):
            continue
        found = _anchored_allocator(objfile)
        if found is not None:
            break
        arena_symbol = _dwarf_symbol(objfile, "main_arena")
        if arena_symbol is not None:
            found = _dwarf_allocator(objfile, arena_symbol)
            break
        found = _manifest_allocator(objfile)
        if found is not None:
            break
        if objfile.filename and elf_symbols.defines_symbol(objfile.filename, "malloc"):
            # This objfile wins the dynamic linker's binding of malloc: any later allocator
            # (glibc's main_arena, say) is not the one the program uses.
            raise HeapError(allocator_absence.explain(objfile))
    if found is None:
        raise HeapError(allocator_absence.explain())
    mismatch = core_checks.mismatch_of(found.objfile)
    if mismatch is not None:
        # Its symbols and types are not those of the memory in the core: nothing read through
        # them could be trusted.
        raise HeapError("cannot read this core's heap: %s" % mismatch)
    core_checks.warn_once()
    _cached = (generation, found)
    return found


def _plainly_not_an_allocator(objfile):
    """Whether the objfile's own file shows it has no allocator: it exports no malloc and its
    .symtab, which it has, names no main_arena.  Such an objfile (the program itself, most of
    the time) is passed over without asking gdb for its symbols or looking for a manifest."""
    symbol_table = _symbol_table(objfile)
    return bool(symbol_table) and b"main_arena" not in symbol_table and \
        elf_symbols.defines_symbol(objfile.filename, "malloc") is False
