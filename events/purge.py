"""The retention purge (DESIGN.md, "Plates and repeat offences"; docs/PLATES.md): plates are personal data.

After ``enforcement.retention``, an event no reviewer confirmed loses what identifies a person: its evidence
photos (plate crops, snapshots, crops, maps, sighting photos) are deleted, its ``plate``, ``plate_score`` and
photo paths are blanked in the store and a reviewer's correction of its plate (``review_plate_corrections``) is
deleted. The row stays with its ids and times (the history and the counts stay) and
``purge_log`` records what was purged and when, never the plate itself.

An event is kept when any event of its object (camera, zone, object) is ``confirmed`` in ``review_cases``: a
confirmed warn keeps its rest photos and its clear. Without the review tables nothing is confirmed. A photo is
deleted only when its path, every symbolic link followed, stays inside the camera's evidence folder (the
``cameras`` table's ``evidence_root``, else the store's folder) and names a photo; else it is left and logged as
``refused``. ``events.jsonl`` is the operator's append-only log and is not rewritten.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.paths import PathEscapes, under
from events.database import Database
from events.store import prepare_events, store_time

log = logging.getLogger(__name__)

PURGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS purge_log (   -- append-only: what the retention purge removed, and when
    purge_id INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,              -- UTC, when purged
    event_id TEXT NOT NULL,
    status   TEXT NOT NULL,              -- the event's review status then (rejected, pending, ...) or 'unreviewed'
    plate    INTEGER NOT NULL,           -- 1: a plate, its score or a correction went; the plate is not kept
    files    TEXT NOT NULL               -- JSON {evidence path: deleted | missing | refused}
);
CREATE INDEX IF NOT EXISTS purge_log_by_event ON purge_log (event_id);
"""
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
BATCH = 200  # events looked at per transaction: a batch takes milliseconds, so the live loop is not held up
_HOLDS_SOMETHING = ("e.plate IS NOT NULL OR e.plate_score IS NOT NULL OR e.evidence != '{}' "
                    "OR e.sightings LIKE '%\"snapshot\": \"%'")
CORRECTIONS = "review_plate_corrections"  # the review app's readings of misread plates: plates too
_CONFIRMED_OBJECT = ("EXISTS (SELECT 1 FROM events o JOIN review_cases k ON k.event_id = o.event_id "
                     "WHERE o.camera_id = e.camera_id AND o.zone_id = e.zone_id AND o.object_id = e.object_id "
                     "AND k.status = 'confirmed')")  # an index lookup per event: events_by_object


@dataclass(frozen=True)
class PurgedEvent:
    """One event's purge: its review status, whether a plate was blanked, each photo path and what became of it."""

    event_id: str
    status: str
    plate: bool
    files: dict[str, str]


