"""`heap map FILE.svg|FILE.html`: a picture of every heap segment, one box per chunk."""

import os

from ..errors import HeapError
from ..model import snapshot
from ..render import map_columns, map_html, map_svg, output
from . import HeapCommand, arguments, command
from .chunks import doubt_listing

_WRITERS = {".svg": map_svg.write_svg, ".html": map_html.write_html}


def _writer(path):
    """The writer of the format `path`'s extension names (a HeapError for any other)."""
    extension = os.path.splitext(path)[1].lower()
    writer = _WRITERS.get(extension)
    if writer is None:
        raise HeapError("%r is neither .svg nor .html (the extension picks the format)"
                        % path)
    return writer


def _write(path, writer, document):
    """Write the map beside `path`, then put it in place: an interrupted or failed write never
    leaves half a picture under the name asked for."""
    partial = path + ".partial"
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            writer(handle, document)
        os.replace(partial, path)
    except OSError as error:
        _discard(partial)
        raise HeapError("cannot write %s: %s" % (path, error.strerror or error)) from None
    except BaseException:
        _discard(partial)
        raise
    return os.path.getsize(path)


def _discard(path):
    try:
        os.unlink(path)
    except OSError:
        pass


@command
class HeapMap(HeapCommand):
    """Draw every heap segment of every arena, one box per chunk, into an SVG or HTML file.

Each heap (the main arena's sbrk heap, each thread arena's heaps, then the mmapped chunks) is a
band of rows; its chunks follow in address order, box width growing with size, coloured by
state (in use, tcache, fastbin, unsorted, small, large, free, top, mmapped) and damaged or
unreadable regions the walk reports, with a legend and the band's arena and address range.
The HTML page holds every chunk and shows its address, size, state and bin on hover; the SVG
gives each chunk a box with a tooltip, except on huge heaps, where the chunks sharing a pixel
are merged into one box that counts them (the legend says so).  See docs/commands/map.md.

Usage: heap map FILE.svg|FILE.html [--json]"""

    name = "heap map"

    def add_arguments(self, parser):
        parser.add_argument("file")

    def run(self, args):
        # A name with spaces comes in quotes, as a shell user types it.
        inner = arguments.unquoted(args.file)
        path = os.path.expanduser(args.file if inner is None else inner)
        writer = _writer(path)
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise HeapError("cannot write %s: no folder %s" % (path, folder))
        snap = snapshot.current()
        document = map_columns.collect(snap, "heap map of %s" % snap.allocator.describe(),
                                       doubt_listing)
        size = _write(path, writer, document)
        chunks = document.chunk_count()
        summary = {"file": os.path.abspath(path), "format": os.path.splitext(path)[1][1:].lower(),
                   "bytes": size, "chunks": chunks, "segments": len(document.segments),
                   "complete": not document.notes, "notes": document.notes}
        if args.json:
            output.write_json(summary)
            return
        out = output.Writer()
        out.line("heap map: wrote %s in %s to %s (%s)" % (
            output.plural(chunks, "chunk"),
            output.plural(len(document.segments), "band"), path, output.human_size(size)))
        for note in document.notes:
            out.line("  note: %s" % note)
        out.flush()
