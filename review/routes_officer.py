"""The cases after dispatch: the officer page (an officer's unit, everyone's for the other roles), its steps
(handled with a note and a photo, verified, closed) as forms and as JSON, and the case photos."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as Upload

from review.accounts import User
from review.lifecycle import MAX_HANDLED_NOTE, Dispatched, NoSuchCase, check_note
from review.patrol import event_position
from review.uploads import MAX_UPLOAD_BYTES, store_photo
from review.web import CsrfForm, CsrfHeader, SignedIn, client_ip, evidence_response, render, services, signed_in

router = APIRouter(dependencies=[Depends(signed_in)])
PHOTO_KEYS = ("snapshot", "crop", "rest_snapshot", "handled")
Photo = Annotated[UploadFile | str | None, File()]


class StepIn(BaseModel):
    case: str = Field(max_length=500)


@router.get("/")
def home(session: SignedIn) -> Response:
    return RedirectResponse("/officer" if session.user.is_officer else "/queue", status_code=303)


@router.get("/officer", response_class=HTMLResponse)
def officer_page(request: Request, session: SignedIn) -> Response:
    app = services(request)
    cases = app.lifecycle.cases(session.user)
    return render(request, "officer.html", cases=cases, cameras=app.cases.cameras(),
                  places={c.event.event_id: event_position(c.event) for c in cases},
                  done=request.query_params.get("done"), done_case=request.query_params.get("case"),
                  max_note=MAX_HANDLED_NOTE, max_mb=MAX_UPLOAD_BYTES // (1024 * 1024))


@router.get("/officer/photo")
def case_photo(request: Request, session: SignedIn, case: str, key: str) -> Response:
    """A photo of a case the user may see: the event's evidence or the officer's photo (``key=handled``)."""
    found = _case(request, session.user, case)
    path = found.handled_photo if key == "handled" else found.event.evidence.get(key) if key in PHOTO_KEYS else None
    camera = services(request).cases.camera(found.event.camera_id)
    if not path or camera is None:
        raise HTTPException(404, f"case {case!r} has no {key} photo")
    return evidence_response(camera.evidence_root, path)


@router.post("/officer/handled")
def post_handled(request: Request, session: CsrfForm, case: Annotated[str, Form()],
                 note: Annotated[str, Form()] = "", photo: Photo = None) -> Response:
    _handled(request, session.user, case, note, photo)
    return _back("handled", case)


@router.post("/officer/verify")
def post_verify(request: Request, session: CsrfForm, case: Annotated[str, Form()]) -> Response:
    services(request).lifecycle.verify(case, session.user, client_ip(request))
    return _back("verified", case)


@router.post("/officer/close")
def post_close(request: Request, session: CsrfForm, case: Annotated[str, Form()]) -> Response:
    services(request).lifecycle.close(case, session.user, client_ip(request))
    return _back("closed", case)


@router.get("/api/cases")
def api_cases(request: Request, session: SignedIn) -> dict[str, Any]:
    """The open cases the user may see (an officer: their unit's), newest dispatch first."""
    return {"cases": [case.to_json() for case in services(request).lifecycle.cases(session.user)]}


@router.post("/api/cases/handled")
def api_handled(request: Request, session: CsrfHeader, case: Annotated[str, Form()],
                note: Annotated[str, Form()] = "", photo: Photo = None) -> dict[str, Any]:
    """Multipart form fields ``case``, ``note`` and an optional ``photo``; the CSRF token in its header."""
    _handled(request, session.user, case, note, photo)
    return _case(request, session.user, case).to_json()


@router.post("/api/cases/verify")
def api_verify(request: Request, session: CsrfHeader, body: StepIn) -> dict[str, Any]:
    services(request).lifecycle.verify(body.case, session.user, client_ip(request))
    return _case(request, session.user, body.case).to_json()


@router.post("/api/cases/close")
def api_close(request: Request, session: CsrfHeader, body: StepIn) -> dict[str, Any]:
    services(request).lifecycle.close(body.case, session.user, client_ip(request))
    return _case(request, session.user, body.case).to_json()


@router.get("/api/cases/{event_id:path}")
def api_case(request: Request, session: SignedIn, event_id: str) -> dict[str, Any]:
    return _case(request, session.user, event_id).to_json()


def _handled(request: Request, user: User, event_id: str, note: str, photo: UploadFile | str | None) -> None:
    """Check the step and the note before a byte of the photo is stored, then store it and take the step."""
    app = services(request)
    note = check_note(note[:MAX_HANDLED_NOTE + 1])
    found = app.lifecycle.allowed(event_id, user, "handled")
    stored = None
    if isinstance(photo, Upload) and photo.filename:  # FastAPI hands over Starlette's class
        data = photo.file.read(MAX_UPLOAD_BYTES + 1)
        camera = app.cases.camera(found.event.camera_id)
        stored = store_photo(camera.evidence_root if camera else None, data)
    app.lifecycle.handled(event_id, user, note, stored, client_ip(request))


def _case(request: Request, user: User, event_id: str) -> Dispatched:
    found = services(request).lifecycle.case(event_id, user)
    if found is None:
        raise NoSuchCase(f"no dispatched case {event_id!r}; reload the page")
    return found


def _back(step: str, event_id: str) -> Response:
    return RedirectResponse(f"/officer?done={step}&case={quote(event_id, safe='')}", status_code=303)
