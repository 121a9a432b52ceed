"""The run as a picture (spec: explore.picture): the SVG and the PNG show
one layout; the PNG decodes (signature, chunks and CRCs, IHDR, IDAT) and
shows a row per task, the failing step in red."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from races import lost_update

from refloop.explore import explore
from refloop.explore._png import png_of
from refloop.explore._timeline import Rect, Step, Text, layout

BLUE, RED = (0x33, 0x66, 0xCC), (0xCC, 0x33, 0x33)


def decode(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """A small PNG reader for what refloop writes: 8-bit RGB, filter 0."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        at += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    assert (depth, colour, interlace) == (8, 2, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + width * 3
    assert len(raw) == stride * height
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0  # no filter
        rows.append([tuple(line[1 + 3 * x : 4 + 3 * x]) for x in range(width)])
    return width, height, rows  # type: ignore[return-value]


STEPS = [
    Step("main", 0.0, "wait gather", False),
    Step("a", 0.0, "wait sleep", False),
    Step("b", 0.0, "wait sleep", False),
    Step("a", 0.1, "done", False),
    Step("b", 0.1, "cancelled", True),
    Step("main", 0.1, "failed: AssertionError", False),
]


@pytest.mark.spec("explore.picture")
def test_the_png_decodes_and_shows_a_row_per_task() -> None:
    picture = layout(STEPS, "a title")
    width, height, rows = decode(png_of(picture))
    assert (width, height) == (picture.width, picture.height)
    # Each task's row has its step blocks; main's last step is red.
    blocks = [s for s in picture.shapes if isinstance(s, Rect) and s.height == 16]
    assert len(blocks) == len(STEPS)
    for block in blocks:
        pixel = rows[block.y + block.height // 2][block.x + 1]
        assert pixel == (RED if block.fill == "#c33" else BLUE)
    rows_with_blue = {y for y, row in enumerate(rows) if BLUE in row}
    bands = {(y - 34) // 22 for y in rows_with_blue}
    assert bands == {0, 1, 2}  # main, a, b
    # Text is drawn: the name column has dark pixels in every row.
    for band in range(3):
        ys = range(34 + band * 22, 34 + band * 22 + 22)
        assert any(rows[y][x] == (0, 0, 0) for y in ys for x in range(4, 60))


@pytest.mark.spec("explore.picture")
def test_the_svg_and_the_png_are_one_layout(tmp_path: Path) -> None:
    result = explore(lost_update.buggy, runs=20)
    assert result.failure is not None
    svg_path = result.picture(lost_update.buggy, str(tmp_path / "run.svg"))
    png_path = result.picture(lost_update.buggy, str(tmp_path / "run.png"))
    text = Path(svg_path).read_text(encoding="utf-8")
    width, height, rows = decode(Path(png_path).read_bytes())
    assert f'width="{width}" height="{height}"' in text
    assert text.count("<rect") > 0
    assert any(RED in row for row in rows)  # the failing step
    texts = [s for s in layout([], "x").shapes if isinstance(s, Text)]
    assert texts == [Text(4, 14, "x")]
