"""Layout manifests: inspecting an allocator whose objfile carries no DWARF.

A stripped libptmalloc.so, or glibc 2.36 without libc6-dbg, still has the same heap layout as the
builds we know.  `ptm-layout` (dwarf/ptm-layout.c) writes, at build time, a JSON manifest per
library: its build-id, the offset and size of every field of the heap structs, the link-time
offsets of `main_arena`, `mp_`, `global_max_fast`, the offsets of the TLS variables `tcache` and
`thread_arena` inside the module's TLS block, and how to find that block at run time.  This module
finds the manifest whose build-id matches an objfile, gives gdb the heap types by loading
`ptmalloc-types.o` (the DWARF unit, built alone) with add-symbol-file, and turns link-time offsets
into addresses of the running process or core.

Entry point for the extension (the `target` module):

    layout = manifest.resolve(objfile)      # None when no manifest matches the build-id
    layout.symbol_address("main_arena")     # int, relocated by the module's load address
    layout.tls_offset("tcache")             # int, offset inside the module's TLS block
    layout.tls_address("tcache", thread)    # int, address of that thread's variable
    layout.lookup_type("struct malloc_state")   # gdb.Type, also "heap_info", "tcache_entry", ...
    layout.fields("struct malloc_state")    # {"mutex": {"offset", "size", "count"}, ...}

`needs_manifest(objfile)` says whether the objfile lacks the debug info the extension reads.
Every failure is a ManifestError (a gdb.GdbError, so an uncaught one prints one line).

`set heap layout-path DIR[:DIR...]` chooses where manifests are looked for; empty (the default)
means the build folder of a source tree and the `layout` folder of an installed tree, both found
relative to this file.
"""

import json
import os
import re
import struct

import gdb

from .. import paths
from ..memory import cache

TYPES_OBJECT_NAME = "ptmalloc-types.o"
TYPE_ANCHOR_NAME = "ptmalloc_dwarf_type_anchor"
# Loading the types object at 0 would make gdb name address 0 after the anchor; a non-canonical
# x86-64 address can never collide with the inferior's cache.
TYPES_OBJECT_OFFSET = 0xFFFF800000000000


class ManifestError(gdb.GdbError):
    """A manifest or the types object is missing, unreadable or inconsistent."""


def default_layout_dirs():
    return [os.path.join(paths.TREE_ROOT, "build"), os.path.join(paths.TREE_ROOT, "layout")]


# The folders `set heap layout-path` named (commands/settings.py), colon-separated; empty means
# default_layout_dirs().
_configured_path = ""


def set_layout_path(value):
    """Search `value` (colon-separated folders; empty: the defaults) from now on."""
    global _configured_path
    _configured_path = value or ""
    _MANIFEST_CACHE.clear()
    # The allocator found under the old path is cached per stop: look again.
    cache.invalidate()


def layout_dirs():
    if _configured_path:
        return [os.path.expanduser(d) for d in _configured_path.split(":") if d]
    return default_layout_dirs()


# path -> (mtime, manifest dict or None); a folder of manifests is re-read only when files change.
_MANIFEST_CACHE = {}


def _read_manifest(path):
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    cached = _MANIFEST_CACHE.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("build_id"), str):
            manifest = None
    except (OSError, ValueError):
        manifest = None
    _MANIFEST_CACHE[path] = (mtime, manifest)
    return manifest


def find_manifest(build_id):
    """(path, manifest) of the first manifest in the layout path with this build-id, or None."""
    if not build_id:
        return None
    wanted = build_id.lower()
    for folder in layout_dirs():
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if not name.endswith(".json"):
                continue
            path = os.path.join(folder, name)
            manifest = _read_manifest(path)
            if manifest is not None and manifest["build_id"].lower() == wanted:
                return path, manifest
    return None


def needs_manifest(objfile):
    """True when the objfile has no DWARF symbol for main_arena (stripped, or no libc6-dbg)."""
    try:
        if objfile.lookup_static_symbol("main_arena") is not None:
            return False
        return objfile.lookup_global_symbol("main_arena") is None
    except (gdb.error, RuntimeError):
        return True


