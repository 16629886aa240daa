"""Draws the app's icon (a white speech bubble with three dots on a blue rounded square) from code.

Run `uv run python desktop/assets/make_icons.py` to regenerate icon.png (window, Linux), icon.ico (Windows)
and icon.icns (macOS) beside this file. No third-party artwork: every pixel comes from the shapes below.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZE = 1024
TOP, BOTTOM = (37, 99, 235), (14, 165, 233)  # blue to sky blue, top to bottom


def draw(size: int = SIZE) -> Image.Image:
    """The icon at `size` pixels square (drawn at 4x and scaled down for smooth edges)."""
    big = size * 4
    unit = big / 1024

    gradient = Image.new("RGB", (1, big))
    for y in range(big):
        t = y / (big - 1)
        gradient.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(TOP, BOTTOM, strict=True)))
    background = gradient.resize((big, big))

    mask = Image.new("L", (big, big), 0)
    margin = 40 * unit
    ImageDraw.Draw(mask).rounded_rectangle((margin, margin, big - margin, big - margin), radius=220 * unit, fill=255)
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    image.paste(background, (0, 0), mask)

    pen = ImageDraw.Draw(image)
    white = (255, 255, 255, 255)
    pen.rounded_rectangle((200 * unit, 250 * unit, 824 * unit, 690 * unit), radius=150 * unit, fill=white)
    pen.polygon([(330 * unit, 650 * unit), (300 * unit, 820 * unit), (480 * unit, 670 * unit)], fill=white)
    for x in (362, 512, 662):
        r = 48 * unit
        cx, cy = x * unit, 470 * unit
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(37, 99, 235, 255))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write icon.png, icon.ico and icon.icns."""
    icon = draw(SIZE)
    icon.resize((512, 512), Image.Resampling.LANCZOS).save(HERE / "icon.png", optimize=True)
    icon.save(HERE / "icon.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    icon.save(HERE / "icon.icns")


if __name__ == "__main__":
    main()