class Purge:
    """The retention purge of one event store (an SQLite path or a ``postgresql://`` URL).

    Example:
        >>> purge = Purge("out/events.db", retention=30 * 86400)     # doctest: +SKIP
        >>> [p.event_id for p in purge.run()]                         # doctest: +SKIP
        ['cam-01/walk/7/warn', 'cam-01/walk/7/clear']
    """

    def __init__(self, store_path: str | Path, retention: float, batch: int = BATCH):
        self.retention = retention
        self.batch = batch
        self._db = Database(store_path)
        prepare_events(self._db)
        self._db.apply(PURGE_SCHEMA)
        # photos of cameras without an evidence_root are looked for beside an SQLite file (else in the cwd)
        self.store_path = Path(store_path) if self._db.dialect == "sqlite" else Path.cwd() / "events.db"

    def run(self, dry_run: bool = False, now: datetime | None = None) -> list[PurgedEvent]:
        """Purge every event older than the retention that no reviewer confirmed (``dry_run``: say which, and
        which photos, and change nothing)."""
        return [purged for batch in self.batches(dry_run, now) for purged in batch]

    def batches(self, dry_run: bool = False, now: datetime | None = None) -> Iterator[list[PurgedEvent]]:
        """The purge, one committed batch at a time (a batch may purge nothing: its events were too recent)."""
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=self.retention)
        after = 0
        while True:
            rows = self._db.execute(self._query(), (after, self.batch)).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            old = [row for row in rows if store_time(row[7]) <= cutoff]
            purged = [self._purge(row, dry_run) for row in old]
            if purged and not dry_run:
                self._record(purged)
            yield [event for event, _ in purged]
            if len(rows) < self.batch:
                return

    def close(self) -> None:
        self._db.close()

    def _query(self) -> str:
        reviewed, corrected = self._has_table("review_cases"), self._has_table(CORRECTIONS)
        status = "coalesce(s.status, 'unreviewed')" if reviewed else "'unreviewed'"
        join = " LEFT JOIN review_cases s ON s.event_id = e.event_id" if reviewed else ""
        join += f" LEFT JOIN {CORRECTIONS} p ON p.event_id = e.event_id" if corrected else ""
        holds = _HOLDS_SOMETHING + (" OR p.plate IS NOT NULL" if corrected else "")
        kept = f" AND NOT {_CONFIRMED_OBJECT}" if reviewed else ""
        return (f"SELECT e.rowid, e.event_id, e.plate, e.plate_score, e.evidence, e.sightings, c.evidence_root, "
                f"coalesce(e.ts, e.recorded_at), {status}, {'p.plate' if corrected else 'NULL'} FROM events e "
                f"LEFT JOIN cameras c ON c.camera_id = e.camera_id{join} "
                f"WHERE e.rowid > ? AND ({holds}){kept} ORDER BY e.rowid LIMIT ?")

    def _has_table(self, name: str) -> bool:
        return name in self._db.tables()

    def _purge(self, row: tuple, dry_run: bool) -> tuple[PurgedEvent, list[dict] | None]:
        """Delete one event's photos; returns what was purged and its sightings (to blank)."""
        _, event_id, plate, plate_score, evidence, sightings, root, _, status, correction = row
        evidence = json.loads(evidence) if evidence else {}
        sightings = json.loads(sightings) if sightings else None
        paths = [*evidence.values(), *(s["snapshot"] for s in sightings or () if s.get("snapshot"))]
        base = Path(root) if root else self.store_path.parent
        files = {path: delete_photo(base, path, dry_run) for path in dict.fromkeys(paths)}
        had_plate = plate is not None or plate_score is not None or correction is not None
        return PurgedEvent(event_id, status, had_plate, files), sightings

    def _record(self, purged: list[tuple[PurgedEvent, list[dict] | None]]) -> None:
        """Blank the batch's rows and log them in one transaction (after the files: a crash in between is purged
        again, its files then ``missing``)."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        corrections = self._has_table(CORRECTIONS)
        with self._db.transaction() as tx:
            for event, sightings in purged:
                tx.execute("UPDATE events SET plate = NULL, plate_score = NULL, evidence = '{}', sightings = ? "
                           "WHERE event_id = ?", (_blank(sightings), event.event_id))
                if corrections:
                    tx.execute(f"DELETE FROM {CORRECTIONS} WHERE event_id = ?", (event.event_id,))
                tx.execute("INSERT INTO purge_log (at, event_id, status, plate, files) VALUES (?, ?, ?, ?, ?)",
                           (at, event.event_id, event.status, int(event.plate),
                            json.dumps(event.files, ensure_ascii=False)))


def _blank(sightings: list[dict] | None) -> str | None:
    """The sightings' JSON without their photos."""
    return None if sightings is None else json.dumps([{**s, "snapshot": None} for s in sightings])


def delete_photo(root: Path, relative: str, dry_run: bool = False) -> str:
    """Delete the photo ``relative`` names under ``root``: ``deleted`` (``to delete`` in a dry run), ``missing``,
    or ``refused`` when the path leaves the folder (``..``, absolute, a symbolic link out) or is not a photo."""
    try:
        target = under(root, relative)
    except PathEscapes:
        return "refused"
    if target.suffix.lower() not in PHOTO_SUFFIXES:
        return "refused"
    if not target.is_file():
        return "missing"
    if dry_run:
        return "to delete"
    target.unlink(missing_ok=True)
    return "deleted"


class DailyPurge:
    """The purge of a long run: due at start, then once a ``period`` of wall time; each ``tick`` does one batch.

    Example:
        >>> daily = DailyPurge(lambda: Purge("out/events.db", 30 * 86400))   # doctest: +SKIP
        >>> daily.tick()     # in every turn of the live loop              # doctest: +SKIP
    """

    def __init__(self, make_purge: Callable[[], Purge], period: float = 86400.0,
                 clock: Callable[[], float] = lambda: datetime.now(UTC).timestamp()):
        self.make_purge = make_purge
        self.period = period
        self.clock = clock
        self.next_due = clock()
        self.runs = 0
        self._purge: Purge | None = None
        self._batches: Iterator[list[PurgedEvent]] | None = None
        self._purged = 0

    def tick(self) -> None:
        """Start the purge if it is due, else go on with the running one by a batch; failures are logged."""
        try:
            if self._batches is None:
                if self.clock() < self.next_due:
                    return
                self.next_due = self.clock() + self.period
                self._purge = self._purge or self.make_purge()
                self._batches, self._purged = self._purge.batches(), 0
                self.runs += 1
            self._purged += len(next(self._batches))
        except StopIteration:
            self._batches = None
            if self._purged:
                log.info("retention purge: %d event(s) lost their plates and photos", self._purged)
        except Exception:  # the purge must never stop the analysis; it is due again tomorrow
            log.exception("the retention purge failed")
            self._batches = None

    def close(self) -> None:
        if self._purge is not None:
            self._purge.close()
