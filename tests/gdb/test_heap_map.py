"""`heap map`: the SVG and HTML pictures of every_bin's heap against the sample's own record,
live and from a gcore'd core (there without the C walk helper), then in headless Chromium: the pixel in the middle of each recorded
chunk's box must have the legend's colour of the chunk's recorded state.  A page that paints a
state in a colour other than its legend's is shown to be caught, as is a map that files a chunk
under the wrong state.  Chromium missing is a failure, not a skip: CI installs it."""

import json
import os
import re
import subprocess
from html import unescape

import pytest

from conftest import (TIMEOUT, Record, binary, gdb_argv, marked, require_variant, run_gdb,
                      sections)
from headless_browser import page_after_scripts, require_chromium, screenshot_pages
from heap_map_files import L, read_html, read_svg
from json_contract import checked
from known_heap import HEADER
from png_pixels import read_png

VARIANT = "linked"
# How far a screenshot's pixel may stray from the legend colour, per channel.
TOLERANCE = 6
WINDOW_WIDTH = 1100


def _map_commands(folder, name):
    return [("%s_svg" % name, "heap map %s" % os.path.join(folder, name + ".svg")),
            ("%s_html" % name, "heap map %s" % os.path.join(folder, name + ".html"))]


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """{source: (svg MapFile, html MapFile, file paths)} for the live stop and its core, the
    sample's Record, and the outputs of the commands given bad file names."""
    require_variant(VARIANT)
    folder = str(tmp_path_factory.mktemp("heap-map"))
    record = os.path.join(folder, "record.txt")
    core = os.path.join(folder, "gcore.core")
    os.mkdir(os.path.join(folder, "folder.svg"))
    bad = [("bad_extension", "heap map %s" % os.path.join(folder, "map.png")),
           ("no_folder", "heap map %s" % os.path.join(folder, "absent", "map.svg")),
           ("a_folder", "heap map %s" % os.path.join(folder, "folder.svg")),
           ("no_file", "heap map"),
           ("json", "heap map --json %s" % os.path.join(folder, "json.html"))]
    # After the core is written, the size field of the main thread's first recorded in-use
    # chunk is zeroed: the walk steps over the damage and the map must draw it.
    damage = ("python words = [line.split() for line in open(%r) if line.startswith('chunk')]; "
              "main = int(next(line for line in open(%r) if line.startswith('main')).split()[1]);"
              " user = next(int(w[1], 16) for w in words if w[3] == 'in-use' and int(w[4]) == "
              "main and int(w[2]) < 1000); gdb.execute('set var *(unsigned long *) %%d = 0' %% "
              "(user - 8))" % (record, record))
    live = run_gdb(gdb_argv(binary("every_bin", VARIANT), [
        "break sample_checkpoint", "run " + record] + marked(
            _map_commands(folder, "live") + bad) + ["gcore " + core, damage] + marked(
                _map_commands(folder, "damaged")) + ["kill"]), folder)
    # The core is drawn by the walk's Python loops (no C helper): the same maps must come out.
    from_core = subprocess.run(
        gdb_argv(binary("every_bin", VARIANT), marked(_map_commands(folder, "core")), core=core),
        cwd=folder, env=dict(os.environ, PTMALLOC_GDB_NATIVE="0"), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT, errors="replace").stdout
    result = {"record": Record(record), "output": sections(live), "core_output": from_core}
    for source in ("live", "core", "damaged"):
        svg = os.path.join(folder, source + ".svg")
        html = os.path.join(folder, source + ".html")
        assert os.path.exists(svg) and os.path.exists(html), (live + from_core)[-3000:]
        result[source] = (read_svg(svg), read_html(html), svg, html)
    result["folder"] = folder
    return result


def assert_record_shown(picture, record):
    """Every chunk the sample recorded is in the picture, with its recorded state."""
    shown = picture.by_address()
    assert len(record.chunks) > 60
    for entry in record.chunks:
        header = entry["user"] - HEADER
        assert header in shown, "recorded chunk %#x is not in the map" % header
        chunk = shown[header]
        assert chunk.state == entry["state"], (hex(header), chunk, entry)
        assert chunk.size >= entry["request"] + 8, (hex(header), chunk, entry)


@pytest.mark.parametrize("source", ("live", "core"))
def test_every_recorded_chunk_is_in_both_files(maps, source):
    svg, html, _svg_path, _html_path = maps[source]
    record = maps["record"]
    assert not svg.merged
    assert_record_shown(svg, record)
    assert_record_shown(html, record)
    # The two files draw the same chunks, in the same order, with the same details.
    assert [c[:4] for c in svg.chunks] == [c[:4] for c in html.chunks]
    # Each heap band tiles its segment: no chunk left out between the recorded ones.
    for number, band in enumerate(html.bands):
        if band["kind"] == "mmapped":
            continue
        inside = [c for c in html.chunks if c.band == number]
        assert band["jumps"] == [[0, band["start"]]], band
        assert sum(c.size for c in inside) == band["end"] - band["start"], band["label"]
        assert inside[-1].state == "top"
    mmapped = [c for c in html.chunks if c.state == "mmapped"]
    assert len(mmapped) == sum(e["state"] == "mmapped" for e in record.chunks)
    assert set(html.colours) == set(svg.colours) and len(set(html.colours.values())) == len(
        html.colours)


