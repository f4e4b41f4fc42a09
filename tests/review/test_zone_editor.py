"""The zone editor's saving: the operator's YAML edited in place, refused with the loader's own sentences."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from detector.view import ViewCheck, ViewReference
from review.zone_editor import ZoneEdit, ZoneEditError, ZoneFile
from streams.config_rules import PipelineConfigRules
from tests.review.conftest import csrf_of
from tests.review.site import CLIP
from zones.config import ConfigError, load_config, parse_config

WALK = [(540, 140), (640, 140), (640, 200), (540, 200)]
KERB = [(330, 120), (440, 120), (440, 175), (330, 175)]
NEW = [(100, 250), (220, 250), (230, 330), (90, 330)]


def cam_a_edits(**changes) -> list[ZoneEdit]:
    """cam-a's zones after an edit: walk moved and warned after 90 s, far-kerb deleted, a new bike area."""
    edits = {"walk": ZoneEdit("walk", "sidewalk", [(530, 140), *WALK[1:]], "90s"),
             "bikes": ZoneEdit("bikes", "monitored_area", NEW, None)}
    edits.update(changes)
    return list(edits.values())


def loader_error(config_path: Path, camera: int, zone: dict) -> str:
    """What load_config says about the file with ``zone`` appended to a camera's zones."""
    raw = yaml.safe_load(config_path.read_text())
    raw["cameras"][camera]["zones"].append(zone)
    with pytest.raises(ConfigError) as info:
        parse_config(raw, config_path)
    return str(info.value)


def _zone_line(config_path: Path, camera_id: str, zone_id: str) -> int:
    """The 1-based line of ``- id: ZONE`` under the camera in the file as it is now."""
    lines = config_path.read_text().splitlines()
    start = next(i for i, text in enumerate(lines) if f"id: {camera_id}" in text)
    return next(i for i, text in enumerate(lines[start:], start) if f"id: {zone_id}" in text) + 1


def test_saving_edits_the_file_in_place_and_keeps_comments_and_order(site):
    zones = ZoneFile(site.config_path, PipelineConfigRules())
    before = site.config_path.read_text()
    result = zones.save("cam-a", cam_a_edits(), zones.version(), (640, 352))
    assert (result.added, result.changed, result.removed) == (["bikes"], ["walk"], ["far-kerb"])
    text = site.config_path.read_text()
    for comment in ("# Test site: two cameras.", "# the bureau's rule", "# the east sidewalk"):
        assert comment in text
    assert text[text.index("  - id: cam-b"):] == before[before.index("  - id: cam-b"):]  # untouched camera
    assert "        polygon: [[530, 140], [640, 140], [640, 200], [540, 200]]\n        warn_after: 90s\n" in text
    assert "      - id: bikes\n        type: monitored_area\n        polygon: [[100, 250], [220, 250]" in text
    camera = load_config(site.config_path).cameras[0]
    assert [z.id for z in camera.zones] == ["walk", "bikes"]
    assert camera.zones[0].warn_after == 90.0 and camera.zones[1].warn_after is None
    assert text.index("name: Main St pole") < text.index("location: Main St")  # key order as written


def test_an_unchanged_save_rewrites_nothing(site):
    zones = ZoneFile(site.config_path, PipelineConfigRules())
    before = site.config_path.read_text()
    edits = [ZoneEdit(z["id"], z["type"], z["polygon"], z["warn_after"]) for z in zones.zones_of("cam-b")]
    result = zones.save("cam-b", edits, zones.version())
    assert (result.added, result.changed, result.removed) == ([], [], [])
    assert site.config_path.read_text() == before


@pytest.mark.parametrize(("edit", "zone"), [
    (ZoneEdit("walk", "sidewalk", [(540, 140), (640, 200), (640, 140), (540, 200)]),
     {"id": "walk2", "type": "sidewalk", "polygon": [[540, 140], [640, 200], [640, 140], [540, 200]]}),
    (ZoneEdit("walk", "sidewalks", WALK), {"id": "walk2", "type": "sidewalks", "polygon": [list(p) for p in WALK]}),
    (ZoneEdit("walk", "sidewalk", WALK, "soon"),
     {"id": "walk2", "type": "sidewalk", "polygon": [list(p) for p in WALK], "warn_after": "soon"}),
    (ZoneEdit("walk", "sidewalk", WALK[:2]),
     {"id": "walk2", "type": "sidewalk", "polygon": [list(p) for p in WALK[:2]]}),
])
def test_refusals_are_the_loaders_own_sentences(site, edit, zone):
    zones = ZoneFile(site.config_path, PipelineConfigRules())
    before = site.config_path.read_text()
    with pytest.raises(ZoneEditError) as info:
        zones.save("cam-a", [edit], zones.version())
    expected = loader_error(site.config_path, 0, zone).replace("zone 'walk2'", "zone 'walk'")
    sentence, line = re.fullmatch(r"(.*) \(line (\d+)\)", str(info.value), re.S).groups()
    assert sentence == expected  # the loader's sentence, and the line of the edited file it is about
    assert _zone_line(site.config_path, "cam-a", "walk") <= int(line)
    assert str(info.value).startswith(f"{site.config_path}: camera 'cam-a', zone 'walk': ")
    assert site.config_path.read_text() == before


