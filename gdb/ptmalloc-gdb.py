"""Loader of the ptmalloc heap inspector: `source gdb/ptmalloc-gdb.py`, or auto-loaded through
the .debug_gdb_scripts entry of libptmalloc.  Puts the package beside this file on sys.path and
registers the `heap` commands once per gdb session."""

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


if not getattr(gdb, "_ptmalloc_heap_loaded", False):
    gdb._ptmalloc_heap_loaded = True
    _load()
