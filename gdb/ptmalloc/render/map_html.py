"""`heap map FILE.html`: the map as one self-contained page.  Every chunk is in it: the columns
of map_columns go in as one deflated, base64 block (13 bytes a chunk before compression), the
bands' labels, jumps and the text table as JSON, and the page's own script (map_page.js) draws
the rows in view on a canvas and shows a chunk's details on hover.  The legend is plain HTML,
so it reads the same with scripts off."""

import array
import base64
import json
import os
import sys
import zlib
from xml.sax.saxutils import escape

from . import map_layout as L

_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "map_page.js")
# Fast compression: the columns are very regular, and the map is written while the user waits.
_LEVEL = 1

_STYLE = """
body{margin:0;font:12px monospace;background:#fff;color:#000}
#head{position:fixed;top:0;left:0;right:0;height:%(head)dpx;overflow:hidden;background:#fff;
 border-bottom:1px solid #ccc;padding:4px %(left)dpx;box-sizing:border-box;z-index:1}
#legend span{display:inline-block;margin-right:16px}
#legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
#notes{height:32px;overflow:auto;color:#555}
#map{position:fixed;left:0;top:%(head)dpx}
#tip{position:fixed;display:none;background:#ffffe0;border:1px solid #888;padding:4px;
 white-space:pre;pointer-events:none;z-index:2}
"""
# The header's fixed height: the canvas starts right under it.
HEAD_HEIGHT = 84


def _columns(document):
    """The chunk columns of every band, one after the other: sizes (float64: exact for any
    size below 2**53), text numbers (uint32), state codes (uint8), little-endian."""
    sizes = array.array("d")
    texts = array.array("I")
    states = bytearray()
    for segment in document.segments:
        sizes.extend(map(float, segment.sizes))
        texts.extend(segment.texts)
        states.extend(segment.states)
    if sys.byteorder != "little":
        sizes.byteswap()
        texts.byteswap()
    return sizes.tobytes() + texts.tobytes() + bytes(states)


def _script_json(value):
    """JSON that cannot end the <script> element it sits in."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def write_html(handle, document):
    """Write the page of `document` (a map_columns.MapDocument)."""
    meta = {
        "layout": L.constants(),
        "states": [str(state) for state in L.CODE_STATES],
        "colours": [L.COLOUR[state] for state in L.CODE_STATES],
        "texts": document.texts,
        "notes": document.notes,
        "segments": [{"label": segment.caption(),
                      "kind": segment.kind, "arena": segment.arena, "start": segment.start,
                      "end": segment.end, "count": len(segment), "jumps": segment.jumps}
                     for segment in document.segments],
    }
    data = base64.b64encode(zlib.compress(_columns(document), _LEVEL)).decode("ascii")
    with open(_SCRIPT, encoding="utf-8") as script:
        code = script.read()
    legend = "".join('<span data-state="%s"><i style="background:%s"></i>%s</span>' % (
        state, colour, escape(text)) for state, colour, text in L.LEGEND)
    notes = "".join("<div>%s</div>" % escape(note) for note in document.notes)
    handle.write(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>%(title)s</title>\n'
        "<style>%(style)s</style></head><body>\n"
        '<div id="head"><div><b>%(title)s</b> · %(chunks)d chunks in %(bands)d bands · '
        "box width grows with chunk size (16 bytes a pixel, %(min)d to %(max)d pixels); "
        "hover a box for its chunk</div>\n"
        '<div id="legend">%(legend)s</div>\n<div id="notes">%(notes)s</div></div>\n'
        '<div id="room"></div><canvas id="map"></canvas><div id="tip"></div>\n'
        '<script type="application/json" id="heap-map-meta">%(meta)s</script>\n'
        '<script type="application/octet-stream" id="heap-map-data">%(data)s</script>\n'
        "<script>\n%(code)s</script>\n</body></html>\n" % {
            "title": escape(document.title),
            "style": _STYLE % {"head": HEAD_HEIGHT, "left": L.LEFT},
            "chunks": document.chunk_count(), "bands": len(document.segments),
            "min": L.MIN_UNITS, "max": L.MAX_UNITS, "legend": legend, "notes": notes,
            "meta": _script_json(meta), "data": data, "code": code})
