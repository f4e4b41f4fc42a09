"""One scenario: what rests where and when, what passes by, how it is filmed; rendered to a directory with
``video.mp4``, ``cameras.yaml`` (the scenario's zones, default dwell settings) and ``gt.json`` (exact ground truth).

Ground truth, per resting object: class, the zone and rule it breaks (or none), rest start and end, its exact box
at rest (the pasted sprite's box, in the reference view's pixels), the expected outcome (warn time ``rest_start +
warn_after``; clear time: the last moment it was there; or no event), the intervals it was hidden, and the share of
sampled frames on which the real model found it (``detected_rate``, measured on the encoded video). A scenario's
``aim`` (``evaluation.aim``) moves the camera; ``gt.json`` keeps it, so a scorer can find the boxes in the frame.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import yaml
from shapely.geometry import Point, Polygon

from detector.boxes import box_coverage
from evaluation.aim import Aim, frame_box, moved_intervals, piece_at
from evaluation.compose import Actor, Composer, Lighting, Path_, daylight, encode, frame_times, stay, travel
from evaluation.material import Material, Scene, found_on, looks_different
from evaluation.sprites import Sprite
from streams.files import VideoFile

WARN_AFTER = 480.0  # DESIGN.md defaults; the scenarios' configs leave them untouched
CLEAR_AFTER = 30.0
MAX_GAP = 120.0  # resting.max_gap: a camera away (moved) longer than this ends its objects
VERIFY_EVERY_S = 5.0
OCCLUDED_COVER = 0.3  # a resting object this much covered by something nearer counts as hidden
COMPATIBLE = {"car": ("car", "truck", "bus"), "truck": ("truck", "car", "bus"), "bus": ("bus", "truck", "car"),
              "bicycle": ("bicycle", "motorcycle"), "person": ("person",), "umbrella": ("umbrella",)}


@dataclass
class Rest:
    """An object that comes to rest: drives or walks in, stays on ``spot`` (its ground point), leaves."""

    id: str
    class_name: str
    spot: tuple[float, float]
    rest_start: float
    rest_end: float | None  # None: still there when the video ends
    zone: str | None = None  # the violation zone it rests in, None if it breaks no rule
    rule: str | None = None
    enter: list[tuple[float, float]] = field(default_factory=list)  # path leading to the spot
    leave: list[tuple[float, float]] = field(default_factory=list)
    speed_mps: float = 4.0
    unlike: str | None = None  # id of another Rest this one must look different from (a swap)
    note: str = ""


@dataclass
class Traffic:
    """Things passing through along ``paths``, ``per_minute`` on average, each at ``speed_mps``."""

    class_name: str
    paths: list[list[tuple[float, float]]]
    per_minute: float
    speed_mps: float
    stops: list[tuple[float, float]] = field(default_factory=list)  # windows with no new arrivals (a stopped bus)


@dataclass
class Scenario:
    name: str
    title: str
    scene: str
    duration: float
    fps: float
    zones: list[dict]
    rests: list[Rest]
    traffic: list[Traffic] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    lighting: Lighting = daylight
    lighting_note: str = "daylight"
    noise_sigma: float = 2.5
    crf: int = 26
    seed: int = 0
    description: str = ""
    aim: list[Aim] = field(default_factory=list)  # where the camera looks (default: its reference view throughout)


@dataclass
class ObjectTruth:
    id: str
    class_name: str
    rule: str | None
    zone: str | None
    rest_start: float
    rest_end: float | None
    box: list[float]
    expected: dict  # {"warn": t or None, "clear": t or None}
    hidden: list[list[float]]
    detected_rate: float | None
    sprite: str
    note: str


def expected_outcome(rest: Rest, duration: float, moved: list[tuple[float, float]] = ()) -> dict:
    """DESIGN.md dwell semantics: warn at rest start + warn_after if still there; clear at the last sighting once
    it has been gone clear_after (within the video). While the camera has ``moved`` (intervals shorter than
    max_gap: docs/CAMERA_MOVES.md) the timers wait: a warn due then comes when the view is back, the absence clock
    stops."""
    end = duration if rest.rest_end is None else rest.rest_end
    for a, b in moved:
        if a < end and b > rest.rest_start and (b - a > MAX_GAP or a < end < b):
            raise ValueError(f"scenario object {rest.id!r}: the camera is away {a:g}-{b:g} s while it rests, longer "
                             f"than max_gap or while it leaves; that ending is not modelled, shorten the piece")
    due = steady_time(rest.rest_start + WARN_AFTER, 0.0, moved)
    warn = due if rest.rule and end >= due else None
    clear = None
    if warn is not None and rest.rest_end is not None and steady_time(rest.rest_end, CLEAR_AFTER, moved) <= duration:
        clear = rest.rest_end
    return {"warn": warn, "clear": clear}


def steady_time(t: float, seconds: float, moved: list[tuple[float, float]]) -> float:
    """When ``seconds`` of time outside the ``moved`` intervals have passed since ``t``.

    >>> steady_time(540.0, 0.0, [(520.0, 605.0)]), steady_time(500.0, 30.0, [(520.0, 605.0)])
    (605.0, 615.0)
    """
    for a, b in sorted(moved):
        if b <= t:
            continue
        if t + seconds < a:
            break
        seconds -= max(a - t, 0.0)
        t = b
    return t + seconds


class Builder:
    """Turn a ``Scenario`` into actors with real sprites, and write it out."""

    def __init__(self, material: Material, verify_every: float = VERIFY_EVERY_S):
        self.material = material
        self.verify_every = verify_every

    def render(self, scenario: Scenario, out: Path) -> dict:
        out.mkdir(parents=True, exist_ok=True)
        scene = self.material.scene(scenario.scene)
        check_scenery(scenario, scene)
        rng = np.random.default_rng(scenario.seed)
        resting, chosen = self._resting_actors(scenario, scene, rng)
        actors = list(resting.values()) + self._traffic_actors(scenario, scene, rng)
        composer = Composer(scene.background, actors, scenario.lighting, scenario.noise_sigma, scenario.seed,
                            scenario.aim)
        times = list(frame_times(scenario.duration, scenario.fps, scenario.gaps))
        encode(((t, composer.frame(t, i)) for i, t in enumerate(times)), out / "video.mp4", scenario.fps, scenario.crf)
        truth = self._truth(scenario, scene, resting, actors, chosen, out / "video.mp4")
        (out / "gt.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
        config = yaml.safe_dump(camera_config(scenario, "video.mp4"), sort_keys=False, default_flow_style=None)
        (out / "cameras.yaml").write_text(config, encoding="utf-8")
        return truth

    # -- actors ----------------------------------------------------------------------------------------------

    def _resting_actors(self, scenario: Scenario, scene: Scene, rng) -> tuple[dict[str, Actor], dict[str, Sprite]]:
        actors, chosen = {}, {}
        for rest in scenario.rests:
            end = scenario.duration + 1 if rest.rest_end is None else rest.rest_end
            keys = stay(rest.enter, rest.spot, rest.leave, rest.rest_start, end, rest.speed_mps, scene.law)
            avoid = [chosen[rest.unlike]] if rest.unlike else []
            used = list(chosen.values())
            sprite = self._detectable_sprite(rest, scene, rng, avoid, used)
            chosen[rest.id] = sprite
            actors[rest.id] = Actor(rest.id, sprite, Path_(keys), scene.law)
        return actors, chosen

    def _detectable_sprite(self, rest: Rest, scene: Scene, rng, unlike: list[Sprite], used: list[Sprite]) -> Sprite:
        """A sprite that the real model finds on the spot (pasted on the empty view with noise), so the scenario
        tests the pipeline, not the detector's worst case; it must look unlike ``unlike``."""
        bank = self.material.sprites(rest.class_name)
        target = scene.law.height_px(rest.class_name, rest.spot[1])
        big_enough = [s for s in bank if s.height >= 0.9 * target and all(s is not u for u in used)]
        order = rng.permutation(len(big_enough))
        for index in order[:40]:
            sprite = big_enough[int(index)]
            if any(not looks_different(sprite, other) for other in unlike):
                continue
            actor = Actor(rest.id, sprite, Path_([(0.0, *rest.spot), (1.0, *rest.spot)]), scene.law)
            box = actor.box_at(0.5)
            hits = sum(
                self.material.detected(Composer(scene.background, [actor], seed=seed).frame(0.5, 0), box,
                                       COMPATIBLE[rest.class_name])
                for seed in range(3)
            )
            if hits >= 2:
                return sprite
        raise ValueError(f"scenario object {rest.id!r}: no {rest.class_name} sprite is detected by the model at "
                         f"{rest.spot}; move the spot nearer the camera or add footage with such objects")

    def _traffic_actors(self, scenario: Scenario, scene: Scene, rng) -> list[Actor]:
        actors = []
        for flow in scenario.traffic:
            bank = self.material.sprites(flow.class_name)
            t = float(rng.exponential(60.0 / flow.per_minute))
            while t < scenario.duration:
                if not any(a <= t < b for a, b in flow.stops):
                    path = flow.paths[int(rng.integers(len(flow.paths)))]
                    sprite = bank[int(rng.integers(len(bank)))]
                    speed = flow.speed_mps * float(rng.uniform(0.8, 1.2))
                    keys = travel(path, t, speed, scene.law)
                    scale = float(rng.uniform(0.9, 1.1))
                    actors.append(Actor(f"{flow.class_name}-{len(actors)}", sprite, Path_(keys), scene.law, scale))
                t += float(rng.exponential(60.0 / flow.per_minute))
        return actors

    # -- ground truth ----------------------------------------------------------------------------------------

    def _truth(self, scenario: Scenario, scene: Scene, resting: dict[str, Actor], actors: list[Actor],
               chosen: dict[str, Sprite], video: Path) -> dict:
        rates, hidden = self._verify(scenario, resting, actors, video)
        objects = []
        for rest in scenario.rests:
            actor = resting[rest.id]
            box = actor.box_at(rest.rest_start)
            objects.append(ObjectTruth(
                id=rest.id, class_name=rest.class_name, rule=rest.rule, zone=rest.zone,
                rest_start=rest.rest_start, rest_end=rest.rest_end, box=[round(v, 1) for v in box],
                expected=expected_outcome(rest, scenario.duration, moved_intervals(scenario.aim)),
                hidden=hidden[rest.id],
                detected_rate=rates[rest.id], sprite=chosen[rest.id].source, note=rest.note,
            ))
        return {
            "scenario": scenario.name,
            "title": scenario.title,
            "description": scenario.description,
            "camera_id": scenario.name,
            "background": scene.source,
            "frame_size": list(scene.size),
            "fps": scenario.fps,
            "duration": scenario.duration,
            "gaps": [list(g) for g in scenario.gaps],
            "aim": [asdict(a) for a in scenario.aim],
            "lighting": scenario.lighting_note,
            "warn_after": WARN_AFTER,
            "clear_after": CLEAR_AFTER,
            "passers": len(actors) - len(resting),
            "objects": [asdict(o) for o in objects],
        }

    def _verify(self, scenario: Scenario, resting: dict[str, Actor], actors: list[Actor],
                video: Path) -> tuple[dict[str, float | None], dict[str, list[list[float]]]]:
        """Run the real model on the encoded video every few seconds: how often is each resting object found while
        it rests, is not hidden and the camera looks its way; and when is it hidden by something nearer."""
        seen = {r.id: [0, 0] for r in scenario.rests}
        hidden_at: dict[str, list[float]] = {r.id: [] for r in scenario.rests}
        for frame in VideoFile(video, analysis_fps=1.0 / self.verify_every):
            t = frame.t
            boxes = [(a.name, b) for a in actors if (b := a.box_at(t)) is not None]
            found = None
            for rest in scenario.rests:
                end = scenario.duration if rest.rest_end is None else rest.rest_end
                piece = piece_at(scenario.aim, t)
                if not rest.rest_start <= t <= end or (piece is not None and piece.moved):
                    continue
                box = np.asarray(resting[rest.id].box_at(t))
                nearer = [b for name, b in boxes if name != rest.id and b[3] > box[3]]
                if nearer and float(box_coverage(box, np.asarray(nearer)).max()) >= OCCLUDED_COVER:
                    hidden_at[rest.id].append(t)
                    continue
                found = self.material.detector.detect(frame.image) if found is None else found
                hits = found[np.isin(found.class_name, COMPATIBLE[rest.class_name])]
                seen[rest.id][1] += 1
                seen[rest.id][0] += found_on(frame_box(scenario.aim, t, box), hits.xyxy, rest.class_name)
        rates = {k: (round(hit / total, 3) if total else None) for k, (hit, total) in seen.items()}
        return rates, {k: _intervals(v, self.verify_every) for k, v in hidden_at.items()}


