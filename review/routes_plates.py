"""The plate routes: a reviewer's plate correction, a plate's page, the audited plate search and, for admins, the
repeat offenders."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from review.accounts import Session
from review.plates import MAX_PLATE, PlateError, Plates
from review.web import Admin, CsrfForm, CsrfHeader, SignedIn, client_ip, render, reviewing, services, staff

router = APIRouter(dependencies=[Depends(staff)])


class CorrectionIn(BaseModel):
    event_id: str = Field(max_length=500)
    plate: str = Field("", max_length=10_000)


def plates(request: Request) -> Plates:
    """The app's plate services (``create_app`` keeps them on the app's state)."""
    return request.app.state.plates


@router.post("/plates/corrections", dependencies=[Depends(reviewing)])
def post_correction(request: Request, session: CsrfForm, event_id: Annotated[str, Form(max_length=500)],
                    plate: Annotated[str, Form(max_length=10_000)] = "",
                    filters: Annotated[str, Form()] = "") -> Response:
    """A reviewer's reading of the event's plate (the case page's form); back to the event, re-counted."""
    stored = _correct(request, session, event_id, plate)
    query = "&".join(part for part in (filters[:2000], f"plate_saved={quote(stored, safe='')}") if part)
    return RedirectResponse(f"/events/{quote(event_id, safe='/')}?{query}", status_code=303)


@router.post("/api/plates/corrections", dependencies=[Depends(reviewing)])
def api_correction(request: Request, session: CsrfHeader, body: CorrectionIn) -> dict[str, Any]:
    """The same correction as JSON (``X-CSRF-Token`` header); answers the plate and its offence as counted now."""
    stored = _correct(request, session, body.event_id, body.plate)
    case = services(request).cases.case(body.event_id)
    read = plates(request).read(case.event) if case else None
    return {"event_id": body.event_id, "plate": stored, "offence": read.offence if read else None,
            "action": read.action if read else None}


@router.get("/plates", response_class=HTMLResponse)
def search_page(request: Request, session: SignedIn, q: str | None = None) -> Response:
    """The plate search form; a search (``q`` given) is audited, with who and when, before it is answered."""
    found = None
    if q is not None:
        try:
            found = plates(request).search(q, session.user, client_ip(request))
        except PlateError as refused:
            raise HTTPException(400, str(refused)) from None
    return render(request, "plate_search.html", q=q or "", found=found)


@router.get("/plates/{plate}", response_class=HTMLResponse)
def plate_page(request: Request, session: SignedIn, plate: str) -> Response:
    """A plate's history across cameras: events, verdicts and offence numbers as counted now; a look-up by plate,
    so it is audited (by token) like a search."""
    if len(plate) > MAX_PLATE:
        raise HTTPException(400, f"a plate has at most {MAX_PLATE} characters; check the address")
    plates(request).audit_shown(session.user, [plate], client_ip(request), action="plate_history")
    history = plates(request).history(plate)
    if not history:
        raise HTTPException(404, f"no event of plate {plate!r} in the store")
    cameras = {entry.case.event.camera_id for entry in history}
    return render(request, "plate.html", plate=plate, history=history, cameras=sorted(cameras))


@router.get("/admin/plates", response_class=HTMLResponse)
def repeat_offenders(request: Request, _session: Admin) -> Response:
    """The plates with the most non-rejected warns within the lookback (admins only)."""
    app_plates = plates(request)
    lookback_days = app_plates.lookback_s / 86400
    return render(request, "repeat_offenders.html", offenders=app_plates.repeat_offenders(),
                  lookback_days=lookback_days)


def _correct(request: Request, session: Session, event_id: str, plate: str) -> str:
    try:
        return plates(request).correct(event_id, session.user, plate, client_ip(request))
    except PlateError as refused:
        raise HTTPException(404 if refused.missing_event else 400, str(refused)) from None
