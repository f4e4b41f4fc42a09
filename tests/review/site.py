"""A small real review site for the tests: an event store (an SQLite file or a PostgreSQL schema) filled through
events.store.EventStore, evidence photos written by the pipeline's own EvidenceWriter on a real frame, a config
YAML with comments, and accounts.

The frame is the 5-second frame of ``us_residential_street.mp4`` (../shared/data) when it is there; without it, a
generated street-like picture of the same size stands in (the security and queue tests do not look at pixels).
The boxes are where the parked cars stand in that clip (see tests/test_real_footage.py).

A site is built once per database and copied for each test: the SQLite file with its folder, a PostgreSQL schema
table by table into the test's fresh schema.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

from contracts.urls import mask_credentials
from events.database import is_server
from events.evidence import EvidenceWriter
from events.record import Event, event_from_change
from events.store import EventStore
from review.accounts import Accounts
from review.db import Database
from streams.files import VideoFile
from tests.conftest import CLIPS
from zones.config import load_config
from zones.dwell import StateChange

CLIP = CLIPS / "us_residential_street.mp4"
CAMERA_PASSWORD = "s3cret-pass-9"
PASSWORDS = {"ada": "ada-admin-password", "rita": "rita-reviewer-password", "rob": "rob-reviewer-password"}
ROLES = {"ada": "admin", "rita": "reviewer", "rob": "reviewer"}

CONFIG = f"""\
# Test site: two cameras. Comments and key order must survive the zone editor.
analysis_fps: 2
defaults:
  warn_after: 8m   # the bureau's rule
cameras:
  - id: cam-a
    source: {{clip}}
    name: Main St pole
    location: Main St / 3rd Ave
    zones:
      - id: walk        # the east sidewalk
        type: sidewalk
        polygon: [[540, 140], [640, 140], [640, 200], [540, 200]]
        warn_after: 10s
      - id: far-kerb
        type: sidewalk
        polygon: [[330, 120], [440, 120], [440, 175], [330, 175]]
  - id: cam-b
    source: rtsp://admin:{CAMERA_PASSWORD}@10.0.0.5:554/Streaming/101
    name: Market gate
    zones:
      - id: kerb
        type: sidewalk
        polygon: [[330, 120], [440, 120], [440, 175], [330, 175]]
      - id: bikes
        type: monitored_area
        polygon: [[0, 200], [300, 200], [300, 352], [0, 352]]
"""

DRIVEWAY_CAR = (600.0, 148.0, 640.0, 189.0)
KERB_CAR = (350.0, 133.0, 415.0, 164.0)
LANE_BIKE = (120.0, 230.0, 170.0, 300.0)

# (camera, zone, object, kind, rule, class, bbox, since_t, t): in the order they are recorded.
EVENTS = [
    ("cam-a", "walk", "1", "warn", "sidewalk_parking", "car", DRIVEWAY_CAR, 0.0, 10.0),
    ("cam-a", "walk", "1", "clear", "sidewalk_parking", "car", DRIVEWAY_CAR, 0.0, 30.0),
    ("cam-a", "far-kerb", "2", "warn", "sidewalk_parking", "truck", KERB_CAR, 2.0, 482.0),
    ("cam-b", "kerb", "3", "warn", "sidewalk_parking", "car", KERB_CAR, 5.0, 485.0),
    ("cam-b", "bikes", "4", "warn", "misparked_bike", "bicycle", LANE_BIKE, 6.0, 486.0),
    ("cam-a", "walk", "5", "warn", "sidewalk_parking", "car", DRIVEWAY_CAR, 40.0, 520.0),
]
CAM_B_START = datetime.fromisoformat("2026-03-02T08:00:00+08:00")  # cam-b's events have wall times that day


@dataclass
class Site:
    root: Path
    out: Path  # the evidence folder (and, on SQLite, the store's)
    db_path: Path | str  # the store: out/events.db, or a postgresql:// URL
    config_path: Path
    _db: Database | None = field(default=None, repr=False)

    @property
    def on_sqlite(self) -> bool:
        return not is_server(self.db_path)

    @property
    def event_ids(self) -> list[str]:
        return [f"{c}/{z}/{o}/{k}" for c, z, o, k, *_ in EVENTS]

    def database(self) -> Database:
        """The site's store, opened once per test (``close`` ends it)."""
        if self._db is None:
            self._db = Database(self.db_path)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def street_frame() -> np.ndarray:
    """A real 640x352 frame of the residential street, or a generated stand-in of that size."""
    if CLIP.is_file():
        for frame in VideoFile(CLIP, analysis_fps=1.0):
            if frame.t >= 5.0:
                return frame.image
    image = np.zeros((352, 640, 3), np.uint8)
    image[:] = np.linspace(60, 200, 640, dtype=np.uint8)[None, :, None]
    image[130:170, 340:420] = (40, 40, 160)
    image[150:190, 600:640] = (30, 30, 30)
    return image


