"""Whether gdb opened a core with the files the program ran: the same executable, and every
library the core names.

The core's NT_FILE note names the file behind every mapping, and the core keeps the first page
of each ELF mapping (coredump_filter bit 4, on by default; gcore dumps it too), which holds its
build-id note.  Comparing those with what gdb loaded tells a wrong executable, a library rebuilt
since the crash, and a library gdb did not load at all (not on this machine, or a core cut short
before the dynamic linker's list of libraries).  Without these a heap is read through the wrong
symbols, or not found, and the advice given for it is beside the point."""

import os

import gdb

from ..memory import cache


def _regions():
    if not cache.inferior_is_core():
        return None
    return cache.current().core_regions()


def _real(path):
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


def _loaded():
    """{real path: objfile} of the primary objfiles gdb loaded."""
    loaded = {}
    for objfile in gdb.objfiles():
        if getattr(objfile, "owner", None) is None and objfile.is_valid() and objfile.filename:
            loaded[_real(objfile.filename)] = objfile
    return loaded


def missing_libraries():
    """([core path], why) of the files the program ran code from that gdb did not load; ([],
    None) when none is missing or this is not a core."""
    regions = _regions()
    if regions is None:
        return [], None
    loaded = _loaded()
    executable = regions.executable()
    missing = [path for path in regions.code_files()
               if _real(path) not in loaded and (executable is None or path != executable[0])]
    if not missing:
        return [], None
    absent = [path for path in missing if not os.path.exists(path)]
    linker_data = _linker_data_missing(regions)
    if linker_data is not None:
        why = ("the core lacks the dynamic linker's data, where the list of loaded libraries "
               "is, so gdb could not load them (%s)" % linker_data)
    elif absent:
        why = ("not on this machine: %s (copy them here and point `set sysroot` or `set "
               "solib-search-path` at them)" % ", ".join(absent[:3]))
    else:
        why = "gdb did not load them (see `info sharedlibrary`)"
    return missing, why


def _linker_data_missing(regions):
    """Why the core lacks the dynamic linker's writable data (its r_debug, the list of loaded
    libraries gdb reads), or None when it holds it or there is no dynamic linker."""
    for start, end, _offset, path in regions.files:
        if not os.path.basename(path).startswith("ld-"):
            continue
        segment = regions.segment_of(start)
        if segment is not None and segment.writable and segment.held_end < segment.end:
            return regions.why_not_held(segment)
    return None


def mismatches():
    """[one line per file] whose build-id in the core differs from the file gdb loaded."""
    regions = _regions()
    if regions is None:
        return []
    loaded = _loaded()
    lines = []
    executable = regions.executable()
    for path, start in regions.code_files().items():
        objfile = loaded.get(_real(path))
        if objfile is None and executable is not None and path == executable[0]:
            objfile = _executable_objfile()
        if objfile is None:
            continue
        loaded_id = getattr(objfile, "build_id", None)
        core_id = regions.build_id_at(start)
        if loaded_id and core_id and loaded_id != core_id:
            lines.append("%s is not the file the program ran: the core's %s had build-id %s, "
                         "gdb loaded %s with build-id %s" % (
                             objfile.filename, path, core_id, objfile.filename, loaded_id))
    return lines


def _executable_objfile():
    try:
        name = gdb.current_progspace().filename
    except (gdb.error, AttributeError):
        return None
    for objfile in gdb.objfiles():
        if objfile.is_valid() and objfile.filename == name:
            return objfile
    return None


def mismatch_of(objfile):
    """The mismatch line of `objfile`, or None when it is the file the core ran."""
    name = _real(objfile.filename or "")
    for line in mismatches():
        if line.startswith(objfile.filename + " ") or line.startswith(name + " "):
            return line
    return None


_warned = set()


def warn_once():
    """Print, once per core, what gdb opened that is not what the program ran."""
    regions = _regions()
    if regions is None or regions.path in _warned:
        return
    _warned.add(regions.path)
    lines = mismatches()
    missing, why = missing_libraries()
    if missing:
        lines.append("gdb has not loaded %s, which the program ran: %s" % (
            ", ".join(missing[:4]) + (" and %d more" % (len(missing) - 4)
                                      if len(missing) > 4 else ""), why))
    for line in lines:
        gdb.write("heap: warning: %s\n" % line, gdb.STDERR)
