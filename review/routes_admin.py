"""The admin's routes: precision and agreement, the audit trail, the dataset export, the zone editor, the sinks'
outbox and the live cameras' status."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from contracts.names import ZONE_TYPES
from review.evidence import EvidenceRefused, read_evidence
from review.export import DatasetExport, export_counts
from review.routes_plates import plates
from review.stats import PrecisionRow
from review.web import Admin, CsrfForm, CsrfHeader, admin, client_ip, render, services
from review.zone_editor import CameraPicture, ZoneEdit, ZoneEditError, ZoneFile

router = APIRouter(dependencies=[Depends(admin)])
MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer: a bigger ``before`` is refused (400), not an overflow (500)
STALE_AFTER = 60.0  # seconds: a camera status older than this was not renewed (is `streetorder run` running?)


class ZoneIn(BaseModel):
    id: str = Field(max_length=100)
    type: str = Field(max_length=40)
    polygon: list[tuple[float, float]] = Field(max_length=2000)
    warn_after: str | None = Field(None, max_length=40)


class ZonesIn(BaseModel):
    version: str = Field(max_length=64)
    zones: list[ZoneIn] = Field(max_length=200)


@router.get("/admin", response_class=HTMLResponse)
def precision_page(request: Request) -> Response:
    return render(request, "admin_stats.html", report=services(request).stats.report())


@router.get("/api/admin/stats")
def precision_json(request: Request) -> dict[str, Any]:
    report = services(request).stats.report()
    return {"by_camera": _precision_json(report.by_camera), "by_rule": _precision_json(report.by_rule),
            "agreement": asdict(report.agreement), "verdicts_by_reviewer": report.verdicts_by_reviewer}


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: Admin, user: str = "", event: str = "", plate: str = "",
               before: str = "") -> Response:
    """The audit trail, filtered by user, event and plate (``plate`` is hashed as the trail's plate tokens are;
    looking a plate up is audited too)."""
    terms = plates(request).audit_terms(plate, session.user, client_ip(request)) if plate.strip() else ()
    lines = services(request).verdicts.audit(event_id=event or None, user_name=user or None,
                                             before=_audit_id(before), detail_has=terms)
    return render(request, "audit.html", lines=lines, user_filter=user, event_filter=event, plate_filter=plate,
                  plate_token=terms[0] if terms else None, older=lines[-1].audit_id if len(lines) == 100 else None)


@router.get("/admin/export", response_class=HTMLResponse)
def export_page(request: Request) -> Response:
    positives, negatives = export_counts(services(request).db)
    return render(request, "export.html", positives=positives, negatives=negatives)


@router.post("/admin/export")
def export_dataset(request: Request, session: CsrfForm) -> Response:
    app = services(request)
    export = DatasetExport(app.db)
    positives = sum(s.positive for s in export.samples)
    app.verdicts.log(session.user, "export", f"YOLO dataset: {positives} positive(s), "
                     f"{len(export.samples) - positives} hard negative(s) requested", client_ip(request))
    name = f"streetorder-dataset-{datetime.now(UTC):%Y%m%d-%H%M%S}.zip"
    return StreamingResponse(export.zip_stream(), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/admin/zones", response_class=HTMLResponse)
def zones_page(request: Request) -> Response:
    zone_file = services(request).zone_file
    cameras = zone_file.camera_ids() if zone_file else []
    return render(request, "zones.html", zone_file=zone_file, cameras=cameras)


@router.get("/admin/zones/{camera_id}", response_class=HTMLResponse)
def zone_editor_page(request: Request, camera_id: str, session: Admin) -> Response:
    zone_file = _zone_file(request)
    picture = _picture(request, camera_id)
    data = {"camera_id": camera_id, "zones": zone_file.zones_of(camera_id), "version": zone_file.version(),
            "width": picture.width if picture else None, "height": picture.height if picture else None,
            "picture_url": f"/admin/zones/{camera_id}/picture" if picture else None, "csrf": session.csrf_token,
            "types": list(ZONE_TYPES)}
    return render(request, "zone_editor.html", camera_id=camera_id, data=data, picture=picture,
                  config_path=str(zone_file.path))


@router.get("/admin/zones/{camera_id}/picture")
def zone_picture(request: Request, camera_id: str) -> Response:
    picture = _picture(request, camera_id)
    if picture is None:
        raise HTTPException(404, f"no picture of camera {camera_id!r} yet")
    return Response(picture.jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})


@router.post("/api/admin/zones/{camera_id}")
def save_zones(request: Request, camera_id: str, session: CsrfHeader, body: ZonesIn) -> Response:
    zone_file = _zone_file(request)
    picture = _picture(request, camera_id)
    edits = [ZoneEdit(z.id, z.type, list(z.polygon), z.warn_after) for z in body.zones]
    try:
        result = zone_file.save(camera_id, edits, body.version,
                                (picture.width, picture.height) if picture else None)
    except ZoneEditError as refused:
        return JSONResponse({"error": str(refused)}, status_code=422)
    message = result.sentence(camera_id)
    services(request).verdicts.log(session.user, "zones_saved", f"{zone_file.path.name}: {message}",
                                   client_ip(request))
    return JSONResponse({"version": result.version, "message": f"Saved to {zone_file.path.name}: {message}. "
                         "Running pipelines pick the zones up when they are restarted.",
                         "zones": zone_file.zones_of(camera_id)})


def _audit_id(text: str) -> int | None:
    """The audit line number ``before`` pages back from (none when empty), or a 400 with a sentence."""
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", text) or int(text) > MAX_ROW_ID:
        raise HTTPException(400, f"before={text[:40]!r} is not an audit line number; use the page's 'older' link")
    return int(text)


def _precision_json(rows: list[PrecisionRow]) -> list[dict[str, Any]]:
    return [{**asdict(r), "precision": r.precision, "interval": r.interval} for r in rows]


def _zone_file(request: Request) -> ZoneFile:
    zone_file = services(request).zone_file
    if zone_file is None:
        raise HTTPException(404, "the zone editor needs the config file: start the app with --config cameras.yaml")
    return zone_file


def _picture(request: Request, camera_id: str) -> CameraPicture | None:
    app = services(request)
    zone_file = _zone_file(request)
    if camera_id not in zone_file.camera_ids():
        raise HTTPException(404, f"no camera {camera_id!r} in {zone_file.path.name}")
    if camera_id not in app.pictures:
        picture = zone_file.picture(camera_id, lambda: _latest_snapshot(request, camera_id))
        if picture is None:
            return None
        app.pictures[camera_id] = picture
    return app.pictures[camera_id]


def _latest_snapshot(request: Request, camera_id: str) -> bytes | None:
    found = services(request).cases.latest_snapshot(camera_id)
    if found is None:
        return None
    try:
        return read_evidence(*found)[0]
    except (EvidenceRefused, OSError):
        return None


@router.get("/admin/sinks", response_class=HTMLResponse)
def sinks_page(request: Request) -> Response:
    outbox = services(request).outbox
    return render(request, "sinks.html", counts=outbox.counts(), dead=outbox.dead(limit=100),
                  ages={sink: outbox.oldest_pending_age(sink) for sink in outbox.counts()})


@router.get("/api/admin/sinks")
def sinks_json(request: Request) -> dict[str, Any]:
    outbox = services(request).outbox
    return {"sinks": {sink: {**counts, "oldest_pending_s": outbox.oldest_pending_age(sink)}
                      for sink, counts in outbox.counts().items()}, "dead": outbox.dead(limit=100)}


@router.post("/admin/sinks/retry")
def retry_dead_rows(request: Request, session: CsrfForm, sink: str = Form("", max_length=200)) -> Response:
    """Dead outbox rows (of one sink, or all) become pending again: the senders of `run`, `process` or
    `streetorder sinks send` deliver them."""
    app = services(request)
    retried = app.outbox.retry_dead(sink or None)
    app.verdicts.log(session.user, "retry_dead", f"{retried} dead event(s) of {sink or 'every sink'} made pending",
                     client_ip(request))
    return RedirectResponse("/admin/sinks", status_code=303)


@router.get("/admin/cameras", response_class=HTMLResponse)
def cameras_page(request: Request) -> Response:
    now = datetime.now(UTC)
    return render(request, "cameras.html", statuses=services(request).camera_statuses.all(), now=now,
                  stale_after=STALE_AFTER)


@router.get("/api/admin/cameras")
def cameras_json(request: Request) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"cameras": [{**asdict(s), "age_s": s.age_s(now), "frame_age_s": s.frame_age_s(now),
                         "stale": s.age_s(now) > STALE_AFTER} for s in services(request).camera_statuses.all()]}
