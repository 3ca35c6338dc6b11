"""Reading `heap map`'s files back: the SVG with xml.etree, the HTML's embedded columns with
json, base64 and zlib; each gives its chunks with the pixel a browser must paint in the
chunk's colour, and the legend's colour of each state.

The pixel positions come from the layout rules the map documents (gdb/ptmalloc/render/
map_layout.py, imported from the source tree: it needs no gdb), so a page whose script lays
chunks out otherwise, or paints them in another colour, is caught by the screenshot."""

import base64
import collections
import json
import os
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "gdb"))

from ptmalloc.render import map_layout as L  # noqa: E402 - found through the path above
from ptmalloc.render.map_html import HEAD_HEIGHT  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"

# One chunk as a map file shows it: `text` is the bin (or why a region is unreadable), `pixel`
# the (x, y) inside its box that the picture must paint in its state's colour.
MapChunk = collections.namedtuple("MapChunk", "address size state text band pixel")


class MapFile:
    """`chunks` (MapChunk in drawing order), `colours` ({state: '#rrggbb'} from the legend),
    `bands` (the HTML's band dicts: label, kind, start, end, count, jumps; the SVG's band
    labels), `height` (pixels the whole picture needs), `merged` (the SVG merged chunks)."""

    def __init__(self, chunks, colours, bands, height, merged=False):
        self.chunks = chunks
        self.colours = colours
        self.bands = bands
        self.height = height
        self.merged = merged

    def by_address(self):
        return {chunk.address: chunk for chunk in self.chunks}


def _middle_of_first_piece(first_unit, width):
    """(x, row) of the pixel in the middle of the painted part of a box's first piece."""
    pieces = list(L.pieces(first_unit, width))
    x, row, piece = pieces[0]
    painted = L.drawn_width(piece, len(pieces) == 1)
    return L.LEFT + x + (painted - 1) // 2, row


def read_html(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    meta = json.loads(re.search(r'<script type="application/json" id="heap-map-meta">(.*?)'
                                r"</script>", text, re.S).group(1))
    data = zlib.decompress(base64.b64decode(re.search(
        r'<script type="application/octet-stream" id="heap-map-data">(.*?)</script>', text,
        re.S).group(1)))
    total = sum(band["count"] for band in meta["segments"])
    assert len(data) == 13 * total, "%d bytes of columns for %d chunks" % (len(data), total)
    sizes = struct.unpack("<%dd" % total, data[:8 * total])
    texts = struct.unpack("<%dI" % total, data[8 * total:12 * total])
    states = data[12 * total:]
    legend = dict(re.findall(r'<span data-state="([^"]+)"><i style="background:(#[0-9a-f]{6})">',
                             text))
    chunks = []
    top = first = 0
    for number, band in enumerate(meta["segments"]):
        jumps = {row: address for row, address in band["jumps"]}
        unit = address = 0
        for row in range(band["count"]):
            address = jumps.get(row, address)
            size = int(sizes[first + row])
            width = L.units(size)
            x, box_row = _middle_of_first_piece(unit, width)
            y = HEAD_HEIGHT + top + L.LABEL_HEIGHT + box_row * L.ROW_HEIGHT + L.BOX_HEIGHT // 2
            text_number = texts[first + row]
            chunks.append(MapChunk(address, size, meta["states"][states[first + row]],
                                   meta["texts"][text_number - 1] if text_number else None,
                                   number, (x, y)))
            unit += width
            address += size
        top += L.segment_height(unit)
        first += band["count"]
    return MapFile(chunks, legend, meta["segments"], HEAD_HEIGHT + top)


def read_svg(path):
    root = ET.parse(path).getroot()
    colours = dict(re.findall(r"\.([a-z-]+)\{fill:(#[0-9a-f]{6})\}", root.find(SVG + "style").text))
    legend = {rect.get("class") for rect in root.findall(SVG + "rect") if rect.get("class")}
    legend_colours = {state: colour for state, colour in colours.items() if state in legend}
    group = root.find(SVG + "g")
    shift = int(re.match(r"translate\(0,(\d+)\)", group.get("transform")).group(1))
    chunks = []
    bands = []
    merged = False
    for element in group:
        if element.tag == SVG + "text":
            bands.append(element.text)
            continue
        title = element.find(SVG + "title")
        if title is None:
            continue  # the rest of a box that wraps onto the next row
        parts = title.text.split(" · ")
        if not parts[0].startswith("0x"):
            merged = True
            continue
        x, y = int(element.get("x")), int(element.get("y"))
        width, height = int(element.get("width")), int(element.get("height"))
        state = parts[2]
        assert element.get("class") == state, (element.get("class"), title.text)
        chunks.append(MapChunk(int(parts[0], 16), int(parts[1].split()[1], 16), state,
                               parts[3] if len(parts) > 3 else None, len(bands) - 1,
                               (x + (width - 1) // 2, shift + y + height // 2)))
    return MapFile(chunks, legend_colours, bands, int(root.get("height")), merged)
