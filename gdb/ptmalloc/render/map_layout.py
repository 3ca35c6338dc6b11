"""Where `heap map` draws each chunk, and in which colour: the one description of the picture
that the SVG writer, the HTML page's script (map_page.js, which takes these numbers from the
file's embedded data) and the tests share.

A segment is a label band, then rows of ROW_WIDTH pixels; its chunks follow one another along
the rows in address order, each as wide as its size in 16-byte units (MIN_UNITS to MAX_UNITS:
every chunk stays visible, and a huge top or mmapped chunk cannot push the rest off screen), and
a chunk that reaches a row's end carries on at the start of the next row.  Positions are
cumulative, so laying out a million chunks is one pass.  This module imports nothing from gdb."""

from ..model.states import ROW_CODE, ChunkState

ROW_WIDTH = 1024
ROW_HEIGHT = 12
BOX_HEIGHT = 10
LABEL_HEIGHT = 18
SEGMENT_GAP = 6
LEFT = 8
BYTES_PER_UNIT = 16
MIN_UNITS = 2
MAX_UNITS = 2 * ROW_WIDTH
# A box wider than this loses its last pixel to a white gap, so that neighbours of one state
# are told apart; narrower boxes keep every pixel.
GAP_FROM = 3

# The states the map colours: the walk's chunk states (their codes are the walk's row codes,
# so a scan's codes are used as they are), then what the map adds: mmapped chunks, and the
# regions the walk reports but cannot list as chunks.
MMAPPED = "mmapped"
DAMAGED = "damaged"
UNREAD = "unread"
EXTRA_STATES = (MMAPPED, DAMAGED, UNREAD)
STATE_CODE = dict(ROW_CODE)
STATE_CODE.update((state, len(ROW_CODE) + number) for number, state in enumerate(EXTRA_STATES))

# Legend order, colour, and what the legend says of each state.  Colours are far apart in RGB
# so that a state is recognisable from one pixel of a screenshot.
LEGEND = (
    (ChunkState.IN_USE, "#4e79a7", "in use"),
    (ChunkState.TCACHE, "#f28e2b", "tcache"),
    (ChunkState.FASTBIN, "#e15759", "fastbin"),
    (ChunkState.UNSORTED, "#17becf", "unsorted bin"),
    (ChunkState.SMALLBIN, "#59a14f", "small bin"),
    (ChunkState.LARGEBIN, "#edc948", "large bin"),
    (ChunkState.FREE, "#b07aa1", "free, in no bin"),
    (ChunkState.TOP, "#8c8c8c", "top"),
    (MMAPPED, "#9c4f1f", "mmapped chunk"),
    (DAMAGED, "#1a1a1a", "damaged: the walk cannot read chunks here"),
    (UNREAD, "#d9d9d9", "not in the core: unknown"),
)
COLOUR = {state: colour for state, colour, _text in LEGEND}
CODE_STATES = sorted(STATE_CODE, key=STATE_CODE.__getitem__)


def units(size):
    """A chunk's width along its rows, in pixels."""
    return min(MAX_UNITS, max(MIN_UNITS, size // BYTES_PER_UNIT))


def rows_of(total_units):
    """How many rows a segment whose chunks add up to `total_units` takes (at least one)."""
    return max(1, -(-total_units // ROW_WIDTH))


def segment_height(total_units):
    return LABEL_HEIGHT + rows_of(total_units) * ROW_HEIGHT + SEGMENT_GAP


def pieces(first_unit, width):
    """(x, row, width) of each row's piece of a box starting `first_unit` units into its
    segment, x counted from the row's start."""
    while width > 0:
        row, x = divmod(first_unit, ROW_WIDTH)
        piece = min(width, ROW_WIDTH - x)
        yield x, row, piece
        first_unit += piece
        width -= piece


def drawn_width(piece, last_piece):
    """The pixels a piece fills: the last piece of a wide box leaves a white gap."""
    return piece - 1 if last_piece and piece >= GAP_FROM else piece


def constants():
    """The layout's numbers, embedded in the HTML page for its script."""
    return {"rowWidth": ROW_WIDTH, "rowHeight": ROW_HEIGHT, "boxHeight": BOX_HEIGHT,
            "labelHeight": LABEL_HEIGHT, "segmentGap": SEGMENT_GAP, "left": LEFT,
            "bytesPerUnit": BYTES_PER_UNIT, "minUnits": MIN_UNITS, "maxUnits": MAX_UNITS,
            "gapFrom": GAP_FROM}
