"""Which allocator serves `malloc` in the inferior, and how its data is laid out.

Several objfiles may define `main_arena` (the clone, preloaded or linked, and glibc's libc.so.6
with libc6-dbg).  The dynamic linker binds `malloc` to the first definition in link-map order,
which is the order gdb lists objfiles in: the executable (a static link of libptmalloc.a), then
preloaded libraries, then the needed ones.  So the allocator is the first primary objfile in
`gdb.objfiles()` that defines `main_arena`.  Its symbols and types are looked up in that objfile
only; when it has no DWARF, `manifest.resolve(objfile)` is the one hook that can still describe it.

Nothing here hard-codes an offset: every struct layout is read from a gdb.Type."""

import struct

import gdb

from . import elf_exports, memory
from .errors import HeapError

_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}


class Field:
    """One struct member: byte offset, element size, element count (1 unless an array)."""

    __slots__ = ("name", "offset", "size", "count", "code")

    def __init__(self, name, offset, size, count, signed):
        self.name = name
        self.offset = offset
        self.size = size
        self.count = count
        code = _FORMATS.get(size, None)
        self.code = code.lower() if (code and signed) else code


class StructLayout:
    """Offsets of a struct's fields, with `unpack` turning raw bytes into a dict of values."""

    def __init__(self, name, size, fields):
        self.name = name
        self.size = size
        self.fields = {field.name: field for field in fields}

    def offset(self, field_name):
        try:
            return self.fields[field_name].offset
        except KeyError:
            raise HeapError("the allocator's %s has no field %s" % (self.name, field_name)) from None

    def has(self, field_name):
        return field_name in self.fields

    def unpack(self, data, base=0):
        """{field: int or tuple of ints}, for fields of 1, 2, 4 or 8 bytes (others are skipped)."""
        values = {}
        for field in self.fields.values():
            if field.code is None:
                continue
            if field.count == 1:
                values[field.name] = struct.unpack_from("<" + field.code, data, base + field.offset)[0]
            else:
                values[field.name] = struct.unpack_from("<%d%s" % (field.count, field.code), data,
                                                        base + field.offset)
        return values

    @classmethod
    def from_gdb_type(cls, gdb_type):
        resolved = gdb_type.strip_typedefs()
        fields = []
        for field in resolved.fields():
            if field.name is None or not hasattr(field, "bitpos"):
                continue
            field_type = field.type.strip_typedefs()
            count = 1
            if field_type.code == gdb.TYPE_CODE_ARRAY:
                low, high = field_type.range()
                count = high - low + 1
                field_type = field_type.target().strip_typedefs()
            signed = field_type.code == gdb.TYPE_CODE_INT and getattr(field_type, "is_signed", False)
            fields.append(Field(field.name, field.bitpos // 8, field_type.sizeof, count, signed))
        return cls(str(gdb_type), resolved.sizeof, fields)

    @classmethod
    def from_manifest(cls, name, size, described):
        fields = []
        for field_name, field in described.items():
            count = field.get("count", 1) or 1
            element = field["size"] // count if count > 1 else field["size"]
            fields.append(Field(field_name, field["offset"], element, count,
                                element == 4 and field_name in _SIGNED_INT_FIELDS))
        return cls(name, size, fields)


_SIGNED_INT_FIELDS = {"mutex", "flags", "have_fastchunks", "hp_flags", "n_mmaps", "n_mmaps_max",
                      "max_n_mmaps", "no_dyn_threshold"}

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
_TLS = ("tcache", "thread_arena")


class Allocator:
    """The allocator found in the inferior.

    Attributes: `objfile`, `name` (its file name), `flavour` ("clone" or "glibc"), `layouts`
    ({"chunk", "state", "heap_info", "par", "tcache", "tcache_entry"} -> StructLayout),
    `addresses` ({"main_arena", "mp_", ...} -> int; optional globals may be missing), and
    `source` ("DWARF" or the manifest path)."""

    def __init__(self, objfile, layouts, addresses, tls_reader, source):
        self.objfile = objfile
        self.name = objfile.filename or "?"
        base = self.name.rsplit("/", 1)[-1]
        self.flavour = "glibc" if base.startswith("libc.so") or base.startswith("libc-") else "clone"
        self.layouts = layouts
        self.addresses = addresses
        self._tls_reader = tls_reader
        self.source = source

    def describe(self):
        what = "glibc 2.36" if self.flavour == "glibc" else "ptmalloc clone"
        return "%s in %s" % (what, self.name)

    def thread_values(self):
        """[(gdb.InferiorThread, {"tcache": int or None, "thread_arena": int or None}, error)]
        for every thread; `error` is a one-line reason when TLS could not be read."""
        return _for_each_thread(self._tls_reader)


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


def _dwarf_allocator(objfile, arena_symbol):
    block = arena_symbol.symtab.static_block() if arena_symbol.symtab else None
    tls_symbols = {name: _dwarf_symbol(objfile, name) for name in _TLS}
    gdb_types = {}
    if tls_symbols["tcache"] is not None:
        # The TLS pointer names its struct for free; a type missing from main_arena's unit
        # would otherwise be looked for in every unit of every objfile.
        gdb_types["tcache"] = tls_symbols["tcache"].type.target()
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
    addresses = {}
    for name in _GLOBALS:
        symbol = arena_symbol if name == "main_arena" else _dwarf_symbol(objfile, name)
        if symbol is None:
            continue
        try:
            addresses[name] = int(symbol.value().address)
        except (gdb.error, TypeError):
            continue
    for name in _REQUIRED_GLOBALS:
        if name not in addresses:
            raise HeapError("%s has no symbol %s" % (objfile.filename, name))

    def read_tls(name, thread):
        symbol = tls_symbols.get(name)
        if symbol is None:
            raise HeapError("no TLS symbol %s" % name)
        return int(symbol.value())

    return Allocator(objfile, layouts, addresses, read_tls, "DWARF")


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
    reader = memory.current()

    def read_tls(name, thread):
        return reader.u64(layout.tls_address(name, thread))

    return Allocator(objfile, layouts, addresses, read_tls, layout.path)


def require_inferior():
    inferior = gdb.selected_inferior()
    if inferior is None or inferior.pid == 0:
        raise HeapError("the program is not running (run it, attach to it, or load a core file)")
    return inferior


_cached = (None, None)


def find_allocator():
    """The Allocator serving malloc, cached until the inferior changes; HeapError if none."""
    global _cached
    require_inferior()
    generation = memory.generation()
    if _cached[0] == generation and _cached[1] is not None:
        return _cached[1]
    found = None
    for objfile in _primary_objfiles():
        arena_symbol = _dwarf_symbol(objfile, "main_arena")
        if arena_symbol is not None:
            found = _dwarf_allocator(objfile, arena_symbol)
            break
        found = _manifest_allocator(objfile)
        if found is not None:
            break
        if objfile.filename and elf_exports.defines_symbol(objfile.filename, "malloc"):
            # This objfile wins the dynamic linker's binding of malloc: any later allocator
            # (glibc's main_arena, say) is not the one the program uses.
            raise HeapError(_undescribed_allocator(objfile))
    if found is None:
        raise HeapError("no supported allocator found: need libptmalloc (with debug info or a "
                        "layout manifest) or glibc 2.36 with libc6-dbg")
    _cached = (generation, found)
    return found


def _undescribed_allocator(objfile):
    try:
        from . import manifest
        folders = ":".join(manifest.layout_dirs())
    except ImportError:
        folders = "?"
    build_id = getattr(objfile, "build_id", None) or "none"
    return ("no supported allocator found: malloc is served by %s, which has no debug info for "
            "the heap types and no layout manifest with build-id %s in %s (see `set heap "
            "layout-path`)" % (objfile.filename, build_id, folders))


def _for_each_thread(read_tls):
    inferior = gdb.selected_inferior()
    try:
        original_thread = gdb.selected_thread()
    except gdb.error:
        original_thread = None
    original_frame = None
    try:
        original_frame = gdb.selected_frame()
    except gdb.error:
        pass
    results = []
    try:
        threads = sorted(inferior.threads(), key=lambda t: t.num)
        for thread in threads:
            values = {}
            error = None
            try:
                thread.switch()
                for name in _TLS:
                    values[name] = read_tls(name, thread)
            except (gdb.error, gdb.GdbError, RuntimeError) as failure:
                error = "TLS of thread %d cannot be read: %s" % (thread.num, " ".join(
                    str(failure).split()))
                for name in _TLS:
                    values.setdefault(name, None)
            results.append((thread, values, error))
    finally:
        if original_thread is not None and original_thread.is_valid():
            original_thread.switch()
            if original_frame is not None:
                try:
                    if original_frame.is_valid():
                        original_frame.select()
                except gdb.error:
                    pass
    return results
