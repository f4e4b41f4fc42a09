"""Render the synthetic plate set of tests/data/plates/rendered (run once; the JPEGs and labels.csv are committed).

Needs the Debian font package fonts-wqy-zenhei (``apt-get install -y fonts-wqy-zenhei``; the font is not
committed). Plates are drawn by ``evaluation/plate_art.py`` in GA 36 layouts: blue (white text) and yellow (black
text) 440x140 mm with 7 characters, green new-energy 480x140 mm with 8; each is put on a plain "vehicle rear" at
60-150 px wide, turned (perspective), blurred, noised and JPEG-compressed. Seeded: the same run gives the same set.

    .venv/bin/python tests/data/plates/render_plates.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import cv2
import numpy as np

from evaluation.plate_art import draw_plate, plate_font, plate_text, vehicle_rear

OUT = Path(__file__).with_name("rendered")
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
    font = plate_font()
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