def build_site(root: Path, frame: np.ndarray, target: str | None = None) -> Site:
    """Write the store (``target``, a postgresql:// URL, else out/events.db), evidence, config and accounts under
    ``root``."""
    out = root / "out"
    store_target = target or out / "events.db"
    config_path = root / "cameras.yaml"
    clip = CLIP if CLIP.is_file() else root / "street.mp4"
    config_path.write_text(CONFIG.format(clip=clip), encoding="utf-8")
    config = load_config(config_path)
    store = EventStore(store_target)
    for camera in config.cameras:
        store.save_camera(camera.id, mask_credentials(camera.source), [z.model_dump() for z in camera.zones],
                          str(out.resolve()), camera.name, camera.location, camera.unit)
    writers = {c.id: EvidenceWriter(out, c) for c in config.cameras}
    for camera_id, zone, obj, kind, rule, cls, bbox, since_t, t in EVENTS:
        origin = CAM_B_START if camera_id == "cam-b" else None
        store.add(_event(writers[camera_id], frame, origin, camera_id,
                         StateChange(kind, rule, zone, obj, cls, t, since_t, bbox, 0.8)))
    store.close()
    site = Site(root, out, store_target, config_path)
    accounts = Accounts(site.database())
    for name, password in PASSWORDS.items():
        accounts.add_user(name, ROLES[name], password)
    if site.on_sqlite:
        site.database().execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in events.db itself, ready to copy
    site.close()
    return site


def copy_site(template: Site, root: Path, target: str | None = None) -> Site:
    """A private copy of a built site (building one hashes three passwords: copying is much cheaper): on SQLite in
    root/out/events.db, on PostgreSQL in the fresh schema of ``target``."""
    shutil.copytree(template.out, root / "out")
    config = template.config_path.read_text(encoding="utf-8")
    (root / "cameras.yaml").write_text(config, encoding="utf-8")
    site = Site(root, root / "out", target or root / "out" / "events.db", root / "cameras.yaml")
    if target:
        _copy_tables(_schema_of(str(template.db_path)), site.database())
    with site.database().transaction() as tx:
        tx.execute("UPDATE cameras SET evidence_root = ?", (str((root / "out").resolve()),))
    return site


def _schema_of(url: str) -> str:
    """The schema a test URL of tests/servers.py puts first on the search path."""
    options = parse_qs(urlsplit(url).query)["options"][0]
    return options.removeprefix("-csearch_path=")


def _copy_tables(schema: str, db: Database) -> None:
    """Every row of the template's tables, identity values and all, into ``db``'s tables (made by its schema)."""
    tables = sorted(db.tables(), key=lambda table: table != "review_users")  # the one others refer to goes first
    with db.transaction() as tx:
        for table in tables:
            tx.execute(f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {schema}.{table}")
        identities = tx.execute("SELECT table_name, column_name FROM information_schema.columns "
                                "WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall()
        for table, column in identities:
            tx.execute(f"SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max({column}), 0) + 1, false) "
                       f"FROM {table}", (table, column))


def _event(writer: EvidenceWriter, frame: np.ndarray, origin, camera_id: str, change: StateChange) -> Event:
    """The pipeline's path for a state change: photos at rest start (held), then the event's photos."""
    if change.kind == "warn":
        rest = StateChange("rest", change.rule, change.zone_id, change.object_id, change.class_name, change.since_t,
                           change.since_t, change.xyxy, change.score)
        writer.hold(rest, writer.take(rest, frame, change.since_t, origin))
    photos = writer.save(change, writer.take(change, frame, change.t, origin))
    return event_from_change(change, camera_id, origin, photos)
