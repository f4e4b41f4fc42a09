"""The test site made into a map: cam-a and cam-b placed by ``geo`` in two units of a ``units:`` GeoJSON file, a
patrol car (``car-1``, events with sightings), an officer of Lucheng, and the app served by uvicorn on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import uvicorn

from events.camera_status import CameraStatuses, CameraStatusRow
from events.record import Event
from events.store import EventStore
from review.accounts import Accounts
from review.app import create_app
from review.zone_editor import ZoneFile
from streams.config_rules import PipelineConfigRules
from tests.review.site import Site

OFFICER, OFFICER_PASSWORD = "olga", "olga-officer-password"
CAM_A_GEO, CAM_B_GEO = (120.6712, 28.0011), (120.6900, 28.0150)
LUCHENG = {"district": "Lucheng", "grid": "LC-1", "road": None}
OUHAI = {"district": "Ouhai", "grid": "OH-2", "road": None}
UNITS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"district": "Lucheng", "grid": "LC-1"}, "geometry": {"type": "Polygon",
     "coordinates": [[[120.665, 27.995], [120.680, 27.995], [120.680, 28.008], [120.665, 28.008], [120.665, 27.995]]]}},
    {"type": "Feature", "properties": {"district": "Ouhai", "grid": "OH-2"}, "geometry": {"type": "Polygon",
     "coordinates": [[[120.680, 28.008], [120.700, 28.008], [120.700, 28.020], [120.680, 28.020], [120.680, 28.008]]]}},
]}


def make_map_site(site: Site) -> None:
    """Place the site's cameras, give them units and the config a unit map; add the officer."""
    (site.root / "units.geojson").write_text(json.dumps(UNITS), encoding="utf-8")
    text = site.config_path.read_text(encoding="utf-8")
    text = text.replace("cameras:\n", "units: units.geojson\ncameras:\n", 1)
    text = text.replace("    name: Main St pole\n", f"    name: Main St pole\n    geo: {list(CAM_A_GEO)}\n"
                        "    unit: {district: Lucheng, grid: LC-1}\n", 1)
    text = text.replace("    name: Market gate\n", f"    name: Market gate\n    geo: {list(CAM_B_GEO)}\n"
                        "    unit: {district: Ouhai, grid: OH-2}\n", 1)
    site.config_path.write_text(text, encoding="utf-8")
    Accounts(site.database()).add_user(OFFICER, "officer", OFFICER_PASSWORD, district="Lucheng")
    store = EventStore(site.db_path)
    store.save_camera("car-1", "patrol-01.mp4", [], str(site.out.resolve()), "Patrol car 1")
    for number, (lon, lat, unit) in enumerate([(120.670, 28.000, LUCHENG), (120.672, 28.002, LUCHENG),
                                               (120.690, 28.012, OUHAI)]):
        store.add(map_event("car-1", "kerb", f"p{number}", lon, lat, unit, sightings=True))
    store.close()


def map_event(camera_id: str, zone_id: str, object_id: str, lon: float | None, lat: float | None,
              unit: dict | None, kind: str = "warn", sightings: bool = False) -> Event:
    """A warn (or ``kind``) event placed at lon/lat in ``unit``; with ``sightings``, as a patrol car's."""
    seen = [{"t": None, "ts": None, "lon": lon - 0.0004, "lat": lat, "snapshot": None},
            {"t": None, "ts": None, "lon": lon, "lat": lat, "snapshot": None}] if sightings else None
    return Event.model_validate({
        "event_id": f"{camera_id}/{zone_id}/{object_id}/{kind}", "type": kind, "rule": "sidewalk_parking",
        "camera_id": camera_id, "zone_id": zone_id, "object_id": object_id, "class": "car", "t": 600.0,
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "since_t": 0.0, "dwell_s": 600.0,
        "bbox": [1, 2, 3, 4], "score": 0.9, "evidence": {}, "lon": lon, "lat": lat, "sightings": seen, "unit": unit})


def write_status(site: Site, camera_id: str, state: str, view: str | None = "ok", reason: str = "") -> None:
    now = datetime.now(UTC).isoformat()
    CameraStatuses(site.database()).write([CameraStatusRow(camera_id, None, "rtsp://10.0.0.5/1", state, reason,
                                                           view, None, now, now)])


@contextmanager
def serving(site: Site) -> Iterator[tuple[str, object]]:
    """(base URL, app) of the app over ``site`` with its config, served on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(site.db_path, ZoneFile(site.config_path, PipelineConfigRules()))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.services.db.close()
