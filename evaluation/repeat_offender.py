"""Repeat-offender scenarios: one fixed camera filmed on several days (each day its own recording with its own
``start_time``), the same car with the same rendered plate parking on its pavement each day, and the ground truth
of the ladder of repeat offences (DESIGN.md "Plates and repeat offences"): each warn's ``plate``, ``offence`` and
``action``.

Written per scenario, ``OUT/<name>/``: ``day-K/video.mp4`` and ``day-K.yaml`` (one camera, ``start_time`` of day K,
``plates: {enabled: true}``, default dwell and enforcement settings) for every day, and ``gt.json`` (``"kind":
"recordings"``: times are seconds of wall time after day 1 started). Run the days in order into one out folder (the
store keeps the earlier warns)::

    streetorder process --config OUT/repeat-offender/day-1.yaml --out OUT/repeat-offender/run   # then day-2, day-3
    streetorder evaluate events --gt OUT/repeat-offender --pred OUT/repeat-offender/run/events.jsonl

Example:
    >>> [(w["object"], w["offence"], w["action"]) for w in expected_warns(repeat_offender())]
    [('car-A@day-1', 1, 'advise'), ('car-A@day-2', 2, 'educate'), ('car-B@day-2', 1, 'advise'), \
('car-A@day-3', 3, 'enforce')]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import yaml

from evaluation.material import Material, looks_different
from evaluation.plate_art import draw_plate, plate_font, plate_width, plated
from evaluation.scenario import CLEAR_AFTER, WARN_AFTER, Builder, Rest, Scenario, expected_outcome
from evaluation.sprites import Sprite
from plates.engines import PlateLocator
from plates.grammar import CHINA
from zones.config_enforcement import EnforcementSettings

CST = timezone(timedelta(hours=8))
SCENE = "pedestrian-near"  # evaluation.material.SCENES: 1280x720, a car on the near pavement is 500 px tall
PAVEMENT = {"id": "pavement-near", "type": "sidewalk", "polygon": [[0, 420], [1280, 420], [1280, 720], [0, 720]]}
SPOT = (640.0, 680.0)
ENTER = [(700.0, 1300.0)]  # from below the frame, driving away from the camera (the cars are filmed from behind)
LEAVE = [(600.0, 300.0), (560.0, -40.0)]


@dataclass(frozen=True)
class Car:
    """A car with its plate: the sprite cut at ``sprite`` (a ``Sprite.source``), repainted ``paint`` (BGR) if set."""

    id: str
    plate: str
    sprite: str
    paint: tuple[int, int, int] | None = None
    kind: str = "blue"


@dataclass(frozen=True)
class Visit:
    """``car`` rests on the pavement on day ``day`` (1-based) from ``rest_start`` to ``rest_end`` (media seconds)."""

    car: str
    day: int
    rest_start: float
    rest_end: float


@dataclass(frozen=True)
class RepeatScenario:
    name: str
    title: str
    description: str
    days: tuple[datetime, ...]  # wall-clock start of each day's recording
    durations: tuple[float, ...]  # seconds of video of each day
    cars: tuple[Car, ...]
    visits: tuple[Visit, ...]
    camera_id: str = "pavement-cam-3"
    fps: float = 2.0
    seed: int = 30

    @property
    def duration(self) -> float:
        """Seconds of video over all days."""
        return sum(self.durations)

    def car(self, car_id: str) -> Car:
        return next(c for c in self.cars if c.id == car_id)


def repeat_offender() -> RepeatScenario:
    """The suite's repeat offender: car A parks 9 minutes on three days a week apart (advise, educate, enforce);
    on day 2 car B, another plate, takes the spot after it (its first offence: advise)."""
    first = datetime(2026, 11, 16, 9, 0, tzinfo=CST)
    days = (first, first + timedelta(days=7, hours=5), first + timedelta(days=14, hours=-1))
    cars = (Car("car-A", "浙C·D1234", "cn_curbside_parking.mp4@4.07s"),
            Car("car-B", "浙C·5F2K8", "cn_curbside_parking.mp4@13.40s", paint=(60, 40, 150)))
    visits = (Visit("car-A", 1, 20.0, 560.0), Visit("car-A", 2, 20.0, 530.0), Visit("car-B", 2, 560.0, 1080.0),
              Visit("car-A", 3, 20.0, 560.0))
    return RepeatScenario(
        "repeat-offender", "The same car parks on the pavement on three days: advise, educate, enforce",
        "A white car with the plate 浙C·D1234 parks on the near pavement for about 9 minutes on three days a week "
        "apart (each day its own recording); on day 2 a red car, 浙C·5F2K8, parks there after it. Expected: car A "
        "advise, educate, enforce; car B advise (the count is per plate).",
        days, (600.0, 1120.0, 600.0), cars, visits)


# -- ground truth of the ladder -----------------------------------------------------------------------------------

def expected_warns(scenario: RepeatScenario, enforcement: EnforcementSettings | None = None) -> list[dict]:
    """Every warn the days should give, in wall-time order, with its plate's ``offence`` (the how-many-th warn of
    that plate within ``enforcement.lookback``) and ``action`` (that step of ``enforcement.ladder``)."""
    enforcement = enforcement or EnforcementSettings()
    warns = []
    for visit in scenario.visits:
        car = scenario.car(visit.car)
        outcome = expected_outcome(_rest(visit), scenario.durations[visit.day - 1])
        if outcome["warn"] is None:
            continue
        when = scenario.days[visit.day - 1] + timedelta(seconds=outcome["warn"])
        warns.append({"object": _object_id(visit), "car": car.id, "day": visit.day, "plate": car.plate,
                      "t": outcome["warn"], "ts": when, "clear": outcome["clear"]})
    warns.sort(key=lambda w: w["ts"])
    for k, warn in enumerate(warns):
        earlier = [w for w in warns[:k] if w["plate"] == warn["plate"]
                   and (warn["ts"] - w["ts"]).total_seconds() <= enforcement.lookback]
        warn["offence"] = len(earlier) + 1
        warn["action"] = enforcement.action(warn["offence"])
    return warns


def _rest(visit: Visit) -> Rest:
    return Rest(visit.car, "car", SPOT, visit.rest_start, visit.rest_end, zone=PAVEMENT["id"],
                rule="sidewalk_parking", enter=ENTER, leave=LEAVE, speed_mps=3.0)


def _object_id(visit: Visit) -> str:
    return f"{visit.car}@day-{visit.day}"


# -- rendering ----------------------------------------------------------------------------------------------------

class RepeatBuilder(Builder):
    """Renders each day with ``Builder``, every day with the same plated sprite per car."""

    def __init__(self, material: Material) -> None:
        super().__init__(material)
        self.cars: dict[str, Sprite] = {}
        self.plate_px: dict[str, float] = {}

    def _detectable_sprite(self, rest: Rest, scene, rng, unlike: list[Sprite], used: list[Sprite]) -> Sprite:
        return self.cars[rest.id]

    def render(self, scenario: RepeatScenario, out: Path) -> dict:  # type: ignore[override]
        check_plates(scenario)
        out.mkdir(parents=True, exist_ok=True)
        self._plated_cars(scenario)
        days = []
        for k in range(1, len(scenario.days) + 1):
            truth = super().render(day_scenario(scenario, k), out / f"day-{k}")
            for name in ("gt.json", "cameras.yaml"):  # the day's parts; the scenario's truth and configs are below
                (out / f"day-{k}" / name).unlink()
            config = yaml.safe_dump(day_config(scenario, k), sort_keys=False, default_flow_style=None,
                                    allow_unicode=True)
            (out / f"day-{k}.yaml").write_text(config, encoding="utf-8")
            days.append(truth)
        truth = ground_truth(scenario, days, self.plate_px)
        (out / "gt.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return truth

    def _plated_cars(self, scenario: RepeatScenario) -> None:
        """Each car's sprite at its height on the spot, repainted if asked, with its rendered plate warped onto the
        real plate the plate detector finds on it (or, if none, where a plate sits)."""
        scene = self.material.scene(SCENE)
        bank = {s.source: s for s in self.material.sprites("car")}
        height = round(scene.law.height_px("car", SPOT[1]))
        locator, font = PlateLocator(), plate_font()
        for car in scenario.cars:
            if car.sprite not in bank:
                raise ValueError(f"scenario {scenario.name!r}, car {car.id!r}: no car sprite cut at {car.sprite}; "
                                 f"pick one of the cn_curbside_parking.mp4 cuts")
            sprite = bank[car.sprite] if car.paint is None else repainted(bank[car.sprite], car.paint)
            enlarged = Sprite(sprite.resized(height), sprite.class_name, sprite.source, sprite.score)
            found = locator.locate(np.ascontiguousarray(enlarged.rgba[:, :, :3]))
            corners = found[0][0] if found else None
            self.cars[car.id] = plated(enlarged, draw_plate(car.plate, car.kind, font), height, corners)
            self.plate_px[car.id] = round(plate_width(corners), 1) if corners is not None else None
        others = [self.cars[c.id] for c in scenario.cars]
        if len(others) == 2 and not looks_different(*others):
            raise ValueError(f"scenario {scenario.name!r}: its two cars look alike; repaint one")


def repainted(sprite: Sprite, paint: tuple[int, int, int]) -> Sprite:
    """The sprite with its light, unsaturated body (white paint) in ``paint`` (BGR), shaded by its brightness;
    lights, glass, tyres and the plate keep their colours."""
    rgba = sprite.rgba.copy()
    hsv = cv2.cvtColor(rgba[:, :, :3], cv2.COLOR_BGR2HSV)
    body = (hsv[:, :, 1] < 40) & (hsv[:, :, 2] > 150)
    shade = hsv[:, :, 2].astype(np.float32)[body, None] / 255.0
    rgba[body, :3] = np.clip(np.float32(paint) * shade * 1.15, 0, 255).astype(np.uint8)
    return Sprite(rgba, sprite.class_name, f"{sprite.source} repainted {paint}", sprite.score)


def day_scenario(scenario: RepeatScenario, k: int) -> Scenario:
    """Day ``k`` as a one-recording ``Scenario`` (rendered by ``Builder``)."""
    rests = [_rest(v) for v in scenario.visits if v.day == k]
    return Scenario(name=f"{scenario.name}-day-{k}", title=f"{scenario.title}, day {k}", scene=SCENE,
                    duration=scenario.durations[k - 1], fps=scenario.fps, zones=[PAVEMENT], rests=rests,
                    seed=scenario.seed + k)


def day_config(scenario: RepeatScenario, k: int) -> dict:
    """Day ``k``'s config: the camera with its start time, plates read, every other setting at its default."""
    return {"plates": {"enabled": True}, "cameras": [{
        "id": scenario.camera_id, "source": f"day-{k}/video.mp4", "start_time": scenario.days[k - 1].isoformat(),
        "zones": [PAVEMENT]}]}