def test_a_zone_outside_the_frame_is_refused_as_the_pipeline_would(site):
    zones = ZoneFile(site.config_path, PipelineConfigRules())
    with pytest.raises(ZoneEditError, match=r"zone 'walk': point \(700, 140\) lies outside the 640x352 frame"):
        zones.save("cam-a", [ZoneEdit("walk", "sidewalk", [(540, 140), (700, 140), (640, 200)])], zones.version(),
                   (640, 352))


def test_a_save_from_a_stale_editor_or_with_twin_ids_is_refused(site):
    zones = ZoneFile(site.config_path, PipelineConfigRules())
    stale = zones.version()
    zones.save("cam-a", cam_a_edits(), stale)
    with pytest.raises(ZoneEditError, match="the file changed since this editor was opened"):
        zones.save("cam-a", cam_a_edits(), stale)
    with pytest.raises(ZoneEditError, match="zone id 'walk' is used twice"):
        zones.save("cam-a", [ZoneEdit("walk", "sidewalk", WALK), ZoneEdit("walk", "ignore", KERB)], zones.version())


def test_the_api_saves_reports_refusals_and_audits(site, as_user):
    ada = as_user("ada")
    token = csrf_of(ada)
    version = ZoneFile(site.config_path, PipelineConfigRules()).version()
    body = {"version": version, "zones": [{"id": "walk", "type": "no_vending", "polygon": WALK, "warn_after": "3m"}]}
    answer = ada.post("/api/admin/zones/cam-a", json=body, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"].startswith("Saved to cameras.yaml: camera cam-a: changed walk; removed far-kerb")
    assert load_config(site.config_path).cameras[0].zones[0].type == "no_vending"
    body = {"version": answer.json()["version"], "zones": [{"id": "walk", "type": "pavement", "polygon": WALK}]}
    refused = ada.post("/api/admin/zones/cam-a", json=body, headers={"X-CSRF-Token": token})
    assert refused.status_code == 422
    assert re.search(r"type: unknown zone type 'pavement'; use one of sidewalk, no_vending, bike_parking, "
                     r"monitored_area, ignore \(line \d+\)$", refused.json()["error"])
    [line] = [a for a in ada.app.state.services.verdicts.audit() if a.action == "zones_saved"]
    assert line.user_name == "ada" and "changed walk" in line.detail


def test_the_editor_picture_is_a_clean_video_frame_or_the_newest_snapshot(site, as_user):
    ada = as_user("ada")
    page = ada.get("/admin/zones/cam-b").text  # an RTSP camera: the newest evidence photo of it
    assert "newest evidence photo" in page and "640x352" in page
    picture = ada.get("/admin/zones/cam-b/picture")
    assert picture.headers["content-type"] == "image/jpeg" and picture.content[:2] == b"\xff\xd8"
    page = ada.get("/admin/zones/cam-a").text
    if CLIP.is_file():
        assert "first frame of the camera&#39;s video file (640x352)" in page
    else:
        assert "newest evidence photo" in page
    assert ada.get("/admin/zones/cam-z").status_code == 404


def test_a_save_over_the_video_frame_writes_it_as_the_cameras_reference_view(site):
    if not CLIP.is_file():
        pytest.skip(f"{CLIP} is absent: cam-a has no video frame to save")
    zones = ZoneFile(site.config_path, PipelineConfigRules())
    reference = site.config_path.parent / "cameras" / "cam-a.jpg"
    before = site.config_path.read_text()
    crossed = ZoneEdit("walk", "sidewalk", [(540, 140), (640, 200), (640, 140), (540, 200)])
    with pytest.raises(ZoneEditError):
        zones.save("cam-a", [crossed], zones.version(), (640, 352))
    assert site.config_path.read_text() == before and not reference.exists()  # a refused save writes no image

    zones.save("cam-a", cam_a_edits(), zones.version(), (640, 352))
    text = site.config_path.read_text()
    assert "    location: Main St / 3rd Ave\n    reference: cameras/cam-a.jpg\n    zones:\n" in text
    assert load_config(site.config_path).cameras[0].reference == str(reference.resolve())
    first = PipelineConfigRules().first_frame(site.config_path, "cam-a")
    saved = cv2.imread(str(reference))
    assert saved.shape == first.shape and np.abs(saved.astype(int) - first).mean() < 3  # that frame, as a JPEG
    assert ViewCheck(ViewReference.from_frame(saved)).check(first).state == "ok"
    assert "reference view" in zones.picture("cam-a", lambda: None).origin  # the editor now draws on it

    zones.save("cam-a", cam_a_edits(bikes=ZoneEdit("bikes", "monitored_area", NEW[::-1], None)), zones.version())
    assert site.config_path.read_text().count("reference:") == 1  # kept, not written again
