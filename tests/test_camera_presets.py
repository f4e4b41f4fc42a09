"""Saved reference views and PTZ presets (issue 16), through the whole CameraPipeline.

The frames are textured static scenes (tests.test_camera_moves) seen through known shifts; a PTZ camera's two
presets look at two different scenes. Detections are replayed by hand and move with the view.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from events.evidence import EvidenceWriter
from events.recorder import EventRecorder
from events.store import EventStore
from streams import view_stages
from streams.frames import Frame
from streams.health import CameraCounters, LiveMetrics
from streams.pipeline import CameraPipeline
from tests.replay import CAR, SIDEWALK, Thing, camera_config, detections
from tests.test_camera_moves import scene, view_of
from zones.config import ConfigError, parse_config

SOUTH_KERB = {"id": "kerb-s", "type": "sidewalk", "polygon": [[300, 230], [640, 230], [640, 330], [300, 330]],
              "warn_after": "25s"}
SOUTH_CAR = Thing((420, 210, 520, 280), track=2)  # ground point (470, 280): on the south kerb
WORLDS = {"north": scene(1), "south": scene(3)}


def write_reference(folder: Path, name: str, image: np.ndarray) -> str:
    """Save ``image`` as a JPEG reference view in ``folder/refs``; its path relative to ``folder``."""
    (folder / "refs").mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "refs" / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return f"refs/{name}"


def ptz_raw(folder: Path, north_zone: dict | None = None) -> dict:
    """A PTZ camera with presets north (tests.replay's sidewalk) and south (SOUTH_KERB), references saved."""
    presets = [{"id": name, "reference": write_reference(folder, f"{name}.jpg", view_of(world, 0, 0)),
                "zones": [zone]}
               for (name, world), zone in zip(WORLDS.items(), (north_zone or SIDEWALK, SOUTH_KERB), strict=True)]
    return {"plates": {"enabled": False}, "cameras": [{"id": "ptz-1", "source": "video.mp4", "presets": presets}]}


class Tour:
    """A pipeline over frames at 2 fps: ``aim(t)`` names the preset shown and the view's shift off it (None:
    elsewhere); the north car stands on its kerb whenever north is shown, the south car whenever south is."""

    def __init__(self, tmp_path: Path, raw: dict):
        self.config = parse_config(raw, tmp_path / "cameras.yaml")
        camera = self.config.cameras[0]
        recorder = EventRecorder(camera.id, EvidenceWriter(tmp_path, camera), EventStore(tmp_path / "events.db"))
        self.pipeline = CameraPipeline(self.config, camera, recorder)
        self.events: list[tuple[float, str, str, str, float, float]] = []  # frame t, type, zone, object, t, since
        self.presets: dict[float, str | None] = {}
        self.views: dict[float, str | None] = {}

    def run(self, end: float, aim: Callable[[float], tuple[str, float, float] | None]) -> Tour:
        for index in range(int(end * 2)):
            t = index / 2
            shown = aim(t)
            if shown is None:
                image, things = view_of(scene(2), 0, 0), []
            else:
                name, dx, dy = shown
                image = view_of(WORLDS[name], dx, dy)
                things = [(CAR if name == "north" else SOUTH_CAR).moved(dx, dy)]
            for event in self.pipeline.step(Frame(image, t, index, None), detections(things)):
                self.events.append((t, event.type, event.zone_id, event.object_id, event.t, event.since_t))
            self.presets[t], self.views[t] = self.pipeline.preset, self.pipeline.view_state
        return self

    def of(self, kind: str, zone: str) -> list[tuple]:
        return [e for e in self.events if e[1] == kind and e[2] == zone]


def tour(stays: list[tuple[float, str]]) -> Callable[[float], tuple[str, float, float]]:
    """The preset shown at ``t`` for ``stays`` [(start, preset), ...], each until the next one starts."""
    def aim(t: float) -> tuple[str, float, float]:
        return next(name for start, name in reversed(stays) if t >= start), 0.0, 0.0
    return aim


def test_a_ptz_touring_two_presets_warns_each_presets_car_on_time_and_clears_neither(tmp_path):
    stays = [(0, "north"), (50, "south"), (90, "north"), (140, "south"), (180, "north")]
    run = Tour(tmp_path, ptz_raw(tmp_path, {**SIDEWALK, "warn_after": "100s"})).run(220, tour(stays))
    assert run.presets[30.0] == "north" and run.presets[70.0] == "south" and run.presets[120.0] == "north"
    assert set(run.views.values()) == {"ok"}

    (north,) = run.of("warn", "walk")  # rested from 0 s, 40 s of it away at south: warned at 100 s, at north
    assert north[5] == 0.0 and north[4] == pytest.approx(100.0, abs=1.0)
    (south,) = run.of("warn", "kerb-s")  # rested from its first sight at 50 s: warned 25 s later, at south
    assert south[5] == pytest.approx(50.0, abs=1.0) and south[4] == pytest.approx(south[5] + 25.0, abs=1.0)
    assert run.presets[south[0]] == "south"
    assert north[3] != south[3]
    assert not [e for e in run.events if e[1] == "clear"]  # 40 s away is more than clear_after, less than max_gap
    assert {e[3] for e in run.events} == {north[3], south[3]}  # one object each all along

    # without presets the north car "leaves" whenever the camera shows south: never warned
    (tmp_path / "blind").mkdir()
    blind = Tour(tmp_path / "blind", {"plates": {"enabled": False}, **camera_config(
        [{**SIDEWALK, "warn_after": "100s"}], detect={"view_check": False})})
    assert not blind.run(220, tour(stays)).of("warn", "walk")


def test_a_preset_not_shown_for_longer_than_max_gap_ends_its_objects_honestly(tmp_path):
    stays = [(0, "north"), (120, "south"), (260, "north")]
    run = Tour(tmp_path, ptz_raw(tmp_path, {**SIDEWALK, "warn_after": "100s"})).run(280, tour(stays))
    (warn,) = run.of("warn", "walk")
    assert warn[4] == pytest.approx(100.0, abs=1.0)
    (clear,) = run.of("clear", "walk")
    max_gap = run.config.resting.max_gap
    assert clear[4] == 119.5  # at the car's last sighting, as after an outage ...
    assert 119.5 + max_gap < clear[0] <= 119.5 + max_gap + 1.0  # ... once south had been shown for max_gap
    assert clear[3] == warn[3]
    assert run.of("warn", "kerb-s")  # south's own car, meanwhile


def test_a_saved_reference_re_anchors_the_zones_of_a_camera_that_starts_off_its_aim(tmp_path):
    world = scene(1)
    raw = camera_config([SIDEWALK], reference=write_reference(tmp_path, "cam-01.jpg", view_of(world, 0, 0)))
    config = parse_config({**raw, "plates": {"enabled": False}}, tmp_path / "cameras.yaml")
    camera = config.cameras[0]
    assert camera.reference == str(tmp_path / "refs" / "cam-01.jpg")  # relative to the config file
    recorder = EventRecorder(camera.id, EvidenceWriter(tmp_path, camera), EventStore(tmp_path / "events.db"))
    pipeline = CameraPipeline(config, camera, recorder)
    events = []
    for index in range(160):  # 80 s, the camera 40 px right and 15 px down of its saved aim from the start
        t = index / 2
        events += pipeline.step(Frame(view_of(world, 40, 15), t, index, None), detections([CAR.moved(40, 15)]))
        if index == 0:
            assert pipeline.view_state == "shifted"
    moved = np.asarray(pipeline.monitor.zone("walk").polygon)
    assert moved == pytest.approx(np.asarray(SIDEWALK["polygon"]) + np.array([40, 15]), abs=3.0)
    assert [(e.type, e.t) for e in events] == [("warn", pytest.approx(60.0, abs=1.0))]


@pytest.mark.parametrize("content", [None, b"not an image"])
def test_a_missing_or_unreadable_reference_is_one_sentence_naming_the_camera_and_the_file(tmp_path, content):
    if content is not None:
        (tmp_path / "cam-01.jpg").write_bytes(content)
    with pytest.raises(ConfigError) as info:
        parse_config(camera_config([SIDEWALK], reference="cam-01.jpg"), tmp_path / "cameras.yaml")
    message = str(info.value)
    assert "\n" not in message and "camera 'cam-01'" in message and "cam-01.jpg" in message
    assert ("no such image" if content is None else "cannot be read as an image") in message


def test_preset_config_mistakes_are_one_sentence_each(tmp_path):
    raw = ptz_raw(tmp_path)
    presets = raw["cameras"][0]["presets"]
    cases = [
        ({**presets[1], "zones": [{**SOUTH_KERB, "id": "walk"}]}, "zone id 'walk' is used in presets 'north' and "
                                                                  "'south'"),
        ({key: v for key, v in presets[1].items() if key != "reference"}, "preset 'south': 'reference' is missing"),
        ({**presets[1], "id": "north"}, "preset id 'north' is used twice"),
    ]
    for second, expected in cases:
        with pytest.raises(ConfigError) as info:
            parse_config({**raw, "cameras": [{**raw["cameras"][0], "presets": [presets[0], second]}]},
                         tmp_path / "cameras.yaml")
        assert expected in str(info.value) and "camera 'ptz-1'" in str(info.value)
        assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="keeps its zones under each preset"):
        parse_config({**raw, "cameras": [{**raw["cameras"][0], "zones": [SIDEWALK]}]}, tmp_path / "cameras.yaml")
    config = parse_config(raw, tmp_path / "cameras.yaml")
    assert [z.id for z in config.cameras[0].zones] == ["walk", "kerb-s"]  # every preset's, for units and checks


def test_each_presets_objects_and_timers_outlive_a_restart_in_their_own_preset(tmp_path):
    stays = [(0, "north"), (30, "south")]
    run = Tour(tmp_path, ptz_raw(tmp_path)).run(50, tour(stays))
    memory, monitor = view_stages.snapshot(run.pipeline.stages)
    again = Tour(tmp_path, ptz_raw(tmp_path))
    view_stages.restore(again.pipeline.stages, memory, monitor, 1)
    for name in WORLDS:
        before, after = run.pipeline.stages[name], again.pipeline.stages[name]
        assert [o.object_id for o in after.memory.objects] == [o.object_id for o in before.memory.objects] != []
        assert after.monitor.snapshot() == before.monitor.snapshot()
    assert again.pipeline.memory.next_object_id == run.pipeline.memory.next_object_id


def test_metrics_show_the_preset_shown():
    text = LiveMetrics(lambda: [CameraCounters("ptz-1", view="ok", preset="south"),
                                CameraCounters("cam-01", view="moved")]).text()
    assert 'streetorder_camera_preset{camera="ptz-1",preset="south"} 1.0' in text
    assert 'streetorder_camera_preset{camera="cam-01"' not in text
