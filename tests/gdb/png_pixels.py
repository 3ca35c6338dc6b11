"""Pixels of a PNG file, read with zlib alone: enough of the format for a browser's screenshot
(8-bit RGB or RGBA, not interlaced), so the map test needs no imaging package."""

import struct
import zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Bytes per pixel of the colour types a screenshot uses: 2 = RGB, 6 = RGBA.
_CHANNELS = {2: 3, 6: 4}


class Image:
    """`width`, `height` and `pixel(x, y)` -> (red, green, blue)."""

    def __init__(self, width, height, channels, rows):
        self.width = width
        self.height = height
        self._channels = channels
        self._rows = rows

    def pixel(self, x, y):
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise IndexError("pixel (%d, %d) outside a %dx%d image" % (x, y, self.width,
                                                                       self.height))
        first = x * self._channels
        return tuple(self._rows[y][first:first + 3])


def _paeth(left, up, up_left):
    estimate = left + up - up_left
    to_left, to_up, to_up_left = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    if to_left <= to_up and to_left <= to_up_left:
        return left
    return up if to_up <= to_up_left else up_left


def _unfilter(kind, row, previous, step):
    """Undo one scanline's filter (PNG's five filter types) in place."""
    if kind == 0:
        return row
    for i in range(len(row)):
        left = row[i - step] if i >= step else 0
        up = previous[i]
        up_left = previous[i - step] if i >= step else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 2:
            row[i] = (row[i] + up) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + ((left + up) >> 1)) & 0xFF
        elif kind == 4:
            row[i] = (row[i] + _paeth(left, up, up_left)) & 0xFF
        else:
            raise ValueError("unknown PNG filter %d" % kind)
    return row


def read_png(path):
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.startswith(_SIGNATURE):
        raise ValueError("%s is not a PNG file" % path)
    offset = len(_SIGNATURE)
    header = None
    compressed = []
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour_type, _compression, _filter, interlace = header
    if depth != 8 or colour_type not in _CHANNELS or interlace:
        raise ValueError("%s: PNG depth %d, colour type %d, interlace %d not supported" % (
            path, depth, colour_type, interlace))
    channels = _CHANNELS[colour_type]
    raw = zlib.decompress(b"".join(compressed))
    stride = width * channels
    rows = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), previous,
                        channels)
        rows.append(row)
        previous = row
    return Image(width, height, channels, rows)
