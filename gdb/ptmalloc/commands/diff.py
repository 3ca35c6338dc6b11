"""`heap snapshot NAME` and `heap diff A [B]`: the leak hunter's pair (model/chunk_table.py,
model/snapshot_files.py, model/heap_diff.py)."""

import os

from ..errors import HeapError
from ..model import chunk_table, heap_diff, snapshot, snapshot_files
from ..render import output
from . import HeapCommand, command, settings, size_argument

# Groups shown per list in the text unless --limit says otherwise.
DEFAULT_GROUPS = 20


def saved_names():
    """The names of the snapshots in the snapshot folder, for completion."""
    try:
        files = os.listdir(settings.snapshot_directory())
    except OSError:
        return []
    return sorted(name[:-len(".json")] for name in files if name.endswith(".json"))


def snapshot_path(name):
    """Where the snapshot NAME lives: NAME itself when it has a `/` or ends in `.json`, else
    NAME.json in the snapshot folder (`set heap snapshot-directory`)."""
    if not name or name in (".", ".."):
        raise HeapError("a snapshot needs a name")
    if "/" in name or name.endswith(".json"):
        return os.path.abspath(os.path.expanduser(name))
    return os.path.join(settings.snapshot_directory(), name + ".json")


@command
class HeapSnapshot(HeapCommand):
    """Save every chunk of the heap (address, size, state, arena) as snapshot NAME.

The snapshot is a file, NAME.json in the folder `set heap snapshot-directory` names (default
heap-snapshots in gdb's working folder), or NAME itself when it has a `/` or ends in .json, so
that another gdb session, or a later core of the same program, can be compared with it by
`heap diff`.  Saving again under a name replaces the snapshot.

Usage: heap snapshot NAME [--json]"""

    name = "heap snapshot"

    def add_arguments(self, parser):
        parser.add_argument("snapshot_name", metavar="NAME")

    def group_positionals(self, words):
        return words

    def run(self, args):
        snap = snapshot.current()
        path = snapshot_path(args.snapshot_name)
        table = chunk_table.of_stop(snap)
        snapshot_files.save(table, path, args.snapshot_name, snapshot_files.describe(snap))
        if args.json:
            output.write_json({"name": args.snapshot_name, "path": path, "chunks": len(table),
                               "complete": table.complete, "problems": table.problems})
            return
        out = output.Writer()
        out.line("heap snapshot %s: %s saved in %s" % (
            args.snapshot_name, output.plural(len(table), "chunk"), path))
        for problem in table.problems:
            out.line(output.Painter().meta("incomplete: %s" % problem))
        out.flush()


@command
class HeapDiff(HeapCommand):
    """Show what was allocated, freed or resized between snapshots A and B.

A and B are names given to `heap snapshot` (or paths of snapshot files); without B, A is
compared with the heap as it is now.  Chunks are matched by header address: allocated (held by
the program in B, not in A), freed (held in A, not in B), resized (held in both, another size:
a realloc in place; one that moved shows as freed and allocated).  A chunk in a tcache or
fastbin counts as freed.  The text sums each list by allocation site when one is known, else
by size, most bytes first.

Usage: heap diff A [B] [--limit N] [--json]
  --limit N   at most N groups per list in the text (default 20), N entries per list in
              JSON (default all); 0: all"""

    name = "heap diff"

    def add_arguments(self, parser):
        parser.add_argument("before", metavar="A")
        parser.add_argument("after", metavar="B", nargs="?")
        parser.add_argument("--limit", type=size_argument)

    def group_positionals(self, words):
        return words

    def complete_words(self, words, word):
        return [name for name in saved_names() if name.startswith(word)]

    def run(self, args):
        before_path = snapshot_path(args.before)
        if args.after is None:
            # The heap is walked before A is read: the walk's buffers are let go by then, so
            # the two tables are all that is held at once.
            snapshot_files.require(before_path)
            after_name = "now"
            snap = snapshot.current()
            after = chunk_table.of_stop(snap)
            after.inferior = snapshot_files.describe(snap)
            before = snapshot_files.load(before_path)
        else:
            before = snapshot_files.load(before_path)
            after_name = args.after
            after = snapshot_files.load(snapshot_path(args.after))
        changes = heap_diff.diff(before, after)
        problems = ["%s: %s" % (name, problem) for name, table in
                    ((args.before, before), (after_name, after)) for problem in table.problems]
        warnings = _warnings(before, after, args.before, after_name)
        if args.json:
            _write_json(changes, problems, warnings, args.limit)
        else:
            _write_text(changes, problems, warnings, args.before, after_name,
                        DEFAULT_GROUPS if args.limit is None else args.limit or None)


def _warnings(before, after, before_name, after_name):
    """[one line] of why comparing these two may mislead: two different programs."""
    programs = (snapshot_files.program_of(before), snapshot_files.program_of(after))
    if None in programs or programs[0] == programs[1]:
        return []
    return ["%s is of the program %s and %s of %s: chunks are matched by address, which means "
            "nothing across two programs" % (before_name, programs[0], after_name, programs[1])]


def _entry_json(change):
    entry = {"address": change.address, "size": change.size, "site": change.site}
    if change.old_size is not None:
        entry["old_size"] = change.old_size
    return entry


def _write_json(changes, problems, warnings, limit):
    document = {"problems": problems, "warnings": warnings, "complete": not problems}
    left_out = {}
    for kind in heap_diff.HeapDiff._fields:
        entries = getattr(changes, kind)
        shown = entries if not limit else entries[:limit]
        document[kind] = [_entry_json(change) for change in shown]
        left_out[kind] = len(entries) - len(shown)
    if limit is not None:
        document["left_out"] = left_out
    output.write_json(document)


def _write_text(changes, problems, warnings, before_name, after_name, limit):
    paint = output.Painter()
    out = output.Writer()
    grown = sum(change.size - change.old_size for change in changes.resized)
    net = sum(c.size for c in changes.allocated) - sum(c.size for c in changes.freed) + grown
    out.line(paint.title("heap diff %s -> %s: %s, %s, %s; net %+d bytes" % (
        before_name, after_name, _count(changes.allocated, "allocated"),
        _count(changes.freed, "freed"), "%d resized (%+d bytes)" % (len(changes.resized), grown),
        net)))
    for kind in heap_diff.HeapDiff._fields:
        entries = getattr(changes, kind)
        if not entries:
            continue
        resized = kind == "resized"
        sited = heap_diff.by_site(entries)
        out.line("%s, by %s:" % (kind, "site" if sited else "size"))
        out.line(paint.meta("  %8s %14s  %s" % ("count", "bytes" if not resized else "bytes +/-",
                                                 "site" if sited else "size")))
        found = heap_diff.groups(entries, resized)
        for group in found[:limit]:
            out.line("  %8d %14s  %s" % (group.count, ("%+d" if resized else "%d") % group.bytes,
                                         _key_text(group.key, sited)))
        if limit is not None and len(found) > limit:
            out.line(paint.meta("  ... %s not shown (--limit %d)" % (
                output.plural(len(found) - limit, "more group"), limit)))
    for problem in problems:
        out.line(paint.meta("incomplete: %s" % problem))
    for warning in warnings:
        out.line(paint.meta("warning: %s" % warning))
    out.flush()


def _count(entries, verb):
    return "%d %s (%d bytes)" % (len(entries), verb, sum(change.size for change in entries))


def _key_text(key, sited):
    if sited:
        return key if key is not None else "(site unknown)"
    if isinstance(key, tuple):
        return "%#x -> %#x" % key
    return "%#x" % key
