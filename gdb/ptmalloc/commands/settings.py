"""The inspector's settings, all in one place: `set heap …` / `show heap …`.

A setting's value is handed to the layer that uses it (target.manifest for the layout path), so
lower layers never reach up for a gdb parameter.  Created by commands.register_all, not when a
module is imported."""

import os

import gdb

from ..target import manifest


class LayoutPathParameter(gdb.Parameter):
    """Folders searched for layout manifests (ptm-layout JSON) and ptmalloc-types.o.

    A colon-separated list.  Empty means the defaults: the build folder of the source tree and
    the layout folder of the installed tree.  A manifest is used only when its build-id matches
    the allocator's objfile and that objfile has no DWARF for the heap types."""

    set_doc = "Set the folders searched for heap layout manifests."
    show_doc = "Show the folders searched for heap layout manifests."

    def __init__(self):
        super().__init__("heap layout-path", gdb.COMMAND_DATA, gdb.PARAM_STRING)
        self.value = ""

    def get_set_string(self):
        manifest.set_layout_path(self.value)
        return ""

    def get_show_string(self, svalue):
        shown = ":".join(manifest.layout_dirs())
        return "Heap layout manifests are searched in: %s%s" % (
            shown, "" if svalue else " (default)")


def _ensure_prefix(command):
    """Create `set heap`/`show heap` once per gdb session.

    The marker lives on the gdb module because the package may be loaded more than once (the
    loader, auto-load).  No gdb.execute here: this can run while gdb is loading a library in the
    middle of `run`, where executing commands disturbs the inferior's start."""
    marker = "_ptmalloc_prefix_" + command.replace(" ", "_")
    if getattr(gdb, marker, False):
        return

    class _Prefix(gdb.Command):
        def __init__(self):
            super().__init__(command, gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

        def invoke(self, argument, from_tty):
            gdb.execute("help " + command, from_tty)

    _Prefix.__doc__ = "Settings of the heap inspector."
    _Prefix()
    setattr(gdb, marker, True)


def register():
    """Create every `set heap` setting once per gdb session."""
    _ensure_prefix("set heap")
    _ensure_prefix("show heap")
    if getattr(gdb, "_ptmalloc_settings", False):
        return
    try:
        LayoutPathParameter()
        SnapshotDirectoryParameter()
    except RuntimeError:
        return
    gdb._ptmalloc_settings = True


class SnapshotDirectoryParameter(gdb.Parameter):
    """The folder `heap snapshot NAME` saves NAME.json in, and `heap diff` reads names from.

    Empty means `heap-snapshots` in gdb's current working folder.  A NAME with a `/` or
    ending in `.json` is a path of its own and ignores this folder."""

    set_doc = "Set the folder heap snapshots are saved in."
    show_doc = "Show the folder heap snapshots are saved in."

    def __init__(self):
        super().__init__("heap snapshot-directory", gdb.COMMAND_DATA, gdb.PARAM_STRING)
        self.value = ""

    def get_set_string(self):
        return ""

    def get_show_string(self, svalue):
        return "Heap snapshots are saved in: %s%s" % (
            snapshot_directory(), "" if svalue else " (default)")


DEFAULT_SNAPSHOT_DIRECTORY = "heap-snapshots"


def snapshot_directory():
    """The folder snapshots are saved in (`set heap snapshot-directory`), absolute."""
    try:
        chosen = gdb.parameter("heap snapshot-directory") or ""
    except (gdb.error, RuntimeError):
        chosen = ""
    return os.path.abspath(os.path.expanduser(chosen or DEFAULT_SNAPSHOT_DIRECTORY))