def test_core_map_equals_live_map(maps):
    """From the core, drawn without the C walk helper: the same boxes, state and bins."""
    assert maps["core"][1].chunks == maps["live"][1].chunks
    assert maps["core"][0].chunks == maps["live"][0].chunks


def test_a_chunk_in_the_wrong_state_is_caught(maps):
    html = maps["live"][1]
    record = maps["record"]
    wrong = html.chunks[:]
    row = next(i for i, c in enumerate(wrong)
               if c.address == record.chunks[0]["user"] - HEADER)
    wrong[row] = wrong[row]._replace(state="smallbin" if wrong[row].state != "smallbin"
                                     else "in-use")
    html_wrong = type(html)(wrong, html.colours, html.bands, html.height)
    with pytest.raises(AssertionError):
        assert_record_shown(html_wrong, record)


def _rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def colour_mismatches(picture, shot, addresses):
    """[(address, state, pixel colour, nearest legend state)] of the chunks at `addresses`
    whose pixel in `shot` ((image, y offset of the picture in it)) is not their state's legend
    colour."""
    image, offset = shot
    legend = {state: _rgb(colour) for state, colour in picture.colours.items()}
    shown = picture.by_address()
    wrong = []
    for address in addresses:
        chunk = shown[address]
        x, y = chunk.pixel
        pixel = image.pixel(x, offset + y)
        nearest = min(legend, key=lambda state: sum(abs(a - b) for a, b in zip(
            legend[state], pixel)))
        if nearest != chunk.state or max(abs(a - b) for a, b in zip(
                legend[chunk.state], pixel)) > TOLERANCE:
            wrong.append((address, chunk.state, pixel, nearest))
    return wrong


def _swapped_page(maps):
    """The live page with the script's colours of tcache and fastbin swapped, the legend left
    as it is."""
    _svg, html, _svg_path, html_path = maps["live"]
    with open(html_path, encoding="utf-8") as handle:
        text = handle.read()
    tcache, fastbin = html.colours["tcache"], html.colours["fastbin"]
    meta_start = text.index('id="heap-map-meta"')
    meta_end = text.index("</script>", meta_start)
    meta = text[meta_start:meta_end]
    swapped = meta.replace(tcache, "#swap#").replace(fastbin, tcache).replace("#swap#", fastbin)
    assert swapped != meta
    page = os.path.join(maps["folder"], "swapped.html")
    with open(page, "w", encoding="utf-8") as handle:
        handle.write(text[:meta_start] + swapped + text[meta_end:])
    return page


@pytest.fixture(scope="module")
def shots(maps):
    """{name: (screenshot, y offset)} of the live HTML page, the damaged heap's SVG and the
    page with swapped colours, all in one browser run."""
    require_chromium()
    pages = {"html": (maps["live"][3], maps["live"][1].height),
             "svg": (maps["damaged"][2], maps["damaged"][0].height),
             "swapped": (_swapped_page(maps), maps["live"][1].height)}
    names = list(pages)
    png = os.path.join(maps["folder"], "shots.png")
    offsets = screenshot_pages([pages[name] for name in names], png, WINDOW_WIDTH,
                               os.path.join(maps["folder"], "profile"))
    image = read_png(png)
    return {name: (image, offset) for name, offset in zip(names, offsets)}


@pytest.mark.parametrize("kind", ("svg", "html"))
def test_chromium_paints_each_recorded_chunk_in_its_legend_colour(maps, shots, kind):
    """The HTML page of the sound heap, and the SVG of the damaged one (which has every other
    state too: both files draw the same boxes, test_every_recorded_chunk_is_in_both_files)."""
    source = "live" if kind == "html" else "damaged"
    picture = maps[source][0 if kind == "svg" else 1]
    shot = shots[kind]
    covered = _damage_cover(picture)
    recorded = [entry["user"] - HEADER for entry in maps["record"].chunks]
    assert colour_mismatches(picture, shot, [a for a in recorded if not covered(a)]) == []
    # The top chunks, which no record lists, are painted too, and so is the damage.
    tops = [c.address for c in picture.chunks if c.state == "top"]
    assert len(tops) == 4 and colour_mismatches(picture, shot, tops) == []
    damaged = [c.address for c in picture.chunks if c.state == "damaged"]
    assert len(damaged) == (1 if source == "damaged" else 0)
    assert colour_mismatches(picture, shot, damaged) == []


def _damage_cover(picture):
    """covered(address): whether a damaged region of `picture` holds `address`."""
    damaged = [c for c in picture.chunks if c.state == "damaged"]
    return lambda address: any(c.address <= address < c.address + c.size for c in damaged)


