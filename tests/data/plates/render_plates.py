"""Render the synthetic plate set of tests/data/plates/rendered (run once; the JPEGs and labels.csv are committed).

Needs the Debian font package fonts-wqy-zenhei (``apt-get install -y fonts-wqy-zenhei``; the font is not
committed). Plates follow GA 36 layouts: blue (white text) and yellow (black text) 440x140 mm with 7 characters,
green new-energy 480x140 mm with 8; each is put on a plain "vehicle rear" at 60-150 px wide, turned (perspective),
blurred, noised and JPEG-compressed. Seeded: the same run gives the same set.

    .venv/bin/python tests/data/plates/render_plates.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from plates.grammar import PROVINCES, SEPARATOR

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
OUT = Path(__file__).with_name("rendered")
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
DIGITS = "0123456789"
# background, text (RGB); the green plate is a gradient from its top colour to its bottom colour
COLOURS = {"blue": ((10, 70, 180), (245, 245, 245)), "yellow": ((240, 185, 20), (15, 15, 15))}
GREEN_TOP, GREEN_BOTTOM, GREEN_TEXT = (235, 245, 235), (90, 195, 100), (15, 15, 15)
PAINTS = [(225, 225, 225), (30, 30, 35), (160, 160, 165), (150, 30, 30), (40, 60, 120)]


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


def vehicle_rear(rng: random.Random, size: tuple[int, int]) -> np.ndarray:
    """A plain car back (BGR): body paint with a shaded gradient, a darker bumper band, a rear window."""
    width, height = size
    paint = np.array(rng.choice(PAINTS)[::-1], dtype=np.float32)
    shade = np.linspace(1.1, 0.8, height)[:, None, None]
    body = np.clip(paint * shade * np.ones((1, width, 1)), 0, 255)
    body[: height // 4] = body[: height // 4] * 0.35 + 20  # the rear window
    body[int(height * 0.78):] *= 0.55  # the bumper
    return body.astype(np.uint8)


def place(plate_rgb: np.ndarray, rng: random.Random, plate_width: int) -> np.ndarray:
    """The plate warped onto a vehicle rear (BGR), turned up to 25 degrees, blurred and noised."""
    height, width = plate_rgb.shape[:2]
    scene = vehicle_rear(rng, (int(plate_width * 2.6), int(plate_width * 1.9)))
    scale = plate_width / width
    cx, cy = scene.shape[1] / 2 + rng.uniform(-0.1, 0.1) * scene.shape[1], scene.shape[0] * 0.62
    half_w, half_h = width * scale / 2, height * scale / 2
    yaw = rng.uniform(-0.25, 0.25)  # the near side of a turned plate is taller than the far side
    skew = rng.uniform(-0.08, 0.08) * half_h * 2
    target = np.float32([
        [cx - half_w, cy - half_h * (1 + yaw) + skew], [cx + half_w, cy - half_h * (1 - yaw) - skew],
        [cx + half_w, cy + half_h * (1 - yaw) - skew], [cx - half_w, cy + half_h * (1 + yaw) + skew],
    ])
    source = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    warp = cv2.getPerspectiveTransform(source, target)
    plate_bgr = cv2.cvtColor(plate_rgb, cv2.COLOR_RGB2BGR)
    warped = cv2.warpPerspective(plate_bgr, warp, scene.shape[1::-1], flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((height, width), 255, np.uint8), warp, scene.shape[1::-1])
    scene[mask > 127] = warped[mask > 127]
    scene = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.4, 1.1))
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(2, 7), scene.shape)
    return np.clip(scene + noise, 0, 255).astype(np.uint8)


def main(count_per_kind: int = 12) -> None:
    rng = random.Random(12)
    font = ImageFont.truetype(FONT, 150)
    OUT.mkdir(exist_ok=True)
    rows = []
    for k, kind in enumerate(("blue", "yellow", "green")):
        for i in range(count_per_kind):
            index = k * count_per_kind + i
            text = plate_text(kind, index, rng)
            plate_width = rng.randrange(60, 150)
            image = place(draw_plate(text, kind, font), rng, plate_width)
            name = f"{kind}_{i:02d}.jpg"
            cv2.imwrite(str(OUT / name), image, [cv2.IMWRITE_JPEG_QUALITY, rng.randrange(45, 80)])
            rows.append({"file": name, "plate": text, "kind": kind, "plate_width_px": plate_width})
    with open(OUT / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
