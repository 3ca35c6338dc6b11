"""`heap map`'s writers on a synthetic heap too big for one SVG box per chunk (no gdb): the SVG
merges the chunks that share a pixel and says so, yet its boxes' titles count every chunk in its
state; the HTML page keeps every chunk, with its address, size and bin."""

import io
import os
import re
import xml.etree.ElementTree as ET

from heap_map_files import SVG, read_html

from ptmalloc.render import map_html, map_svg  # found through heap_map_files' path
from ptmalloc.render.map_columns import MapDocument, MapSegment
from ptmalloc.render.map_layout import CODE_STATES, STATE_CODE

START = 0x555555560000
# Chunk sizes and states in a repeating pattern, then one huge chunk that spans many pixels.
PATTERN = ((0x20, "in-use"), (0x30, "tcache"), (0x20, "fastbin"), (0x90, "smallbin"),
           (0x20, "in-use"), (0x440, "largebin"), (0x20, "free"))
CHUNKS = 60000
HUGE = 0x40000


def synthetic_document():
    document = MapDocument("synthetic")
    band = MapSegment("main_arena · sbrk heap", "sbrk", START, 0)
    tcache_text = document.text_number("tcache[1] of thread 1")
    rows = [PATTERN[number % len(PATTERN)] for number in range(CHUNKS)]
    rows += [(HUGE, "in-use"), (0x20, "fastbin"), (0x21000, "top")]
    for size, state in rows:
        band.sizes.append(size)
        band.states.append(STATE_CODE[state])
        band.texts.append(tcache_text if state == "tcache" else 0)
    band.end = START + sum(band.sizes)
    band.set_addresses(_addresses(band))
    document.segments.append(band)
    return document


def _addresses(band):
    addresses, address = [], band.start
    for size in band.sizes:
        addresses.append(address)
        address += size
    return addresses


def expected_counts(document):
    counts = {}
    for code in document.segments[0].states:
        state = CODE_STATES[code]
        counts[state] = counts.get(state, 0) + 1
    return counts


def test_a_merged_svg_still_counts_every_chunk():
    document = synthetic_document()
    assert map_svg.shrink_factor(document) > 1
    text = io.StringIO()
    boxes = map_svg.write_svg(text, document)
    root = ET.fromstring(text.getvalue())
    counted = {}
    titles = 0
    for rect in root.iter(SVG + "rect"):
        title = rect.find(SVG + "title")
        if title is None:
            continue
        titles += 1
        found = re.match(r"(?:the rest of the ([a-z-]+) chunk at 0x[0-9a-f]+(?:; |$))?"
                         r"(?:(.*): chunks from 0x[0-9a-f]+ to 0x[0-9a-f]+)?$", title.text)
        assert found and (found.group(1) or found.group(2)), title.text
        for part in (found.group(2) or "").split(", ") if found.group(2) else ():
            count, state = part.split(" ")
            counted[state] = counted.get(state, 0) + int(count)
        # A box is painted as the chunk it continues, else as one of those starting in it.
        if found.group(1):
            assert rect.get("class") == found.group(1), title.text
        else:
            assert rect.get("class") in found.group(2), title.text
    assert titles == boxes
    assert counted == expected_counts(document)
    notes = " ".join(t.text for t in root.findall(SVG + "text"))
    assert "Merged: %d chunks in %d boxes" % (CHUNKS + 3, boxes) in notes
    boxes_drawn = [rect for rect in root.iter(SVG + "rect") if rect.get("width") != "100%"]
    assert all(int(rect.get("x")) + int(rect.get("width")) <= 8 + 1024 for rect in boxes_drawn)
    assert len(text.getvalue()) < 6 * 1024 * 1024


def test_the_html_page_keeps_every_chunk(tmp_path):
    document = synthetic_document()
    path = os.path.join(str(tmp_path), "big.html")
    with open(path, "w", encoding="utf-8") as handle:
        map_html.write_html(handle, document)
    page = read_html(path)
    band = document.segments[0]
    assert [(c.address, c.size, c.state) for c in page.chunks] == [
        (address, size, CODE_STATES[code])
        for address, size, code in zip(_addresses(band), band.sizes, band.states)]
    assert {c.text for c in page.chunks if c.state == "tcache"} == {"tcache[1] of thread 1"}
    assert {c.text for c in page.chunks if c.state != "tcache"} == {None}