def test_damage_is_drawn_where_the_walk_met_it(maps):
    record = maps["record"]
    header = next(e["user"] for e in record.chunks if e["state"] == "in-use" and
                  e["lwp"] == record.main and e["request"] < 1000) - HEADER
    for picture in maps["damaged"][:2]:
        covered = _damage_cover(picture)
        assert covered(header)
        assert header not in {c.address for c in picture.chunks if c.state != "damaged"}
        shown = picture.by_address()
        beyond = [e for e in record.chunks if not covered(e["user"] - HEADER)]
        # The walk resumed past the damage: every recorded chunk outside it is still drawn.
        assert len(beyond) == len(record.chunks) - 1
        for entry in beyond:
            assert shown[entry["user"] - HEADER].state == entry["state"], entry
    assert "note: " in maps["output"]["damaged_html"]


def test_a_page_painting_a_state_in_another_colour_is_caught(maps, shots):
    """On the page with tcache's and fastbin's colours swapped, exactly the recorded tcache
    and fastbin chunks come out wrong, each looking like the other state."""
    recorded = {entry["user"] - HEADER: entry["state"] for entry in maps["record"].chunks}
    wrong = colour_mismatches(maps["live"][1], shots["swapped"], recorded)
    assert {address for address, *_rest in wrong} == {
        address for address, state in recorded.items() if state in ("tcache", "fastbin")}
    assert all(nearest == ("fastbin" if state == "tcache" else "tcache")
               for _address, state, _pixel, nearest in wrong)


# Hovers the page's canvas at each point of HOVER_POINTS, as a mouse would, and writes the
# tooltip's text for each into the page, for --dump-dom to print.
HOVER_PROBE = """<script>
(function probe() {
  if (!document.body.hasAttribute("data-drawn")) return setTimeout(probe, 10);
  const canvas = document.getElementById("map"), tip = document.getElementById("tip");
  const seen = HOVER_POINTS.map(function (point) {
    canvas.dispatchEvent(new MouseEvent("mousemove", {clientX: point[0], clientY: point[1]}));
    return tip.style.display === "none" ? null : tip.textContent;
  });
  const out = document.createElement("pre");
  out.id = "hover-results";
  out.textContent = JSON.stringify(seen);
  document.body.appendChild(out);
})();
</script>"""


def test_hovering_a_box_shows_its_chunk(maps):
    """In Chromium, the page's own mouse handler names each recorded chunk under the pointer:
    address, size, state, and the bin of a binned one; between rows it shows nothing."""
    require_chromium()
    _svg, html, _svg_path, html_path = maps["live"]
    record = maps["record"]
    shown = html.by_address()
    chunks = [shown[entry["user"] - HEADER] for entry in record.chunks]
    points = [list(chunk.pixel) for chunk in chunks]
    # Below the first row's boxes, in the gap between rows: no chunk.
    x, y = chunks[0].pixel
    points.append([x, y - L.BOX_HEIGHT // 2 + L.BOX_HEIGHT])
    with open(html_path, encoding="utf-8") as handle:
        text = handle.read()
    probe = HOVER_PROBE.replace("HOVER_POINTS", json.dumps(points))
    page = os.path.join(maps["folder"], "hover.html")
    with open(page, "w", encoding="utf-8") as handle:
        handle.write(text.replace("</body>", probe + "</body>"))
    dom = page_after_scripts(page, WINDOW_WIDTH, html.height + 40,
                             os.path.join(maps["folder"], "hover-profile"))
    found = re.search(r'<pre id="hover-results">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    seen = json.loads(unescape(found.group(1)))
    assert seen[-1] is None
    for chunk, entry, tip in zip(chunks, record.chunks, seen):
        assert tip is not None, chunk
        lines = tip.splitlines()
        assert lines[0] == "%#x" % chunk.address
        assert lines[1].startswith("size %#x " % chunk.size)
        assert lines[2] == entry["state"]
        if entry["state"] in ("tcache", "fastbin", "smallbin", "largebin"):
            assert lines[3].startswith(entry["state"] + "["), tip
        elif entry["state"] == "unsorted":
            assert lines[3] == "unsorted bin", tip


def test_bad_file_names_get_one_line(maps):
    output = maps["output"]
    expected = {
        "bad_extension": "is neither .svg nor .html",
        "no_folder": "cannot write",
        "a_folder": "cannot write",
        "no_file": "the following arguments are required: file",
    }
    for name, words in expected.items():
        lines = output[name].strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("heap: ") and words in lines[0], (
            name, output[name])
    assert "Traceback" not in "".join(output.values())
    assert not os.path.exists(os.path.join(maps["folder"], "absent"))
    assert not [name for name in os.listdir(maps["folder"]) if name.endswith(".partial")]
    assert output["live_svg"].startswith("heap map: wrote ")


def test_json_says_what_was_written(maps):
    document = checked("heap map --json", json.loads(maps["output"]["json"].splitlines()[-1]))
    path = os.path.join(maps["folder"], "json.html")
    assert document["file"] == path and document["format"] == "html"
    assert document["bytes"] == os.path.getsize(path)
    html = read_html(path)
    assert document["chunks"] == len(html.chunks)
    assert document["segments"] == len(html.bands)
    assert document["complete"] is True and document["notes"] == []
