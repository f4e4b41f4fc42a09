"""contracts.paths.under, the one way ids become paths, and the ids the loader and the zone editor accept."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.errors import UserError
from contracts.paths import PathEscapes, under
from events.evidence import EvidenceWriter
from events.patrol_evidence import PatrolEvidence
from events.video import AnnotatedVideo
from tests.test_config import error_of
from zones.config import parse_config
from zones.dwell import StateChange

SQUARE = [[0, 0], [100, 0], [100, 100], [0, 100]]


def test_under_joins_plain_parts(tmp_path):
    expected = tmp_path.resolve() / "evidence/cam-a/walk/1-warn.jpg"
    assert under(tmp_path, "evidence", "cam-a", "walk", "1-warn.jpg") == expected
    assert under(tmp_path, "evidence/cam-a/walk/1-warn.jpg") == expected
    assert under(tmp_path, "...x", "a.b") == tmp_path.resolve() / "...x/a.b"


@pytest.mark.parametrize("parts", [("..",), (".",), ("evidence", ".."), ("evidence", "..", "..", "x.jpg"),
                                   ("a/../../x",), ("/etc/passwd",), ("evidence", "/tmp"), ("",), ("a\x00b",),
                                   ("C:/x",), ("\\\\server\\share",), ("a\\..\\..\\x",)])
def test_under_refuses_dots_absolute_and_empty_parts(tmp_path, parts):
    with pytest.raises(PathEscapes) as info:
        under(tmp_path / "out", *parts)
    assert isinstance(info.value, UserError) and "folder" in str(info.value)


def test_under_refuses_a_symbolic_link_out_of_the_root(tmp_path):
    root, outside = tmp_path / "out", tmp_path / "elsewhere"
    (root / "evidence").mkdir(parents=True)
    outside.mkdir()
    (root / "evidence" / "cam-a").symlink_to(outside)
    with pytest.raises(PathEscapes, match="symbolic link"):
        under(root, "evidence", "cam-a", "walk", "1-warn.jpg")
    (root / "evidence" / "inside").symlink_to(root / "evidence")  # a link that stays in is fine
    assert under(root, "evidence", "inside", "x.jpg") == (root / "evidence" / "x.jpg").resolve()


@pytest.mark.parametrize("bad", [".", "..", "..."])
def test_the_loader_refuses_camera_and_zone_ids_made_of_dots(bad):
    expected = "ids may use only letters, digits, '.', '_' and '-', and cannot be '.' or '..'"
    camera = error_of({"cameras": [{"id": bad, "source": "a.mp4"}]})
    zone = error_of({"cameras": [{"id": "cam-01", "source": "a.mp4",
                                  "zones": [{"id": bad, "type": "sidewalk", "polygon": SQUARE}]}]})
    assert expected in camera and f"camera {bad!r}" in camera
    assert expected in zone and f"zone {bad!r}" in zone


def test_the_loader_still_accepts_ids_with_dots_among_other_characters():
    config = parse_config({"cameras": [{"id": ".cam.01", "source": "a.mp4",
                                        "zones": [{"id": "walk..east", "type": "sidewalk", "polygon": SQUARE}]}]})
    assert config.cameras[0].id == ".cam.01" and config.cameras[0].zones[0].id == "walk..east"


def _camera(camera_id: str, zone_id: str):
    """A valid camera whose ids are then set as a damaged store or a caller bypassing the loader could set them."""
    camera = parse_config({"cameras": [{"id": "cam-01", "source": "a.mp4",
                                        "zones": [{"id": "walk", "type": "sidewalk", "polygon": SQUARE}]}]}).cameras[0]
    camera.zones[0].id = zone_id
    camera.id = camera_id
    return camera


@pytest.mark.parametrize(("camera_id", "zone_id"), [("..", "walk"), ("cam-01", ".."), (".", ".")])
def test_evidence_writers_never_write_outside_the_output_folder(tmp_path, camera_id, zone_id):
    out = tmp_path / "a" / "out"
    out.mkdir(parents=True)
    change = StateChange("warn", "sidewalk_parking", zone_id, "1", "car", 10.0, 0.0, (10, 10, 50, 50), 0.9)
    image = np.zeros((100, 100, 3), np.uint8)
    writer = EvidenceWriter(out, _camera(camera_id, zone_id))
    with pytest.raises(PathEscapes):
        writer.save(change, writer.take(change, image, 10.0, None))
    with pytest.raises(PathEscapes):
        PatrolEvidence(out, camera_id).write(zone_id, "m1", "warn", image)
    with pytest.raises(PathEscapes):
        PatrolEvidence(out, "cam-01").remove("../../x.jpg")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []


def test_evidence_paths_keep_their_relative_form(tmp_path):
    change = StateChange("warn", "sidewalk_parking", "walk", "7", "car", 10.0, 0.0, (10, 10, 50, 50), 0.9)
    image = np.zeros((100, 100, 3), np.uint8)
    writer = EvidenceWriter(tmp_path, _camera("cam-01", "walk"))
    paths = writer.save(change, writer.take(change, image, 10.0, None))
    assert paths == {"snapshot": "evidence/cam-01/walk/7-warn.jpg", "crop": "evidence/cam-01/walk/7-warn-crop.jpg"}
    assert (tmp_path / paths["crop"]).is_file()
    assert PatrolEvidence(tmp_path, "cam-01").write("walk", "m1", "warn", image) == "evidence/cam-01/walk/m1-warn.jpg"


def test_the_annotated_video_stays_in_the_output_folder(tmp_path):
    video = AnnotatedVideo.in_folder(tmp_path / "out", 2.0, _camera("cam-01", "walk"))
    assert video.path == tmp_path.resolve() / "out/annotated/cam-01.mp4"
    with pytest.raises(PathEscapes):
        AnnotatedVideo.in_folder(tmp_path / "out", 2.0, _camera("../../x", "walk"))
    assert not (tmp_path / "x.mp4").exists()
