"""Why no supported allocator was found, in one precise line per cause, with only the advice
that can help with that cause.

The causes, in the order they are told apart:
- a core opened without the libraries the program ran (core_checks): nothing else can be said
  until they are loaded;
- another allocator serves malloc (jemalloc, tcmalloc, mimalloc): named, and no advice, since
  debug info or a manifest for glibc would not describe it;
- the C library is not loaded yet (a dynamic program stopped before its libraries, at `starti`);
- glibc linked statically into a program without debug info: libc6-dbg describes only the
  shared libc.so.6, so it is not offered;
- glibc's libc.so.6 without debug info: libc6-dbg (for that very build-id) or a manifest;
- the clone (or another ptmalloc) without DWARF or manifest: the manifest advice."""

import os

import gdb

from . import core_checks, elf_symbols, manifest

# Allocators that replace malloc, told by the symbols only they define, or their file names.
_OTHER_ALLOCATORS = (
    ("jemalloc", ("mallctl", "je_mallctl", "je_malloc"), "libjemalloc"),
    ("tcmalloc", ("tc_malloc", "tc_version"), "libtcmalloc"),
    ("mimalloc", ("mi_malloc", "mi_version"), "libmimalloc"),
)
_PREFIX = "no supported allocator found: "


def _primary_objfiles():
    return [objfile for objfile in gdb.objfiles()
            if getattr(objfile, "owner", None) is None and objfile.is_valid() and objfile.filename]


def _base(path):
    return os.path.basename(path or "")


def _defines(objfile, name):
    if elf_symbols.defines_symbol(objfile.filename, name):
        return True
    table = elf_symbols.symbol_table(objfile.filename, getattr(objfile, "build_id", None))
    return name.encode() in table


def _other_allocator(objfile):
    """The name of the non-ptmalloc allocator in `objfile`, or None."""
    for name, symbols, file_prefix in _OTHER_ALLOCATORS:
        if _base(objfile.filename).startswith(file_prefix) or \
                any(_defines(objfile, symbol) for symbol in symbols):
            return name
    return None


def _is_glibc(objfile):
    base = _base(objfile.filename)
    return base.startswith("libc.so") or base.startswith("libc-")


def _is_dynamic_linker(objfile):
    """ld.so under any of its names (ld-linux-x86-64.so.2, 2.31's ld-2.31.so): the one file
    that defines _rtld_global."""
    return _base(objfile.filename).startswith("ld-linux") or \
        _base(objfile.filename) == "ld.so" or elf_symbols.is_dynamic_linker(objfile.filename)


def _statically_linked_glibc(objfile):
    """Whether glibc's malloc is linked into `objfile` itself (a static link)."""
    return not _is_glibc(objfile) and _defines(objfile, "__libc_malloc")


def explain(serving=None):
    """The message for "no supported allocator": `serving` is the objfile that serves malloc
    when one was found without a way to describe it."""
    missing, why = core_checks.missing_libraries()
    objfiles = _primary_objfiles()
    for objfile in ([serving] if serving is not None else []) + objfiles:
        other = _other_allocator(objfile)
        if other is not None and (serving is None or objfile is serving):
            return (_PREFIX + "malloc is served by %s (%s), not by ptmalloc: the heap commands "
                    "read only glibc's allocator and the ptmalloc clone" % (other,
                                                                            objfile.filename))
    wrong_files = core_checks.mismatches() if missing else []
    if wrong_files:
        # A wrong executable misplaces the dynamic linker's data: that is why libraries are
        # missing, and the one thing to fix.
        return (_PREFIX + "%s; with it gdb could not load the libraries the program ran (%s)"
                % (wrong_files[0], ", ".join(missing[:3])))
    if missing:
        named = [path for path in missing if _base(path).startswith(
            tuple(prefix for _n, _s, prefix in _OTHER_ALLOCATORS))]
        if named:
            return (_PREFIX + "the program ran %s, which is not ptmalloc (and gdb has not "
                    "loaded it)" % named[0])
        return (_PREFIX + "gdb has not loaded %s, which the program ran: %s" % (
            ", ".join(missing[:4]) + (" and %d more" % (len(missing) - 4)
                                      if len(missing) > 4 else ""), why))
    if serving is None:
        return _without_server(objfiles)
    if _statically_linked_glibc(serving):
        return (_PREFIX + "%s is linked statically with glibc and has no debug info for its "
                "malloc: libc6-dbg describes only the shared libc.so.6, so this heap can be "
                "read only from a build of the program with glibc's debug info" % serving.filename)
    if _is_glibc(serving):
        return (_PREFIX + "malloc is glibc's %s, and gdb has no debug info for it: install the "
                "libc6-dbg that matches it (build-id %s), or give a layout manifest with that "
                "build-id (see `set heap layout-path`)" % (
                    serving.filename, getattr(serving, "build_id", None) or "unknown"))
    mismatch = core_checks.mismatch_of(serving)
    if mismatch is not None:
        return _PREFIX + mismatch
    return _undescribed(serving)


def _undescribed(objfile):
    """An allocator with neither DWARF for the heap types nor a manifest for its build-id."""
    build_id = getattr(objfile, "build_id", None) or "none"
    return (_PREFIX + "malloc is served by %s, which has no debug info for the heap types and no "
            "layout manifest with build-id %s in %s (see `set heap layout-path`)" % (
                objfile.filename, build_id, ":".join(manifest.layout_dirs())))


def _without_server(objfiles):
    """No objfile defines malloc with ptmalloc's data: why, from what is loaded."""
    if objfiles and not any(_is_glibc(objfile) for objfile in objfiles) and \
            any(_is_dynamic_linker(objfile) for objfile in objfiles):
        return (_PREFIX + "the C library is not loaded yet: the program stopped before the "
                "dynamic linker loaded its libraries (as at `starti`); run it to `main` first "
                "(`tbreak main`, `continue`)")
    executable = objfiles[0] if objfiles else None
    if executable is not None and _statically_linked_glibc(executable):
        return explain(executable)
    if not objfiles:
        return _PREFIX + "gdb has no symbols for the program (no executable or core is loaded)"
    return (_PREFIX + "no loaded file defines malloc with ptmalloc's data (main_arena): need "
            "libptmalloc (with debug info or a layout manifest) or glibc 2.31, 2.36 or 2.41 "
            "with libc6-dbg")
