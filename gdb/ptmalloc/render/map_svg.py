"""`heap map FILE.svg`: the map as a self-contained SVG, one <rect> per chunk with its details
in a <title> (a viewer's tooltip).

A million <rect>s would make a file of some hundred megabytes that no viewer opens, so past
SVG_UNIT_BUDGET pixels of boxes the picture is shrunk by a whole factor and the chunks that
then share a pixel are merged: a box covers the chunks that start inside it, takes the colour of
the first, and its title counts them by state.  The legend says so whenever it happens; no chunk
is left out of the counts, and the HTML map always draws every chunk on its own."""

from xml.sax.saxutils import escape

from . import map_layout as L

# Thirty-two rows of boxes: at most one box (about 180 bytes with its title) a pixel, so under
# 6 MB even when every pixel holds another state; a browser opens that in seconds.
SVG_UNIT_BUDGET = 32 * L.ROW_WIDTH
_TITLE_HEIGHT = 20
_LINE_HEIGHT = 16
_LEGEND_COLUMN = 341
# What the legend says when chunks are merged.
_MERGED_NOTE = ("Merged: %(chunks)d chunks in %(boxes)d boxes, one pixel for %(factor)d; a box "
                "covers the chunks that start in it, coloured as the first",
                "(or as the chunk it continues); its title counts them by state. The .html map "
                "draws each chunk on its own.")


def shrink_factor(document):
    """1 when every chunk gets a box of its own, else how many layout pixels one SVG pixel
    holds."""
    total = sum(sum(map(L.units, segment.sizes)) for segment in document.segments)
    return max(1, -(-total // SVG_UNIT_BUDGET))


class _Box:
    """A box being drawn: its state code, first and end cell, chunk counts by state code, the
    address range of the chunks starting in it (None while none does), and `continues`, the
    address of the chunk whose rest it draws (a box that starts inside a chunk)."""

    __slots__ = ("code", "first", "end", "counts", "low", "high", "title", "continues")

    def __init__(self, code, first, end, title=None):
        self.code = code
        self.first = first
        self.end = end
        self.counts = [0] * len(L.CODE_STATES)
        self.low = None
        self.high = None
        self.title = title
        self.continues = None

    def count(self, code, address):
        self.counts[code] += 1
        if self.low is None:
            self.low = address
        self.high = address

    def describe(self):
        parts = []
        if self.continues is not None:
            parts.append("the rest of the %s chunk at %#x" % (L.CODE_STATES[self.code],
                                                              self.continues))
        shown = ", ".join("%d %s" % (count, L.CODE_STATES[code])
                          for code, count in enumerate(self.counts) if count)
        if shown:
            parts.append("%s: chunks from %#x to %#x" % (shown, self.low, self.high))
        return "; ".join(parts)


def write_svg(handle, document):
    """Write the SVG of `document` (a map_columns.MapDocument); returns the number of boxes."""
    factor = shrink_factor(document)
    body = []
    boxes = 0
    top = 0
    for segment in document.segments:
        body.append('<text x="%d" y="%d">%s</text>' % (L.LEFT, top + L.LABEL_HEIGHT - 5,
                                                       escape(segment.caption())))
        cells, drawn = _band(body, document, segment, top + L.LABEL_HEIGHT, factor)
        boxes += drawn
        top += L.segment_height(cells)
    header = _header(document, factor, boxes)
    header_height = _header_height(document, factor)
    width = L.LEFT * 2 + L.ROW_WIDTH
    handle.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
                 'viewBox="0 0 %d %d" shape-rendering="crispEdges" font-family="monospace" '
                 'font-size="12">\n' % (width, header_height + top, width, header_height + top))
    handle.write("<style>%s</style>\n" % "".join(
        ".%s{fill:%s}" % (state, colour) for state, colour, _text in L.LEGEND))
    handle.write('<rect width="100%" height="100%" fill="#ffffff"/>\n')
    handle.write("\n".join(header) + "\n")
    handle.write('<g transform="translate(0,%d)">\n' % header_height)
    handle.write("\n".join(body))
    handle.write("\n</g>\n</svg>\n")
    return boxes


def _header_lines(document, factor):
    legend_rows = -(-len(L.LEGEND) // (L.ROW_WIDTH // _LEGEND_COLUMN))
    return legend_rows, len(document.notes) + (len(_MERGED_NOTE) if factor > 1 else 0)


def _header_height(document, factor):
    legend_rows, notes = _header_lines(document, factor)
    return _TITLE_HEIGHT + (legend_rows + notes) * _LINE_HEIGHT + L.SEGMENT_GAP


def _header(document, factor, boxes):
    lines = ['<text x="%d" y="14" font-weight="bold">%s</text>' % (L.LEFT,
                                                                   escape(document.title))]
    per_row = L.ROW_WIDTH // _LEGEND_COLUMN
    for number, (state, _colour, text) in enumerate(L.LEGEND):
        row, column = divmod(number, per_row)
        x = L.LEFT + column * _LEGEND_COLUMN
        y = _TITLE_HEIGHT + row * _LINE_HEIGHT
        lines.append('<rect x="%d" y="%d" width="10" height="10" class="%s"/>'
                     '<text x="%d" y="%d">%s</text>' % (x, y + 2, state, x + 14, y + 11,
                                                        escape(text)))
    legend_rows, _notes = _header_lines(document, factor)
    y = _TITLE_HEIGHT + legend_rows * _LINE_HEIGHT
    notes = list(document.notes)
    if factor > 1:
        notes[:0] = [line % {"chunks": document.chunk_count(), "boxes": boxes, "factor": factor}
                     for line in _MERGED_NOTE]
    for note in notes:
        lines.append('<text x="%d" y="%d">%s</text>' % (L.LEFT, y + 11, escape(note)))
        y += _LINE_HEIGHT
    return lines


def _band(body, document, segment, top, factor):
    """Append the boxes of one band; returns (cells its rows hold, boxes drawn)."""
    texts, states = document.texts, L.CODE_STATES
    drawn = 0
    unit = 0
    box = None

    def emit(box):
        title = box.title if box.title is not None else box.describe()
        pieces = list(L.pieces(box.first, box.end - box.first))
        for number, (x, row, width) in enumerate(pieces):
            if factor == 1:
                width = L.drawn_width(width, number == len(pieces) - 1)
            body.append('<rect x="%d" y="%d" width="%d" height="%d" class="%s">%s</rect>' % (
                L.LEFT + x, top + row * L.ROW_HEIGHT, width, L.BOX_HEIGHT, states[box.code],
                "<title>%s</title>" % escape(title) if number == 0 else ""))
        return 1

    for address, size, code, text in segment.rows():
        width = L.units(size)
        first, end = unit // factor, -(-(unit + width) // factor)
        unit += width
        if factor == 1:
            title = "%#x · size %#x · %s" % (address, size, states[code])
            if text:
                title += " · " + texts[text - 1]
            drawn += emit(_Box(code, first, end, title))
            continue
        if box is not None and first < box.end:
            # It starts in a pixel already drawn: counted there; its rest gets a box of its own.
            box.count(code, address)
            if end > box.end:
                if code == box.code:
                    box.end = end
                else:
                    drawn += emit(box)
                    box = _Box(code, box.end, end)
                    box.continues = address
            continue
        if box is not None and code == box.code and first == box.end:
            box.end = end
            box.count(code, address)
            continue
        if box is not None:
            drawn += emit(box)
        box = _Box(code, first, end)
        box.count(code, address)
    if box is not None:
        drawn += emit(box)
    cells = -(-unit // factor)
    return cells, drawn