def check_scenery(scenario: Scenario, scene: Scene, margin_px: float = 6.0) -> None:
    """Refuse zones that hold (or nearly hold) something the model already sees in the empty view: a parked car
    of the background would be an unplanned object with no ground truth."""
    timed = [z for z in scenario.zones if z["type"] in ("sidewalk", "no_vending", "monitored_area")]
    for box, name in zip(scene.static.xyxy, scene.static.class_name, strict=True):
        if name not in COMPATIBLE:
            continue
        ground = Point((box[0] + box[2]) / 2, box[3])
        for zone in timed:
            if Polygon(zone["polygon"]).distance(ground) <= margin_px:
                raise ValueError(
                    f"scenario {scenario.name!r}, zone {zone['id']!r}: the background already shows a {name} at "
                    f"({ground.x:.0f}, {ground.y:.0f}), within {margin_px:g} px of the zone; move the zone's edge"
                )


def _intervals(times: list[float], step: float) -> list[list[float]]:
    """[[first, last], ...] runs of sample times no more than ``step`` apart."""
    runs: list[list[float]] = []
    for t in times:
        if runs and t - runs[-1][1] <= step + 1e-6:
            runs[-1][1] = t
        else:
            runs.append([t, t])
    return runs


def camera_config(scenario: Scenario, source: str) -> dict:
    """The scenario's camera with its zones and DEFAULT settings (no dwell overrides)."""
    return {"cameras": [{"id": scenario.name, "source": source, "zones": scenario.zones}]}
