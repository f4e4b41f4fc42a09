"""Patrol scenarios: a side-facing patrol camera passing the same street several times (each pass its own recording
with its own GPS track), real car and bike sprites standing at known world positions, and the ground truth of
digital chalking (DESIGN.md, "Patrol and aerial cameras") as it follows from what each pass shows.

Written per scenario, ``OUT/<name>/``: ``pass-K/video.mp4`` and ``pass-K/track.gpx`` for every pass, ``pass-K.yaml``
(a one-camera config: ``kind: vehicle``, ``gps``, ``gps_offset``, ``start_time``, ``mount``, ``geo_polygon`` zones)
and ``gt.json``. Run the passes in order into one out folder (the store keeps the chalk marks between runs)::

    streetorder process --config OUT/patrol/pass-1.yaml --out OUT/patrol/run   # then pass-2.yaml, ...
    streetorder evaluate events --gt OUT/patrol --pred OUT/patrol/run/events.jsonl

Example:
    >>> [(e["object"], e["type"], e["pass"]) for e in expected_events(patrol_scenario()) if e["object"] == "car-a"]
    [('car-a', 'warn', 2)]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import yaml

from detector.boxes import box_coverage
from evaluation.compose import encode
from evaluation.material import Material, found_on, looks_different
from evaluation.patrol_street import MOUNT, GpsNoise, Street, StreetCamera, StreetRenderer, Textures, write_gpx
from evaluation.scenario import COMPATIBLE, OCCLUDED_COVER
from evaluation.sprites import Sprite
from streams.files import VideoFile

WARN_AFTER = 480.0  # DESIGN.md defaults, left untouched in the configs
MATCH_RADIUS = 3.0
HEIGHT_M = {"car": 1.5, "bicycle": 1.05, "truck": 3.0, "bus": 3.0}
CST = timezone(timedelta(hours=8))
MIN_SHARPNESS = 0.6  # a sprite is preferred if it need not be enlarged more than 1 / this
MAX_TRIES = 40  # sprites tried per object before giving up
GPS_LEAD_S = 5  # the GPS track starts this long before the video and ends this long after it


@dataclass(frozen=True)
class Parked:
    """An object standing with its ground contact (bottom centre, the side facing the lane) at street point (s, d)
    on the passes in ``present``."""

    id: str
    class_name: str
    s: float
    d: float
    present: tuple[int, ...]
    zone: str | None = None
    rule: str | None = None
    unlike: str | None = None  # another object this one must look different from (a look-alike on its spot)
    note: str = ""


@dataclass(frozen=True)
class Occluder:
    """Something standing between the lane and the pavement on some passes (a bus): drawn, never scored."""

    id: str
    class_name: str
    s: float
    d: float
    length_m: float
    passes: tuple[int, ...]


@dataclass(frozen=True)
class GeoZone:
    id: str
    type: str
    s: tuple[float, float]
    d: tuple[float, float]


@dataclass(frozen=True)
class PatrolScenario:
    name: str
    title: str
    passes: tuple[datetime, ...]  # wall-clock start of each pass's video
    s_start: float  # where the patrol is when each video starts / ends (metres along the street)
    s_end: float
    zones: tuple[GeoZone, ...]
    objects: tuple[Parked, ...]
    occluders: tuple[Occluder, ...] = ()
    speed: float = 6.0
    fps: float = 5.0
    gains: tuple[float, ...] = (1.0, 0.93, 1.05, 0.97)  # each pass's light
    noise: GpsNoise = field(default_factory=GpsNoise)
    street: Street = field(default_factory=Street)
    seed: int = 0
    camera_id: str = "patrol-07"
    description: str = ""
    gps_error: float = 2.0  # the configs' patrol.gps_error: what the receiver's error is along the street

    @property
    def duration(self) -> float:
        """Seconds of video per pass."""
        return (self.s_end - self.s_start) / self.speed

    def s_at(self, t: float) -> float:
        """The patrol's true position along the street at media time ``t`` (GPS time = media time)."""
        return self.s_start + self.speed * t

    def t_at(self, s: float) -> float:
        """Media time at which the camera (looking square to the right) faces street position ``s``."""
        return (s - self.s_start) / self.speed

    def wall(self, k: int, t: float) -> datetime:
        return self.passes[k - 1] + timedelta(seconds=t)