def ground_truth(scenario: RepeatScenario, days: list[dict], plate_px: dict[str, float | None]) -> dict:
    """``gt.json``: the days' objects on one wall clock (seconds after day 1 started) with their ladder."""
    origin = scenario.days[0]
    warns = {w["object"]: w for w in expected_warns(scenario)}
    objects = []
    for visit in scenario.visits:
        offset = (scenario.days[visit.day - 1] - origin).total_seconds()
        day = next(o for o in days[visit.day - 1]["objects"] if o["id"] == visit.car)
        warn = warns.get(_object_id(visit))
        car = scenario.car(visit.car)
        expected = {"warn": None, "clear": None, "plate": car.plate, "offence": None, "action": None}
        if warn is not None:
            expected.update(warn=offset + warn["t"], clear=None if warn["clear"] is None else offset + warn["clear"],
                            offence=warn["offence"], action=warn["action"], warn_ts=warn["ts"].isoformat())
        objects.append({**day, "id": _object_id(visit), "car": car.id, "day": visit.day, "plate": car.plate,
                        "plate_width_px": plate_px[car.id], "rest_start": offset + visit.rest_start,
                        "rest_end": offset + visit.rest_end, "media_rest": [visit.rest_start, visit.rest_end],
                        "hidden": [[offset + a, offset + b] for a, b in day["hidden"]], "expected": expected})
    first = days[0]
    return {
        "scenario": scenario.name, "kind": "recordings", "title": scenario.title,
        "description": scenario.description, "camera_id": scenario.camera_id, "background": first["background"],
        "frame_size": first["frame_size"], "fps": scenario.fps, "warn_after": WARN_AFTER, "clear_after": CLEAR_AFTER,
        "origin": origin.isoformat(), "duration": sum(scenario.durations), "gaps": [], "lighting": "daylight",
        "passers": 0,
        "recordings": [{"day": k, "start": start.isoformat(), "duration": scenario.durations[k - 1],
                        "video": f"day-{k}/video.mp4", "config": f"day-{k}.yaml"}
                       for k, start in enumerate(scenario.days, start=1)],
        "objects": objects,
    }


def check_plates(scenario: RepeatScenario) -> None:
    """Every car's plate is a valid plate of mainland China (``plates.grammar``), as events would write it."""
    for car in scenario.cars:
        if CHINA.normalise(car.plate) != car.plate:
            raise ValueError(f"scenario {scenario.name!r}, car {car.id!r}: {car.plate!r} is not a valid plate")


# Rendered only when named (``--only``): each is run day by day, not through suite.yaml.
REPEAT_SCENARIOS = {"repeat-offender": repeat_offender}
