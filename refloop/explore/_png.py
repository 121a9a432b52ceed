"""The timeline as a PNG image, for reports where SVG will not do (spec:
explore.picture). Standard library only: the picture's rectangles and its
text (a 3x5 pixel font, drawn at twice that size for ordinary text) are
rasterised here, and the image is written with zlib and struct.

Rules this module keeps:

1. The PNG shows the same layout as the SVG (refloop/explore/_timeline.py,
   `layout`): same size in pixels, same rectangles, same colours.
2. The file is plain 8-bit RGB, one IDAT chunk, every chunk with its CRC,
   so any decoder reads it.
"""

from __future__ import annotations

import struct
import zlib

from ._timeline import Picture, Rect, Step, layout

__all__ = ["png", "png_of"]

# Each glyph: the character, then five rows of three pixels, one octal
# digit a row (4 is the left pixel). Letters are drawn in capitals.
_GLYPHS = {
    entry[0]: entry[1:]
    for entry in (
        "075557",
        "126227",
        "271747",
        "371717",
        "455711",
        "574717",
        "674757",
        "771111",
        "875757",
        "975717",
        "A25755",
        "B65656",
        "C34443",
        "D65556",
        "E74647",
        "F74644",
        "G34553",
        "H55755",
        "I72227",
        "J11152",
        "K55655",
        "L44447",
        "M57755",
        "N65555",
        "O25552",
        "P65644",
        "Q25563",
        "R65655",
        "S34216",
        "T72222",
        "U55557",
        "V55552",
        "W55775",
        "X55255",
        "Y55222",
        "Z71247",
        ".00002",
        ":02020",
        "-00700",
        "_00007",
        "(12221",
        ")42224",
        "'22000",
        "/11244",
        ",00024",
        "=07070",
        "!22202",
        "<12421",
        ">42124",
        "?71302",
        "#57575",
        "+02720",
        "[64446",
        "]31113",
    )
}
_GLYPHS[" "] = "00000"


def _rgb(colour: str) -> tuple[int, int, int]:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    value = int(digits, 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(b"\xff" * (width * height * 3))

    def fill(self, x: int, y: int, w: int, h: int, colour: str) -> None:
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        run = bytes(_rgb(colour)) * (x1 - x0)
        for row in range(y0, y1):
            start = (row * self.width + x0) * 3
            self.pixels[start : start + len(run)] = run

    def text(self, x: int, baseline: int, text: str, size: int, colour: str) -> None:
        scale = 2 if size >= 10 else 1
        top = baseline - 5 * scale
        advance = 4 if scale == 1 else 7
        for i, char in enumerate(text.upper()):
            glyph = _GLYPHS.get(char, _GLYPHS["?"])
            left = x + i * advance
            for row, digit in enumerate(glyph):
                bits = int(digit)
                for col in range(3):
                    if bits & (4 >> col):
                        self.fill(
                            left + col * scale, top + row * scale, scale, scale, colour
                        )

    def encode(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[row * stride : (row + 1) * stride])
            for row in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_of(picture: Picture) -> bytes:
    """The picture as the bytes of a PNG file."""
    # spec: explore.picture
    canvas = _Canvas(picture.width, picture.height)
    for shape in picture.shapes:
        if isinstance(shape, Rect):
            canvas.fill(shape.x, shape.y, shape.width, shape.height, shape.fill)
    for shape in picture.shapes:  # text on top, as in the SVG's order
        if not isinstance(shape, Rect):
            canvas.text(shape.x, shape.y, shape.text, shape.size, shape.fill)
    return canvas.encode()


def png(steps: list[Step], title: str = "") -> bytes:
    """The steps' timeline (the SVG's layout) as the bytes of a PNG file."""
    return png_of(layout(steps, title))
