"""The reviewer's routes: the queue, one case, verdicts (form and JSON), and the evidence photos."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from events.record import Event
from review.accounts import Session
from review.cases import Case, QueueFilter
from review.patrol import event_position, evidence_url, patrol_view
from review.plates import PlateRead
from review.routes_plates import plates
from review.verdicts import MAX_NOTE
from review.web import (
    CsrfForm,
    CsrfHeader,
    SignedIn,
    client_ip,
    evidence_response,
    render,
    reviewing,
    services,
    staff,
)

router = APIRouter(dependencies=[Depends(staff)])  # officers: their unit's cases on /officer only
ShowPlates = Annotated[bool, Query(alias="plates")]  # ?plates=1: the API shows plates, and the audit says so


class VerdictIn(BaseModel):
    event_id: str = Field(max_length=500)
    verdict: str = Field(max_length=20)
    reason: str | None = Field(None, max_length=40)
    note: str | None = Field(None, max_length=MAX_NOTE)
    filters: str = Field("", max_length=2000)


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, session: SignedIn, page: int = 1) -> Response:
    chosen = QueueFilter.from_params(request.query_params)
    cases = services(request).cases
    return render(request, "queue.html", chosen=chosen, result=cases.page(chosen, session.user, page),
                  filter_options=cases.options(), cameras=cases.cameras(), done=request.query_params.get("done"),
                  saved=request.query_params.get("saved"))


@router.get("/events/{event_id:path}", response_class=HTMLResponse)
def event_page(request: Request, event_id: str, session: SignedIn) -> Response:
    app = services(request)
    case = _case_or_404(request, event_id)
    chosen = QueueFilter.from_params(request.query_params)
    verdicts = app.verdicts.of_event(event_id)
    patrol = patrol_view(case.event)
    return render(
        request, "event.html", case=case, event=case.event, chosen=chosen,
        camera=app.cases.camera(case.event.camera_id),
        next_id=app.cases.neighbour(chosen, session.user, case.seq, forward=True),
        prev_id=app.cases.neighbour(chosen, session.user, case.seq, forward=False),
        verdicts=verdicts, mine=next((v for v in verdicts if v.user_name == session.user.name), None),
        history=app.verdicts.audit(event_id=event_id, limit=50), related=app.cases.same_object(case.event),
        saved=request.query_params.get("saved"), saved_choice=request.query_params.get("choice"),
        patrol=patrol, where=event_position(case.event), photos=_photos(case, shown=patrol.photos if patrol else set()),
        plate=plates(request).read(case.event), plate_saved=request.query_params.get("plate_saved"))


@router.post("/verdicts", dependencies=[Depends(reviewing)])
def post_verdict(request: Request, session: CsrfForm, event_id: Annotated[str, Form()],
                 choice: Annotated[str, Form()], note: Annotated[str, Form()] = "",
                 filters: Annotated[str, Form()] = "") -> Response:
    """A verdict from the case page (``choice`` is ``confirm``, ``unsure`` or ``reject:<reason>``); on to the
    next case of the same queue."""
    verdict, _, reason = choice.partition(":")
    app = services(request)
    app.verdicts.record(event_id, session.user, verdict, reason or None, note[:MAX_NOTE + 1], client_ip(request))
    chosen = QueueFilter.from_params(dict(parse_qsl(filters)))
    following = app.cases.next_case(chosen, session.user, _case_or_404(request, event_id).seq)
    flash = f"saved={quote(event_id, safe='')}&choice={quote(choice, safe='')}"
    query = "&".join(part for part in (chosen.query(), flash) if part)
    if following is None:
        return RedirectResponse(f"/queue?{query}&done=1", status_code=303)
    return RedirectResponse(f"/events/{quote(following, safe='/')}?{query}", status_code=303)


@router.get("/api/events")
def api_queue(request: Request, session: SignedIn, page: int = 1, plates_shown: ShowPlates = False) -> dict[str, Any]:
    """A queue page as JSON; plates masked unless ``?plates=1``, which is audited (docs/REVIEW.md)."""
    chosen = QueueFilter.from_params(request.query_params)
    result = services(request).cases.page(chosen, session.user, page)
    return {"total": result.total, "page": result.page, "pages": result.pages,
            "events": _cases_json(request, session, result.cases, plates_shown)}


@router.get("/api/events/{event_id:path}")
def api_event(request: Request, event_id: str, session: SignedIn, plates_shown: ShowPlates = False) -> dict[str, Any]:
    app = services(request)
    case = _case_or_404(request, event_id)
    [case_json] = _cases_json(request, session, [case], plates_shown, event_id)
    return {**case_json,
            "verdicts": [{"user": v.user_name, "verdict": v.verdict, "reason": v.reason, "note": v.note,
                          "decided_at": v.decided_at} for v in app.verdicts.of_event(event_id)]}


@router.post("/api/verdicts", dependencies=[Depends(reviewing)])
def api_verdict(request: Request, session: CsrfHeader, body: VerdictIn) -> dict[str, Any]:
    app = services(request)
    recorded = app.verdicts.record(body.event_id, session.user, body.verdict, body.reason, body.note,
                                   client_ip(request))
    case = _case_or_404(request, body.event_id)
    chosen = QueueFilter.from_params(dict(parse_qsl(body.filters)))
    return {"recorded": recorded, "status": case.status,
            "next": app.cases.next_case(chosen, session.user, case.seq)}


@router.get("/evidence/{camera_id}/{path:path}")
def evidence(request: Request, camera_id: str, path: str) -> Response:
    camera = services(request).cases.camera(camera_id)
    if camera is None:
        raise HTTPException(404, f"no camera {camera_id!r} in the store")
    return evidence_response(camera.evidence_root, path)


def _case_or_404(request: Request, event_id: str) -> Case:
    case = services(request).cases.case(event_id)
    if case is None:
        raise HTTPException(404, f"no event {event_id!r} in the store")
    return case


def _photos(case: Case, shown: set[str]) -> list[tuple[str, str]]:
    """(caption, URL) of the case's photos, in the order a reviewer reads them, but for those ``shown`` already
    (a patrol warn's sightings)."""
    captions = {"warn": "at warn", "escalate": "at escalation", "clear": "the spot after it left"}
    order = (("rest_snapshot", "At rest start"), ("snapshot", captions.get(case.event.type, "at event").capitalize()),
             ("crop", "Close-up"), ("rest_crop", "Close-up at rest start"))
    evidence = case.event.evidence
    return [(caption, evidence_url(case.event.camera_id, evidence[key]))
            for key, caption in order if evidence.get(key) and evidence[key] not in shown]


def _cases_json(request: Request, session: Session, cases: list[Case], shown: bool,
                event_id: str | None = None) -> list[dict[str, Any]]:
    """The cases as JSON, each with its plate (``_plate_json``); plates shown are audited first."""
    reads = plates(request).reads([case.event for case in cases])
    if shown:
        seen = [plate for read in reads.values() if read for plate in (read.plate, read.read)]
        plates(request).audit_shown(session.user, seen, client_ip(request), event_id)
    return [{"seq": case.seq, "event": _event_json(case.event, shown), "recorded_at": case.recorded_at,
             "status": case.status, "reason": case.reason, "reviewers": case.reviewers,
             "plate": _plate_json(reads[case.event.event_id], shown)} for case in cases]


def _event_json(event: Event, shown: bool) -> dict[str, Any]:
    """The event line; masked, without its plate (null) and plate crop."""
    line = event.to_json()
    if not shown:
        line["plate"] = None
        line["evidence"] = {key: path for key, path in line["evidence"].items() if key != "plate_crop"}
    return line


def _plate_json(read: PlateRead | None, shown: bool) -> dict[str, Any] | None:
    """The plate as reviewers see it (a correction applied, offences counted now); masked, no text or crop."""
    if read is None:
        return None
    return {"masked": not shown, "known": read.plate is not None,
            "plate": read.plate if shown else None, "read": read.read if shown else None, "score": read.score,
            "offence": read.offence, "action": read.action, "corrected": read.corrected,
            "corrected_by": read.corrected_by, "corrected_at": read.corrected_at,
            "crop_url": read.crop_url if shown else None}
