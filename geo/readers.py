"""GPS fixes from a GPX 1.1 track, an NMEA 0183 log (RMC and GGA sentences) or a CSV file.

Times become float seconds: UNIX seconds (UTC) for wall-clock files (GPX, NMEA, CSV ``time`` or a CSV ``t`` of
10**9 or more), else the file's own seconds (CSV ``t``), which ``Fixes.absolute`` tells apart. Naive wall-clock
times are taken as UTC.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "drive.csv"
>>> _ = path.write_text("t,lat,lon,speed\\n0,28.0,120.0,\\n1,28.0001,120.0,11.1\\n")
>>> read_fixes(path).fixes[1]
Fix(t=1.0, lon=120.0, lat=28.0001, heading=None, speed=11.1, alt=None)
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import gpxpy
import gpxpy.gpx
import pynmea2

from geo.errors import TrackError

KNOT = 1852 / 3600  # m/s
UNIX_T = 1e9  # a CSV `t` this large is UNIX time (2001 or later), not seconds from the recording's start
OPTIONAL_COLUMNS = ("heading", "speed", "alt")  # CSV: course (degrees clockwise from north), m/s, metres
NMEA_SUFFIXES = {".nmea", ".nme", ".log", ".txt"}


@dataclass(frozen=True)
class Fix:
    """One GPS fix: time (seconds), position (degrees), course over ground (degrees clockwise from north), speed
    (m/s) and altitude (metres), each of the last three None when the file does not give it."""

    t: float
    lon: float
    lat: float
    heading: float | None = None
    speed: float | None = None
    alt: float | None = None


@dataclass(frozen=True)
class Fixes:
    """The fixes of one file, whether their times are UNIX seconds, and how many entries were skipped (NMEA lines
    with a bad checksum or garbage, GPX points without a time)."""

    fixes: list[Fix]
    absolute: bool = True
    skipped: int = 0


def read_fixes(path: str | Path) -> Fixes:
    """The fixes of a GPX, NMEA or CSV file (told by its suffix, else by its first characters)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")  # -sig: a spreadsheet's byte-order mark
    except OSError as exc:
        raise TrackError(f"cannot read GPS track {path} ({exc.strerror}); check the `gps` path.") from None
    kind = _kind(path, text)
    if kind == "gpx":
        return _read_gpx(path, text)
    if kind == "nmea":
        return _read_nmea(path, text)
    return _read_csv(path, text)


def _kind(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".gpx", ".csv"):
        return suffix[1:]
    if suffix in NMEA_SUFFIXES:
        return "nmea"
    head = text.lstrip()[:1]
    if head == "<":
        return "gpx"
    return "nmea" if head == "$" else "csv"


