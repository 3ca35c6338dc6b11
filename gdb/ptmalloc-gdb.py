"""Loader of the ptmalloc heap inspector: `source gdb/ptmalloc-gdb.py` (the one line for a
checkout, e.g. in ~/.gdbinit), the gdbinit.d file `make install` puts in gdb's system gdbinit
folder, or auto-loaded through the .debug_gdb_scripts entry of libptmalloc.  Puts the package
beside this file on sys.path and registers the `heap` commands once per gdb session.

It also puts its own folder on gdb's auto-load safe path and source path, so the library's
.debug_gdb_scripts entry (`ptmalloc-gdb.py`) names a file gdb finds and trusts: a program on the
clone then loads without `Missing auto-load script` or `auto-loading has been declined`
warnings (the entry finds this loader again, which does nothing the second time)."""

import os
import sys

import gdb


def _package_folder():
    here = os.path.dirname(os.path.realpath(__file__)) if "__file__" in globals() else None
    if here and os.path.isdir(os.path.join(here, "ptmalloc")):
        return here
    # gdb runs auto-loaded scripts with __file__ set; this covers `python exec(open(...).read())`.
    for folder in sys.path:
        if os.path.isdir(os.path.join(folder, "ptmalloc", "commands")):
            return folder
    return None


def _load():
    folder = _package_folder()
    if folder is None:
        gdb.write("heap: cannot find the ptmalloc package next to ptmalloc-gdb.py\n")
        return
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        from ptmalloc import commands
        commands.register_all()
    except Exception as error:  # noqa: BLE001 - loading must never show a traceback
        gdb.write("heap: cannot load the heap commands: %s: %s\n" % (type(error).__name__, error))
    _trust_own_folder(folder)


def _trust_own_folder(folder):
    """The library's .debug_gdb_scripts entry names `ptmalloc-gdb.py`: gdb looks for it along the
    source path and loads it only from a safe path.  gdb splits both lists at ':' and the source
    path at blanks too, so a folder with those is left out (gdb then warns as before)."""
    if any(c in folder for c in ": \t"):
        return
    for command in ("add-auto-load-safe-path ", "directory "):
        try:
            gdb.execute(command + folder, to_string=True)
        except gdb.error:
            pass


if not getattr(gdb, "_ptmalloc_heap_loaded", False):
    gdb._ptmalloc_heap_loaded = True
    _load()