def resolve(objfile):
    """The Layout of this objfile from its manifest, or None when no manifest matches."""
    found = find_manifest(getattr(objfile, "build_id", None))
    if found is None:
        return None
    path, manifest = found
    layout = Layout(objfile, path, manifest)
    # gdb itself should know the heap types too (`ptype`, `p *(struct malloc_state *)...`);
    # a missing types object is reported only when a type is actually asked for.
    try:
        layout.lookup_type("struct malloc_state")
    except ManifestError:
        pass
    return layout


def _find_types_object(manifest_path):
    folders = [os.path.dirname(manifest_path)] + layout_dirs()
    for folder in folders:
        candidate = os.path.join(folder, TYPES_OBJECT_NAME)
        if os.path.isfile(candidate):
            return candidate
    raise ManifestError("heap: %s not found next to %s or in the layout path (set heap layout-path)"
                        % (TYPES_OBJECT_NAME, manifest_path))


def _loaded_types_objfile(path):
    real = os.path.realpath(path)
    for objfile in gdb.objfiles():
        if objfile.filename and os.path.realpath(objfile.filename) == real:
            return objfile
    return None


def load_types_object(path):
    """The gdb.Objfile of ptmalloc-types.o, added once per program space."""
    objfile = _loaded_types_objfile(path)
    if objfile is None:
        quoted = path.replace("\\", "\\\\").replace('"', '\\"')
        # add-symbol-file asks for confirmation in an interactive session.
        confirm = gdb.parameter("confirm")
        try:
            gdb.execute("set confirm off", to_string=True)
            gdb.execute('add-symbol-file "%s" -readnow -o %#x' % (quoted, TYPES_OBJECT_OFFSET),
                        to_string=True)
        except gdb.error as error:
            raise ManifestError("heap: cannot load types from %s: %s" % (path, error)) from None
        finally:
            gdb.execute("set confirm %s" % ("on" if confirm else "off"), to_string=True)
        objfile = _loaded_types_objfile(path)
        if objfile is None:
            raise ManifestError("heap: gdb did not load types from %s" % path)
    return objfile


def _types_from_anchor(objfile, path):
    """Type name (as C spells it) -> gdb.Type, read off the anchor variable's members."""
    symbol = objfile.lookup_static_symbol(TYPE_ANCHOR_NAME)
    if symbol is None:
        raise ManifestError("heap: %s has no %s (not a ptmalloc types object)"
                            % (path, TYPE_ANCHOR_NAME))
    types = {}
    for field in symbol.type.strip_typedefs().fields():
        field_type = field.type
        name = str(field_type)
        types[name] = field_type
    return types