def _utc(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _read_gpx(path: Path, text: str) -> Fixes:
    try:
        gpx = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        raise TrackError(f"GPS track {path} is not readable GPX ({exc}); export it again as GPX 1.1.") from None
    points = [point for track in gpx.tracks for segment in track.segments for point in segment.points]
    if not points:
        raise TrackError(f"GPS track {path} has no track points (<trkpt>); export the recorded track, not a route.")
    timed = [point for point in points if point.time is not None]
    if not timed:
        raise TrackError(f"GPS track {path} has no timestamps (<time> in <trkpt>); export it with times.")
    fixes = [Fix(_utc(p.time), p.longitude, p.latitude, p.course, p.speed, p.elevation) for p in timed]
    return Fixes(fixes, absolute=True, skipped=len(points) - len(timed))


def _read_nmea(path: Path, text: str) -> Fixes:
    """RMC gives date, time, position, speed and course; GGA gives time, position and altitude. A GGA takes the
    date of the RMC sentence nearest before it (or the first one); sentences of one time merge into one fix."""
    merged: dict[float, dict] = {}
    undated: list[tuple[time, dict]] = []  # GGA fixes before the first valid RMC
    last_rmc: datetime | None = None
    skipped = 0
    for line in text.splitlines():
        start = line.find("$")
        if start < 0:
            skipped += bool(line.strip())
            continue
        try:
            sentence = pynmea2.parse(line[start:].strip())
            kind, fields = _nmea_fields(sentence)
        except (pynmea2.ParseError, ValueError, TypeError, AttributeError):
            skipped += 1
            continue
        if kind == "RMC":
            last_rmc = datetime.combine(sentence.datestamp, sentence.timestamp)
            _merge(merged, _utc(last_rmc), fields)
        elif kind == "GGA" and last_rmc is None:
            undated.append((sentence.timestamp, fields))
        elif kind == "GGA":
            _merge(merged, _utc(_nearest_day(last_rmc, sentence.timestamp)), fields)
    if undated and last_rmc is None:
        raise TrackError(f"GPS track {path} has GGA fixes but no valid RMC sentence to give their date; log RMC too.")
    if undated:
        first_rmc = datetime.fromtimestamp(min(merged), UTC)
        for tod, fields in undated:
            _merge(merged, _utc(_nearest_day(first_rmc, tod)), fields)
    if not merged:
        raise TrackError(f"GPS track {path} has no valid RMC or GGA fix ({skipped} unreadable lines); "
                         "give an NMEA 0183 log with RMC/GGA sentences, a GPX or a CSV file.")
    fixes = [Fix(t, f["lon"], f["lat"], f.get("heading"), f.get("speed"), f.get("alt"))
             for t, f in sorted(merged.items())]
    return Fixes(fixes, absolute=True, skipped=skipped)


def _nmea_fields(sentence: pynmea2.NMEASentence) -> tuple[str, dict]:
    """The sentence's kind ("RMC", "GGA" or "") and its valid fields; a void RMC or a no-fix GGA gives ""."""
    kind = getattr(sentence, "sentence_type", "")
    if kind in ("RMC", "GGA") and not (sentence.lat and sentence.lon):  # pynmea2 reads a missing position as 0, 0
        return "", {}
    if kind == "RMC" and sentence.status == "A" and sentence.timestamp and sentence.datestamp:
        fields = {"lon": sentence.longitude, "lat": sentence.latitude}
        if sentence.spd_over_grnd is not None:
            fields["speed"] = float(sentence.spd_over_grnd) * KNOT
        if sentence.true_course is not None:
            fields["heading"] = float(sentence.true_course)
        return kind, fields
    if kind == "GGA" and sentence.gps_qual and sentence.timestamp:
        fields = {"lon": sentence.longitude, "lat": sentence.latitude}
        if sentence.altitude is not None:
            fields["alt"] = float(sentence.altitude)
        return kind, fields
    return "", {}


def _nearest_day(reference: datetime, tod: time) -> datetime:
    """The moment of time of day ``tod`` nearest to ``reference`` (a GGA just after midnight is the next day's)."""
    candidates = [datetime.combine(reference.date() + timedelta(days=shift), tod) for shift in (-1, 0, 1)]
    return min(candidates, key=lambda moment: abs(moment - reference))


def _merge(merged: dict[float, dict], t: float, fields: dict) -> None:
    """RMC's position wins over GGA's (both are the same fix); other fields fill in."""
    entry = merged.setdefault(round(t, 3), {})
    for key, value in fields.items():
        entry.setdefault(key, value)


def _read_csv(path: Path, text: str) -> Fixes:
    rows = csv.DictReader(text.splitlines())
    columns = {name.strip().lower(): name for name in rows.fieldnames or []}
    if "lat" not in columns or "lon" not in columns:
        raise TrackError(f"GPS track {path} has no `lat` and `lon` columns; give a CSV with a header "
                         "t (or time), lat, lon[, heading, speed, alt].")
    clock = "t" if "t" in columns else "time" if "time" in columns else None
    if clock is None:
        raise TrackError(f"GPS track {path} has no timestamps; add a column `t` (seconds) or `time` (ISO-8601).")
    fixes = []
    for line, row in enumerate(rows, start=2):
        cell = {key: (row.get(name) or "").strip() for key, name in columns.items()}
        lon, lat = (_number(path, line, key, cell[key], True) for key in ("lon", "lat"))
        heading, speed, alt = (_number(path, line, key, cell.get(key, ""), False) for key in OPTIONAL_COLUMNS)
        fixes.append(Fix(_csv_time(path, line, clock, cell[clock]), lon, lat, heading, speed, alt))
    absolute = clock == "time" or (bool(fixes) and fixes[0].t >= UNIX_T)
    return Fixes(fixes, absolute=absolute)


def _csv_time(path: Path, line: int, clock: str, value: str) -> float:
    if clock == "t":
        return _number(path, line, "t", value, True)
    try:
        return _utc(datetime.fromisoformat(value))
    except ValueError:
        raise TrackError(f"GPS track {path}, line {line}: time {value!r} is not ISO-8601 "
                         "(such as 2026-11-22T10:00:00Z); fix or remove that row.") from None


def _number(path: Path, line: int, column: str, value: str, required: bool) -> float | None:
    if not value and not required:
        return None
    try:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    except ValueError:
        raise TrackError(f"GPS track {path}, line {line}: {column} {value!r} is not a number; "
                         "fix or remove that row.") from None
