"""The reviewers' verdicts as a YOLO dataset, read back by Ultralytics itself."""

from __future__ import annotations

import io
import zipfile

import cv2
import pytest

from contracts.boxes import crop_window
from detector.boxes import crop
from review.export import DatasetExport, yolo_label
from streetorder.cli import main
from tests.review import verdict_set
from tests.review.conftest import csrf_of
from tests.review.site import DRIVEWAY_CAR, KERB_CAR, street_frame

POSITIVES = {"cam-a__walk__1__warn": DRIVEWAY_CAR, "cam-b__kerb__3__warn": KERB_CAR}
HARD_NEGATIVES = {"cam-a__walk__5__warn"}


def test_yolo_label_puts_the_box_inside_the_crop():
    x1, y1, x2, y2 = DRIVEWAY_CAR  # at the right edge of the frame: the crop is cut off there
    cut = crop(street_frame(), DRIVEWAY_CAR)
    height, width = cut.shape[:2]
    cls, cx, cy, w, h = (float(v) for v in yolo_label(DRIVEWAY_CAR, (width, height), 0).split())
    left, top, _, _ = crop_window(DRIVEWAY_CAR)
    assert cls == 0
    assert (cx - w / 2) * width + left == pytest.approx(x1, abs=1e-3)
    assert (cx + w / 2) * width + left == pytest.approx(min(x2, left + width), abs=1e-3)
    assert (cy - h / 2) * height + top == pytest.approx(y1, abs=1e-3)
    assert (cy + h / 2) * height + top == pytest.approx(y2, abs=1e-3)


def test_export_holds_confirmed_positives_and_wrong_object_hard_negatives(site, tmp_path, capsys):
    verdict_set.apply(site.database())
    out = tmp_path / "dataset"
    assert main(["review", "export", "--db", str(site.db_path), "--out", str(out)]) == 0
    assert "2 positive(s), 1 hard negative(s)" in capsys.readouterr().out
    labels = {p.stem: p.read_text() for p in out.glob("labels/*/*.txt")}
    images = {p.stem: p for p in out.glob("images/*/*.jpg")}
    assert set(labels) == set(images) == set(POSITIVES) | HARD_NEGATIVES
    for stem in HARD_NEGATIVES:
        assert labels[stem] == ""  # a background image: nothing of our classes here
    for stem, bbox in POSITIVES.items():
        image = cv2.imread(str(images[stem]))
        assert labels[stem] == yolo_label(bbox, (image.shape[1], image.shape[0]), 0) + "\n"
    data_yaml = (out / "data.yaml").read_text()
    assert "names:\n  0: car\n" in data_yaml
    manifest = (out / "manifest.csv").read_text().splitlines()
    assert manifest[0].startswith("image,split,label,event_id") and len(manifest) == 4
    assert sum(",hard_negative,cam-a/walk/5/warn," in line for line in manifest) == 1


def test_ultralytics_reads_the_exported_dataset(site, tmp_path):
    pytest.importorskip("ultralytics")
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    verdict_set.apply(site.database())
    out = tmp_path / "dataset"
    DatasetExport(site.database()).write_folder(out)
    data = check_det_dataset(str(out / "data.yaml"))
    assert data["names"] == {0: "car"} and data["nc"] == 1
    found = {}
    for split in {data["train"], data["val"]}:
        dataset = YOLODataset(img_path=split, data=data, task="detect", augment=False, imgsz=64, cache=False)
        found.update({label["im_file"].split("/")[-1][:-4]: label for label in dataset.labels})
    assert set(found) == set(POSITIVES) | HARD_NEGATIVES
    assert len(found["cam-a__walk__5__warn"]["cls"]) == 0
    assert found["cam-b__kerb__3__warn"]["cls"].ravel().tolist() == [0.0]


def test_the_web_export_is_the_same_dataset_as_a_zip_and_is_audited(site, as_user, tmp_path):
    verdict_set.apply(site.database())
    ada = as_user("ada")
    response = ada.post("/admin/export", data={"csrf": csrf_of(ada)})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    folder = tmp_path / "dataset"
    DatasetExport(site.database()).write_folder(folder)
    expected = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert {name: archive.read(name) for name in archive.namelist()} == expected
    [line] = [a for a in ada.app.state.services.verdicts.audit() if a.action == "export"]
    assert line.user_name == "ada" and "2 positive(s), 1 hard negative(s)" in line.detail