class Layout:
    """One allocator objfile described by its manifest."""

    def __init__(self, objfile, path, manifest):
        self.objfile = objfile
        self.path = path
        self.manifest = manifest
        self.build_id = manifest["build_id"]
        self._types = None
        self._load_base = None

    def _section(self, name, key):
        try:
            return self.manifest[name][key]
        except (KeyError, TypeError):
            raise ManifestError("heap: manifest %s has no %s %r (regenerate it with ptm-layout)"
                                % (self.path, name, key)) from None

    # -- addresses ---------------------------------------------------------------------------

    def load_base(self):
        """How far the module was moved from its link-time addresses."""
        if self._load_base is None:
            self._load_base = _text_runtime_address(self.objfile) - \
                self._section("sections", ".text")["address"]
        return self._load_base

    def symbol_address(self, name):
        return self.load_base() + self._section("symbols", name)

    def tls_offset(self, name):
        return self._section("tls", name)

    def tls_block_tpoff(self):
        """Offset of the module's TLS block from the thread pointer (negative on x86-64).

        The dynamic linker writes it into a GOT slot for every initial-exec access; the manifest
        names one such slot and the block offset its relocation targets."""
        access = self.manifest.get("tls_access")
        if access and "got_slot" in access:
            address = self.load_base() + access["got_slot"]
            try:
                raw = gdb.selected_inferior().read_memory(address, 8)
            except gdb.MemoryError:
                raise ManifestError("heap: cannot read 0x%x (TLS offset slot)" % address) from None
            slot_value = struct.unpack("<q", bytes(raw))[0]
            return slot_value - access["offset_in_block"]
        segment = self.manifest.get("tls_segment")
        if segment and self.manifest.get("kind") == "executable":
            # The executable's block comes first, directly below the thread pointer.
            align = max(segment["align"], 1)
            return -((segment["size"] + align - 1) // align * align)
        raise ManifestError("heap: manifest %s does not say where the TLS block is" % self.path)

    def tls_address(self, name, thread=None):
        """Address of TLS variable `name` in `thread` (default: the selected thread)."""
        previous = gdb.selected_thread()
        try:
            if thread is not None and thread != previous:
                thread.switch()
            try:
                thread_pointer = int(gdb.parse_and_eval("$fs_base"))
            except gdb.error as error:
                raise ManifestError("heap: cannot read the thread pointer: %s" % error) from None
        finally:
            if thread is not None and previous is not None and thread != previous \
                    and previous.is_valid():
                previous.switch()
        return thread_pointer + self.tls_block_tpoff() + self.tls_offset(name)

    # -- types -------------------------------------------------------------------------------

    def fields(self, type_name):
        return self._section("types", type_name)["fields"]

    def type_size(self, type_name):
        return self._section("types", type_name)["size"]

    def lookup_type(self, type_name):
        """gdb.Type named as in C ("struct malloc_state", "heap_info", "tcache_entry", ...)."""
        if self._types is None:
            types_path = _find_types_object(self.path)
            types = _types_from_anchor(load_types_object(types_path), types_path)
            self._check_types(types, types_path)
            self._types = types
        try:
            return self._types[type_name]
        except KeyError:
            raise ManifestError("heap: %s defines no type %r" % (TYPES_OBJECT_NAME, type_name)) \
                from None

    def _check_types(self, types, types_path):
        """The types object must describe the same layout as the manifest, field by field."""
        for type_name, described in self.manifest.get("types", {}).items():
            gdb_type = types.get(type_name)
            if gdb_type is None:
                continue
            if gdb_type.sizeof != described["size"]:
                raise ManifestError("heap: %s: %s is %d bytes, the manifest says %d"
                                    % (types_path, type_name, gdb_type.sizeof, described["size"]))
            by_name = {f.name: f for f in gdb_type.strip_typedefs().fields()}
            for field_name, field in described["fields"].items():
                ours = by_name.get(field_name)
                if ours is None or ours.bitpos // 8 != field["offset"]:
                    raise ManifestError("heap: %s: %s.%s does not match the manifest"
                                        % (types_path, type_name, field_name))


_SECTION_LINE = re.compile(r"^\s*(0x[0-9a-fA-F]+) - (0x[0-9a-fA-F]+) is (\S+)(?: in (.*))?$")


def _text_runtime_address(objfile):
    """Run-time address of the objfile's .text, from `info files` (live process and core)."""
    try:
        listing = gdb.execute("info files", to_string=True)
    except gdb.error as error:
        raise ManifestError("heap: cannot list the sections: %s" % error) from None
    wanted = os.path.realpath(objfile.filename) if objfile.filename else None
    main_program = gdb.current_progspace().filename
    is_main = main_program is not None and wanted == os.path.realpath(main_program)
    for line in listing.splitlines():
        match = _SECTION_LINE.match(line)
        if match is None or match.group(3) != ".text":
            continue
        owner = match.group(4)
        if owner is None:
            if is_main:
                return int(match.group(1), 16)
        elif os.path.realpath(owner.strip()) == wanted:
            return int(match.group(1), 16)
    raise ManifestError("heap: %s is not loaded (no .text in `info files`)" % objfile.filename)