KERB_SIDE_D = 5.5  # where the cars' lane-facing sides stand: mid-pavement (the zone is 3.5-8 m from the lane)
FORECOURT_D = 8.7  # a car on the private forecourt between the pavement zone (to 8 m) and the building line
GPS_TYPICAL = GpsNoise()  # about 3 m RMS, 5 m at most: a phone-grade receiver
GPS_GOOD = GpsNoise(sigma_m=0.7, white_m=0.15, max_m=2.0)  # about 1 m RMS: SBAS / dual-frequency


def patrol_scenario(name: str = "patrol", camera_id: str = "patrol-07", noise: GpsNoise = GPS_TYPICAL,
                    seed: int = 0) -> PatrolScenario:
    """The suite's patrol scenario: four passes ten minutes apart along a pavement with a bike area."""
    start = datetime(2026, 11, 23, 8, 0, tzinfo=CST)
    passes = tuple(start + timedelta(minutes=10 * k) for k in range(4))
    pavement = GeoZone("binhai-rd-south-pavement", "sidewalk", (10.0, 120.0), (3.5, 8.0))
    bikes = GeoZone("binhai-rd-south-bikes", "monitored_area", (125.0, 150.0), (3.5, 8.0))
    sidewalk, misparked = ("binhai-rd-south-pavement", "sidewalk_parking"), ("binhai-rd-south-bikes", "misparked_bike")
    d = KERB_SIDE_D
    objects = (
        Parked("car-d", "car", 7.5, d, (1, 2, 3, 4), note="2.5 m west of the pavement zone, along the street: never "
                                                            "an event (the kerb does not correct the GPS along it)"),
        Parked("car-h", "car", 108.0, FORECOURT_D, (1, 2, 3, 4),
               note="on the forecourt 0.7 m beyond the pavement zone's far edge, across the street: never an event"),
        Parked("car-a", "car", 24.0, d, (1, 2, 3, 4), *sidewalk, note="stays: warned on pass 2"),
        Parked("car-b", "car", 40.0, d, (1,), *sidewalk, note="leaves after pass 1: its mark is dropped"),
        Parked("car-c1", "car", 56.0, d, (1,), *sidewalk, note="replaced by car-c2 after pass 1: never warned"),
        Parked("car-c2", "car", 56.0, d, (2, 3, 4), *sidewalk, unlike="car-c1",
               note="a different car on car-c1's spot: chalked on pass 2, warned on pass 3"),
        Parked("car-e", "car", 74.0, d, (1, 2, 3, 4), *sidewalk,
               note="hidden by a bus on pass 2 (nothing changes), warned on pass 3"),
        Parked("car-f", "car", 92.0, d, (1, 2, 3), *sidewalk, note="warned on pass 2, gone on pass 4: cleared"),
        Parked("bike-g", "bicycle", 137.0, d, (1, 2, 3, 4), *misparked, note="misparked bike: warned on pass 2"),
    )
    bus = Occluder("bus", "truck", 74.0, 1.2, 14.0, (2,))
    error = f"about {noise.sigma_m * 2 ** 0.5:.0f} m RMS, {noise.max_m:g} m at most"
    return PatrolScenario(name, f"a patrol car passes a pavement every 10 minutes, GPS {error}", passes, -15.0,
                          165.0, (pavement, bikes), objects, (bus,), noise=noise, seed=seed, camera_id=camera_id,
                          gps_error=max(2.0, round(noise.max_m - 1.0)),
                          description="A side-facing patrol camera (1.6 m, pitch 12, yaw 90, hfov 95) passes a "
                                      f"pavement at 6 m/s every 10 minutes; GPS at 1 Hz, {error}, correlated "
                                      "over a minute.")


# -- ground truth of chalking -------------------------------------------------------------------------------------

def expected_events(scenario: PatrolScenario, hidden: dict[tuple[str, int], bool] | None = None) -> list[dict]:
    """DESIGN.md chalking on the truth: a rule-breaking object seen on two passes ``warn_after`` apart is warned on
    the later one (once); a spot seen with nothing (or something else) on it ends the mark (``clear`` if warned);
    a hidden spot changes nothing. ``ts`` is when the camera faced the object on that pass."""
    hidden = hidden or {}
    marks: dict[str, tuple[datetime, bool]] = {}  # object id -> (chalked at, warned)
    events = []
    ruled = [o for o in scenario.objects if o.rule]
    for k in range(1, len(scenario.passes) + 1):
        for obj in sorted(ruled, key=lambda o: o.s):
            when = scenario.wall(k, scenario.t_at(obj.s))
            if hidden.get((obj.id, k)):
                continue
            if k in obj.present:
                if obj.id not in marks:
                    marks[obj.id] = (when, False)
                elif not marks[obj.id][1] and (when - marks[obj.id][0]).total_seconds() >= WARN_AFTER:
                    marks[obj.id] = (marks[obj.id][0], True)
                    events.append(_event("warn", obj, k, when))
            elif obj.id in marks and marks.pop(obj.id)[1]:
                events.append(_event("clear", obj, k, when))
    return events


