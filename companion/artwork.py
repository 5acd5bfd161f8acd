"""Artwork: the show title -> a square cover image (JPEG, 1400 px) for feeds and MP3 tags."""

from __future__ import annotations

import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

COVER_SIZE = 1400


def cover_jpeg(title: str, subtitle: str) -> bytes:
    """A deterministic cover: the title and subtitle over a calm gradient with a sigma."""
    image = Image.new("RGB", (COVER_SIZE, COVER_SIZE))
    draw = ImageDraw.Draw(image)
    for y in range(COVER_SIZE):
        shade = y / COVER_SIZE
        draw.line(
            [(0, y), (COVER_SIZE, y)],
            fill=(int(18 + 30 * shade), int(42 + 60 * shade), int(84 + 70 * shade)),
        )
    # A summation sign drawn as strokes, so no font with Greek letters is needed.
    left, top, right, bottom = 760, 150, 1220, 620
    middle = ((left + right) // 2 - 40, (top + bottom) // 2)
    draw.line(
        [
            (right, top + 60),
            (right, top),
            (left, top),
            middle,
            (left, bottom),
            (right, bottom),
            (right, bottom - 60),
        ],
        fill=(255, 196, 61),
        width=56,
        joint="curve",
    )
    title_font = ImageFont.load_default(size=118)
    lines = textwrap.wrap(title, width=16)[:4]
    y = 760
    for line in lines:
        draw.text((110, y), line, font=title_font, fill=(255, 255, 255))
        y += 140
    small_font = ImageFont.load_default(size=58)
    draw.text((110, COVER_SIZE - 150), subtitle[:40], font=small_font, fill=(200, 220, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88, optimize=True)
    return out.getvalue()
