"""Read the two inputs of event scoring: predicted events (DESIGN.md JSON lines, nothing else) and ground truth.

A line that is not a DESIGN.md event (a key missing, a value of the wrong type) is refused with one sentence naming
the file, the line and the fix; keys an event does not know are ignored (DESIGN.md: later fields may be present).

Example:
    >>> line = ('{"event_id": "c/z/1/warn", "type": "warn", "rule": "sidewalk_parking", "camera_id": "c", '
    ...         '"zone_id": "z", "object_id": "1", "class": "car", "t": 542.0, "ts": null, "since_t": 62.0, '
    ...         '"dwell_s": 480.0, "bbox": [1, 2, 3, 4], "score": 0.9, "evidence": {}}')
    >>> parse_event_line(line, "events.jsonl", 1).t
    542.0
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from contracts.errors import UserError
from evaluation.aim import Aim
from events.record import Event


class ScoringInputError(UserError, ValueError):
    """An input file the scorer cannot use; the message names the file (and line) and the fix."""


def parse_event_line(text: str, path: str, number: int) -> Event:
    """The event of line ``number`` of ``path``, or ScoringInputError naming the file, the line and the fix."""
    where = f"{path}:{number}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScoringInputError(f"{where}: not JSON ({exc.msg}); give the events.jsonl written by "
                                "`streetorder process` (one DESIGN.md event per line)") from None
    if not isinstance(data, dict):
        raise ScoringInputError(f"{where}: a line must be one JSON object (a DESIGN.md event)")
    try:
        return Event.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "line"
        problem = f"key {field!r} is missing" if error["type"] == "missing" else f"{field}: {error['msg']}"
        raise ScoringInputError(f"{where}: not a DESIGN.md event ({problem}); only the event JSON lines of "
                                "DESIGN.md are accepted") from None


def read_events(path: str | Path) -> list[Event]:
    path = Path(path)
    if not path.is_file():
        raise ScoringInputError(f"{path}: no such events file; give OUT/events.jsonl of a `streetorder process` run")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [parse_event_line(line, str(path), i) for i, line in enumerate(lines, start=1) if line.strip()]


@dataclass(frozen=True)
class TruthObject:
    """A ground-truth object of one scenario (see ``evaluation.scenario``)."""

    scenario: str
    camera_id: str
    id: str
    class_name: str
    rule: str | None
    zone: str | None
    rest_start: float
    rest_end: float | None
    box: tuple[float, float, float, float]
    warn: float | None
    clear: float | None
    plate: str | None = None  # repeat-offender scenarios: the plate and the ladder step its warn must carry
    action: str | None = None


@dataclass(frozen=True)
class TruthScenario:
    name: str
    camera_id: str
    duration: float
    objects: tuple[TruthObject, ...]
    aim: tuple[Aim, ...] = ()  # where the camera looked: the objects' boxes are in its reference view
    origin: datetime | None = None  # several recordings: times are seconds of wall time after this


@dataclass(frozen=True)
class GeoTruthObject:
    """A ground-truth object of a patrol scenario (see ``evaluation.patrol``): where it stands (lon, lat) and when
    its warn and clear are due, in seconds of wall time since the scenario's first pass started (``origin``)."""

    scenario: str
    camera_id: str
    id: str
    class_name: str
    rule: str | None
    zone: str | None
    lon: float
    lat: float
    present: tuple[int, ...]  # the passes it stands there on
    warn: float | None
    clear: float | None


@dataclass(frozen=True)
class GeoTruthScenario:
    """A patrol scenario: passes (wall-clock start, seconds of video) of one moving camera, objects on the map."""

    name: str
    camera_id: str
    duration: float  # seconds of video over all passes
    origin: datetime  # the first pass's start: geo times are seconds after it
    passes: tuple[tuple[datetime, float], ...]
    objects: tuple[GeoTruthObject, ...]

    def seconds(self, ts: str | datetime) -> float:
        """Wall time (ISO-8601 with offset, or a datetime) -> seconds after ``origin``."""
        when = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
        return (when - self.origin).total_seconds()

    def pass_at(self, seconds: float, slack: float = 60.0) -> int | None:
        """The pass (1-based) whose video spans ``seconds`` (with ``slack``), or None."""
        for k, (start, duration) in enumerate(self.passes, start=1):
            if -slack <= seconds - self.seconds(start) <= duration + slack:
                return k
        return None


def read_truth(path: str | Path) -> list[TruthScenario | GeoTruthScenario]:
    """Ground truth from a ``gt.json`` file, or every ``gt.json`` under a folder (a whole suite); a patrol
    scenario's (``"kind": "patrol"``) reads as a ``GeoTruthScenario``."""
    path = Path(path)
    files = sorted(path.rglob("gt.json")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise ScoringInputError(f"{path}: no gt.json here; give a scenario's gt.json or the folder written by "
                                "`streetorder evaluate make-scenarios`")
    return [_scenario(file) for file in files]


def _scenario(file: Path) -> TruthScenario | GeoTruthScenario:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("kind") == "patrol":
            return _geo_scenario(data)
        if isinstance(data, dict) and data.get("kind") == "recordings":
            return _recordings_scenario(data)
        camera = data["camera_id"]
        objects = tuple(
            TruthObject(data["scenario"], camera, o["id"], o["class_name"], o["rule"], o["zone"],
                        float(o["rest_start"]), None if o["rest_end"] is None else float(o["rest_end"]),
                        tuple(o["box"]), o["expected"]["warn"], o["expected"]["clear"])
            for o in data["objects"]
        )
        aim = tuple(Aim(**piece) for piece in data.get("aim", []))
        return TruthScenario(data["scenario"], camera, float(data["duration"]), objects, aim)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ScoringInputError(f"{file}: not a scenario ground-truth file ({exc!r}); regenerate it with "
                                "`streetorder evaluate make-scenarios`") from None


def _geo_scenario(data: dict) -> GeoTruthScenario:
    """A patrol ``gt.json``; KeyError, TypeError or ValueError on anything missing (the caller names the file)."""
    passes = tuple((datetime.fromisoformat(p["start"]), float(p["duration"])) for p in data["passes"])
    origin = passes[0][0]

    def due(obj: dict, kind: str) -> float | None:
        when = [e["ts"] for e in obj["expected"] if e["type"] == kind]
        return (datetime.fromisoformat(when[0]) - origin).total_seconds() if when else None

    objects = tuple(
        GeoTruthObject(data["scenario"], data["camera_id"], o["id"], o["class_name"], o["rule"], o["zone"],
                       float(o["lon"]), float(o["lat"]), tuple(p["pass"] for p in o["passes"] if p["present"]),
                       due(o, "warn"), due(o, "clear"))
        for o in data["objects"]
    )
    return GeoTruthScenario(data["scenario"], data["camera_id"], sum(d for _, d in passes), origin, passes, objects)


def _recordings_scenario(data: dict) -> TruthScenario:
    """A repeat-offender ``gt.json`` (one camera, several recordings): its times are seconds of wall time after
    ``origin``, which the scorer puts the events' ``ts`` on. KeyError, TypeError or ValueError on anything missing."""
    objects = tuple(
        TruthObject(data["scenario"], data["camera_id"], o["id"], o["class_name"], o["rule"], o["zone"],
                    float(o["rest_start"]), float(o["rest_end"]), tuple(o["box"]), o["expected"]["warn"],
                    o["expected"]["clear"], o["expected"]["plate"], o["expected"]["action"])
        for o in data["objects"]
    )
    return TruthScenario(data["scenario"], data["camera_id"], float(data["duration"]), objects,
                         origin=datetime.fromisoformat(data["origin"]))