def iso(when: datetime) -> str:
    """ISO-8601 with offset, to the millisecond."""
    return when.isoformat(timespec="milliseconds")


def _event(kind: str, obj: Parked, k: int, when: datetime) -> dict:
    return {"type": kind, "rule": obj.rule, "zone": obj.zone, "pass": k, "ts": iso(when), "object": obj.id}


# -- rendering ----------------------------------------------------------------------------------------------------

class PatrolBuilder:
    """Render a ``PatrolScenario`` from the real material and check it with the real model."""

    def __init__(self, material: Material, verify_step: int = 1) -> None:
        self.material, self.verify_step = material, verify_step
        self.camera = StreetCamera()
        self.renderer = StreetRenderer(self.camera, Textures.load(material.data))

    def render(self, scenario: PatrolScenario, out: Path) -> dict:
        out.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(scenario.seed)
        sprites = self._choose_sprites(scenario, rng)
        noise = [rng.normal(0.0, 2.5, (*self.camera.size[::-1], 3)).astype(np.float32) for _ in range(6)]
        passes, seen = [], {}
        for k in range(1, len(scenario.passes) + 1):
            info, seen[k] = self._render_pass(scenario, k, sprites, noise, rng, out)
            passes.append(info)
        truth = ground_truth(scenario, sprites, passes, seen)
        (out / "gt.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
        return truth

    def _render_pass(self, scenario: PatrolScenario, k: int, sprites: dict[str, Sprite], noise: list[np.ndarray],
                     rng: np.random.Generator, out: Path) -> tuple[dict, dict[str, dict]]:
        """Pass ``k``'s video, GPS track and config; returns its description and what it showed of each object."""
        folder = out / f"pass-{k}"
        folder.mkdir(exist_ok=True)
        frames = self._frames(scenario, sprites, k)
        gain = scenario.gains[(k - 1) % len(scenario.gains)]
        images = ((t, self._image(scenario.s_at(t), placed, sprites, gain, noise[i % len(noise)]))
                  for i, (t, placed) in enumerate(frames))
        encode(images, folder / "video.mp4", scenario.fps)
        seconds = range(-GPS_LEAD_S, int(np.ceil(scenario.duration)) + GPS_LEAD_S + 1)
        errors = scenario.noise.sample(len(seconds), rng)
        fixes = write_gpx(folder / "track.gpx", scenario.street, scenario.passes[k - 1], scenario.s_at, seconds,
                          errors)
        config = yaml.safe_dump(pass_config(scenario, k), sort_keys=False, default_flow_style=None)
        (out / f"pass-{k}.yaml").write_text(config, encoding="utf-8")
        size = np.hypot(errors[:, 0], errors[:, 1])
        info = {"pass": k, "start": scenario.passes[k - 1].isoformat(), "duration": scenario.duration,
                "video": f"pass-{k}/video.mp4", "gps": f"pass-{k}/track.gpx", "config": f"pass-{k}.yaml",
                "frames": len(frames), "gps_error_m": {"mean": round(float(size.mean()), 2),
                                                       "max": round(float(size.max()), 2)}, "fixes": fixes}
        return info, self._visibility(scenario, frames, folder / "video.mp4")

    def _frames(self, scenario: PatrolScenario, sprites: dict[str, Sprite], k: int) -> list[tuple]:
        """Per frame: (t, [(name, box, depth, drawn)]) on pass ``k``; objects absent on the pass get the box they
        would have (``drawn`` False), to tell whether their spot was in view or hidden."""
        things = [(o.id, (o.s, o.d), HEIGHT_M[o.class_name], None, k in o.present) for o in scenario.objects]
        things += [(b.id, (b.s, b.d), HEIGHT_M[b.class_name], b.length_m, True) for b in scenario.occluders
                   if k in b.passes]
        frames = []
        for i in range(round(scenario.duration * scenario.fps) + 1):
            t = round(i / scenario.fps, 3)
            s_v = scenario.s_at(t)
            placed = []
            for name, spot, height, length, drawn in things:
                sprite = sprites[name]
                box = self.camera.box(spot, s_v, height, sprite.width / sprite.height, length)
                if box is not None:
                    placed.append((name, box, self.camera.depth((spot[0] - s_v, spot[1])), drawn))
            frames.append((t, placed))
        return frames

    def _image(self, s_v: float, placed: list[tuple], sprites: dict[str, Sprite], gain: float,
               noise: np.ndarray) -> np.ndarray:
        drawn = [(box, _resized(sprites[name], round(box[2] - box[0]), round(box[3] - box[1])), depth)
                 for name, box, depth, drawn in placed if drawn]
        return self.renderer.frame(s_v, drawn, gain, noise)

    def _visibility(self, scenario: PatrolScenario, frames: list[tuple], video: Path) -> dict[str, dict]:
        """Per object on one pass: frames with its spot in view, those hidden (covered by something nearer), and how
        many of its visible frames (every ``verify_step``-th) the real model finds it on, in the encoded video."""
        width = self.camera.size[0]
        kinds = {o.id: o.class_name for o in scenario.objects}
        stats = {name: {"frames_in_view": 0, "frames_hidden": 0, "found": 0, "checked": 0} for name in kinds}
        decoded = VideoFile(video, analysis_fps=scenario.fps)
        for index, ((t, placed), frame) in enumerate(zip(frames, decoded, strict=False)):
            image = frame.image if abs(frame.t - t) < 1e-3 else None  # a frame the decoder dropped: not checked
            found = None
            for name, box, depth, drawn in placed:
                if name not in kinds or not 0 <= (box[0] + box[2]) / 2 < width:
                    continue
                stat = stats[name]
                stat["frames_in_view"] += 1
                nearer = [b for _, b, d, on in placed if on and d < depth - 0.3]
                if nearer and float(box_coverage(np.asarray(box), np.asarray(nearer)).max()) >= OCCLUDED_COVER:
                    stat["frames_hidden"] += 1
                    continue
                if drawn and image is not None and index % self.verify_step == 0:
                    found = self.material.detector.detect(image) if found is None else found
                    hits = found[np.isin(found.class_name, COMPATIBLE[kinds[name]])]
                    stat["checked"] += 1
                    stat["found"] += found_on(box, hits.xyxy, kinds[name])
        return stats

    def _choose_sprites(self, scenario: PatrolScenario, rng: np.random.Generator) -> dict[str, Sprite]:
        chosen: dict[str, Sprite] = {}
        for obj in scenario.objects:
            unlike = [chosen[obj.unlike]] if obj.unlike else []
            chosen[obj.id] = self._detectable(obj, rng, unlike, list(chosen.values()))
        for bus in scenario.occluders:
            bank = self.material.sprites(bus.class_name)
            chosen[bus.id] = max(bank, key=lambda s: s.height)
        return chosen

    def _detectable(self, obj: Parked, rng: np.random.Generator, unlike: list[Sprite], used: list[Sprite]) -> Sprite:
        """A sprite the real model finds on the empty street with the camera facing the spot, unlike ``unlike``."""
        target = self.camera.focal * HEIGHT_M[obj.class_name] / self.camera.depth((0.0, obj.d))
        bank = [s for s in self.material.sprites(obj.class_name) if all(s is not u for u in used)]
        sharp = [s for s in bank if s.height >= MIN_SHARPNESS * target]  # cuts not blown up into a blur
        bank = sharp or bank
        tried = 0
        for index in rng.permutation(len(bank)):
            sprite = bank[int(index)]
            if any(not looks_different(sprite, other) for other in unlike):
                continue
            tried += 1
            if tried > MAX_TRIES:
                break
            box = self.camera.box((obj.s, obj.d), obj.s, HEIGHT_M[obj.class_name], sprite.width / sprite.height)
            rgba = _resized(sprite, round(box[2] - box[0]), round(box[3] - box[1]))
            hits = 0
            for seed in range(3):
                noise = np.random.default_rng(seed).normal(0, 2.5, (*self.camera.size[::-1], 3)).astype(np.float32)
                image = self.renderer.frame(obj.s, [(box, rgba, 1.0)], 1.0, noise)
                hits += self.material.detected(image, box, COMPATIBLE[obj.class_name])
            if hits >= 2:
                return sprite
        raise ValueError(f"patrol object {obj.id!r}: no {obj.class_name} sprite is detected by the model at "
                         f"{obj.d} m; move it nearer the lane or add footage with such objects")


def _resized(sprite: Sprite, width: int, height: int) -> np.ndarray:
    return cv2.resize(sprite.rgba, (max(width, 2), max(height, 2)), interpolation=cv2.INTER_LINEAR)


# -- outputs ------------------------------------------------------------------------------------------------------

def pass_config(scenario: PatrolScenario, k: int) -> dict:
    """The one-camera config of pass ``k``: default dwell settings; the GPS aligned to the kerb (the pavement's near
    edge is one) and ``patrol.gps_error`` set to the receiver's error, as the docs tell a user to."""
    m = MOUNT
    zones = [{"id": z.id, "type": z.type, "geo_polygon": scenario.street.rectangle(*z.s, *z.d)}
             for z in scenario.zones]
    return {"cameras": [{
        "id": scenario.camera_id, "kind": "vehicle", "source": f"pass-{k}/video.mp4", "gps": f"pass-{k}/track.gpx",
        "gps_offset": "0s", "start_time": scenario.passes[k - 1].isoformat(),
        "mount": {"height": m.height, "pitch": m.pitch, "yaw": m.yaw, "hfov": m.hfov}, "zones": zones,
    }], "patrol": {"align_to_kerb": True, "gps_error": scenario.gps_error}}


def ground_truth(scenario: PatrolScenario, sprites: dict[str, Sprite], passes: list[dict],
                 seen: dict[int, dict[str, dict]]) -> dict:
    hidden = {(name, k): s["frames_in_view"] > 0 and s["frames_hidden"] == s["frames_in_view"] for k, v in seen.items()
              for name, s in v.items()}
    expected = expected_events(scenario, hidden)
    objects = []
    for obj in scenario.objects:
        lon, lat = scenario.street.lonlat(obj.s, obj.d)
        found = sum(seen[k][obj.id]["found"] for k in seen if k in obj.present)
        checked = sum(seen[k][obj.id]["checked"] for k in seen if k in obj.present)
        objects.append({
            "id": obj.id, "class_name": obj.class_name, "zone": obj.zone, "rule": obj.rule,
            "lon": round(lon, 7), "lat": round(lat, 7), "s": obj.s, "d": obj.d, "height_m": HEIGHT_M[obj.class_name],
            "passes": [{"pass": k, "present": k in obj.present, "hidden": hidden[(obj.id, k)],
                        "t": round(scenario.t_at(obj.s), 3), "ts": iso(scenario.wall(k, scenario.t_at(obj.s))),
                        "gps_error_m": _error_at(passes[k - 1]["fixes"], scenario.t_at(obj.s)),
                        **seen[k][obj.id]} for k in seen],
            "detected_rate": round(found / checked, 3) if checked else None,
            "expected": [e for e in expected if e["object"] == obj.id],
            "sprite": sprites[obj.id].source, "note": obj.note,
        })
    return {
        "scenario": scenario.name, "kind": "patrol", "title": scenario.title, "description": scenario.description,
        "camera_id": scenario.camera_id, "frame_size": list(StreetCamera().size), "fps": scenario.fps,
        "speed_mps": scenario.speed, "mount": {"height": MOUNT.height, "pitch": MOUNT.pitch, "yaw": MOUNT.yaw,
                                               "hfov": MOUNT.hfov},
        "street": {"origin": [scenario.street.lon, scenario.street.lat], "heading": 90.0,
                   "s_start": scenario.s_start, "s_end": scenario.s_end},
        "warn_after": WARN_AFTER, "match_radius": MATCH_RADIUS,
        "duration": scenario.duration * len(scenario.passes), "passers": 0,
        "passes": passes,
        "zones": [{"id": z.id, "type": z.type, "s": list(z.s), "d": list(z.d)} for z in scenario.zones],
        "occluders": [{"id": b.id, "class_name": b.class_name, "s": b.s, "d": b.d, "length_m": b.length_m,
                       "passes": list(b.passes), "sprite": sprites[b.id].source} for b in scenario.occluders],
        "objects": objects,
        "expected": expected,
    }


def _error_at(fixes: list[dict], t: float) -> list[float]:
    """The GPS error (east, north metres) of the fix nearest media time ``t``: why a sighting may be off."""
    return min(fixes, key=lambda f: abs(f["t"] - t))["error_m"]


# Rendered only when named (``--only``): each is run pass by pass, not through suite.yaml. ``patrol-1m`` differs
# only in its GPS (and its camera, so both can share a store): it measures the chalking apart from GPS error.
PATROL_SCENARIOS = {
    "patrol": patrol_scenario,
    "patrol-1m": partial(patrol_scenario, "patrol-1m", "patrol-08", GPS_GOOD, seed=1),
}
