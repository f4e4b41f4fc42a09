"""Plates are personal data (docs/PLATES.md): the dataset export holds neither the plate text nor the plate crops of
the events it exports unless asked (``--with-plates``); the plate's pixels inside a vehicle crop are a known limit,
not checked here."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import cv2
import numpy as np

from review.export import DatasetExport
from streetorder.cli import main
from tests.review import verdict_set

PLATE = "京E·MC139"


def give_plates(site) -> bytes:
    """Every event of the site gets a plate, a plate score and a plate crop on disk; returns the crop's bytes."""
    plate_crop = cv2.imencode(".jpg", np.full((20, 90, 3), (200, 120, 30), np.uint8))[1].tobytes()
    db = site.database()
    with db.transaction() as conn:
        for event_id, evidence in conn.execute("SELECT event_id, evidence FROM events").fetchall():
            relative = f"evidence/{event_id.replace('/', '-')}-plate.jpg"
            (site.out / relative).write_bytes(plate_crop)
            conn.execute("UPDATE events SET plate = ?, plate_score = 0.97, evidence = ? WHERE event_id = ?",
                         (PLATE, json.dumps({**json.loads(evidence), "plate_crop": relative}), event_id))
    verdict_set.apply(db)
    return plate_crop


def assert_no_plate(files: dict[str, bytes], plate_crop: bytes) -> None:
    assert sum(name.startswith("images/") for name in files) == 3  # the export is not empty: 2 positives, 1 negative
    for name, data in files.items():
        assert PLATE.encode() not in data and b"MC139" not in data, name
        assert data != plate_crop, name
    assert "plate" not in files["manifest.csv"].decode().splitlines()[0]


def test_the_exported_folder_holds_no_plate_text_and_no_plate_crop(site, tmp_path, capsys):
    plate_crop = give_plates(site)
    out = tmp_path / "dataset"
    assert main(["review", "export", "--db", str(site.db_path), "--out", str(out)]) == 0
    assert_no_plate({p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()},
                    plate_crop)


def test_the_zip_download_holds_no_plate_text_and_no_plate_crop(site):
    plate_crop = give_plates(site)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(DatasetExport(site.database()).zip_stream())))
    assert_no_plate({name: archive.read(name) for name in archive.namelist()}, plate_crop)


def test_with_plates_the_manifest_names_each_plate_and_the_plate_crops_are_written(site, tmp_path, capsys):
    plate_crop = give_plates(site)
    site.database().execute("INSERT INTO review_plate_corrections VALUES ('cam-a/walk/1/warn', "
                            "'京E·MC138', 1, '2026-05-01')")  # a reviewer's reading wins
    out = tmp_path / "dataset"
    assert main(["review", "export", "--db", str(site.db_path), "--out", str(out), "--with-plates"]) == 0
    rows = list(csv.DictReader((out / "manifest.csv").read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 3
    assert {row["event_id"]: row["plate"] for row in rows} == {"cam-a/walk/1/warn": "京E·MC138",
                                                               "cam-b/kerb/3/warn": PLATE, "cam-a/walk/5/warn": PLATE}
    assert all((out / row["plate_image"]).read_bytes() == plate_crop for row in rows)
    assert {row["plate_image"].split("/")[0] for row in rows} == {"plates"}
