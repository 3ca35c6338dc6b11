"""Text output with gdb's styling, and the JSON writer every command shares.

Colours follow the user's `set style ...` settings (address, title, highlight, metadata), so
the output looks like gdb's own and turns plain with `set style enabled off`.  Lines are written
in batches, so a long listing streams instead of appearing all at once at the end."""

import json

import gdb

from ..model.states import ChunkState

_ANSI_FOREGROUND = {"black": 30, "red": 31, "green": 32, "yellow": 33, "blue": 34,
                    "magenta": 35, "cyan": 36, "white": 37}
_ANSI_INTENSITY = {"bold": 1, "dim": 2}

# What each chunk state looks like, in terms of gdb's named styles.
STATE_STYLES = {ChunkState.IN_USE: None, ChunkState.TOP: "highlight",
                ChunkState.TCACHE: "variable", ChunkState.FASTBIN: "function",
                ChunkState.UNSORTED: "title", ChunkState.SMALLBIN: "filename",
                ChunkState.LARGEBIN: "filename", ChunkState.FREE: "metadata"}


def styling_enabled():
    try:
        return bool(gdb.parameter("style enabled"))
    except (gdb.error, RuntimeError):
        return False


_style_cache = {}


def _escape_for(style):
    """The ANSI prefix of one of gdb's named styles, from its current settings."""
    key = style
    if key in _style_cache:
        return _style_cache[key]
    codes = []
    try:
        foreground = gdb.parameter("style %s foreground" % style)
        if foreground in _ANSI_FOREGROUND:
            codes.append(str(_ANSI_FOREGROUND[foreground]))
        intensity = gdb.parameter("style %s intensity" % style)
        if intensity in _ANSI_INTENSITY:
            codes.append(str(_ANSI_INTENSITY[intensity]))
    except (gdb.error, RuntimeError):
        pass
    escape = "\x1b[%sm" % ";".join(codes) if codes else ""
    _style_cache[key] = escape
    return escape


def reset_style_cache():
    _style_cache.clear()


class Painter:
    """Applies styles when gdb's styling is on; decided once per command."""

    def __init__(self):
        self.enabled = styling_enabled()
        reset_style_cache()

    def paint(self, text, style):
        if not self.enabled or not style:
            return text
        escape = _escape_for(style)
        return "%s%s\x1b[0m" % (escape, text) if escape else text

    def address(self, value):
        return self.paint("%#x" % value, "address")

    def addresses(self, values, separator):
        """`values` as addresses joined by `separator`: the style's escape looked up once, not
        once per address (a bin list can hold millions)."""
        escape = _escape_for("address") if self.enabled else None
        text = "%#x" if not escape else escape + "%#x\x1b[0m"
        return separator.join(map(text.__mod__, values))

    def title(self, text):
        return self.paint(text, "title")

    def meta(self, text):
        return self.paint(text, "metadata")

    def state(self, state):
        return self.paint(state, STATE_STYLES.get(state.strip()))


class Writer:
    """Buffered gdb.write: flushes the first line at once, then every `batch` lines."""

    def __init__(self, batch=512):
        self.lines = []
        self.batch = batch
        self.written_any = False

    def line(self, text=""):
        self.lines.append(text)
        if not self.written_any or len(self.lines) >= self.batch:
            self.flush()

    def flush(self):
        if self.lines:
            gdb.write("\n".join(self.lines) + "\n")
            self.lines = []
            self.written_any = True
            gdb.flush()


def write_json(value):
    gdb.write(json.dumps(value, separators=(",", ":")) + "\n")


def plural(count, noun, nouns=None):
    """`1 chunk`, `2 chunks`."""
    return "%d %s" % (count, noun if count == 1 else (nouns or noun + "s"))


def human_size(value):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return str(value)
