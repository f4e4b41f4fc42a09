"""Web plumbing shared by the routes: the services, who is asking, CSRF checks and page rendering.

Guards raise exceptions that ``review.app`` turns into the right answer for the kind of request: a page is sent
to the login form or shown a short refusal, an API call (``/api/...``, ``/evidence/...``) gets a JSON error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from contracts.names import RULES
from events.camera_status import CameraStatuses
from events.drawing import format_dwell
from events.outbox import Outbox, SinkRoute
from events.record import ViewRecord
from review.accounts import Accounts, Session
from review.cases import STATUS_CHOICES, TYPE_CHOICES, Cases
from review.db import Database, utc_now
from review.evidence import EvidenceRefused, read_evidence
from review.lifecycle import Lifecycle
from review.stats import Stats
from review.verdicts import REASONS, Verdicts
from review.zone_editor import CameraPicture, ZoneFile

SESSION_COOKIE = "streetorder_session"
LOGIN_CSRF_COOKIE = "streetorder_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["dwell"] = format_dwell
TEMPLATES.env.filters["event_url"] = lambda event_id: "/events/" + quote(event_id, safe="/")
TEMPLATES.env.filters["when"] = lambda case: when(case.event.ts, case.recorded_at)
TEMPLATES.env.filters["view_note"] = lambda view: view_note(view)
TEMPLATES.env.globals.update(
    REASONS=REASONS, RULES=RULES, TYPES=tuple(TYPE_CHOICES), STATUSES=STATUS_CHOICES,
    TYPE_LABELS={"review": "warn + escalate", "all": "all types"},
    STATUS_LABELS={"pending": "awaiting review", "mine": "not yet judged by me", "reviewed": "any verdict",
                   "all": "everything"},
)


@dataclass
class Services:
    """What the routes work with; one per app."""

    db: Database
    zone_file: ZoneFile | None = None
    secure_cookies: bool = False
    pictures: dict[str, CameraPicture] = field(default_factory=dict)  # the zone editor's frames, read once
    dispatch: Sequence[SinkRoute] = ()  # the sinks confirmed alarms go to (``sinks[].when: confirmed``)
    deadline: Callable[[str], float] | None = None  # a rule's seconds from dispatch to deadline (dispatch.deadlines)
    clock: Callable[[], datetime] = utc_now  # what "now" is for deadlines (tests inject one)

    def __post_init__(self):
        self.accounts = Accounts(self.db)
        self.cases = Cases(self.db)
        self.lifecycle = Lifecycle(self.db, self.deadline, self.clock)
        self.verdicts = Verdicts(self.db, self.dispatch, self.lifecycle)
        self.stats = Stats(self.db)
        self.outbox = Outbox(self.db)  # what the sinks got and are owed (the admin's sinks page)
        self.camera_statuses = CameraStatuses(self.db)  # what `streetorder run` last saw (the cameras page)


class NotSignedIn(Exception):
    """No live session came with the request."""


class NotAllowed(Exception):
    """The signed-in user's role may not do this; the message says what the role may do."""

    def __init__(self, message: str = "Only an admin may open this page."):
        super().__init__(message)


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token (or from another site)."""


def services(request: Request) -> Services:
    return request.app.state.services


def signed_in(request: Request) -> Session:
    """The request's session; every route but the login form and static files depends on it."""
    session = services(request).accounts.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotSignedIn
    request.state.session = session
    return session


SignedIn = Annotated[Session, Depends(signed_in)]


def admin(session: SignedIn) -> Session:
    if not session.user.is_admin:
        raise NotAllowed
    return session


def check_csrf(session: Session, supplied: str | None) -> None:
    if not session.csrf_ok(supplied):
        raise CsrfRefused


async def csrf_form(request: Request, session: SignedIn) -> Session:
    """For form posts: the ``csrf`` field must be this session's token."""
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    return session


def csrf_header(request: Request, session: SignedIn) -> Session:
    """For JSON API calls: the ``X-CSRF-Token`` header must be this session's token."""
    check_csrf(session, request.headers.get(CSRF_HEADER))
    return session


def staff(session: SignedIn) -> Session:
    """Reviewers, dispatchers and admins: the queue, the events, the evidence, the plates; not officers."""
    if session.user.is_officer:
        raise NotAllowed("Officers see their unit's cases on the officer page (/officer) only.")
    return session


def reviewing(session: SignedIn) -> None:
    """Verdicts and plate corrections: reviewers and admins."""
    if not session.user.reviews:
        raise NotAllowed("Only reviewers and admins give verdicts.")


Admin = Annotated[Session, Depends(admin)]
CsrfForm = Annotated[Session, Depends(csrf_form)]
CsrfHeader = Annotated[Session, Depends(csrf_header)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/evidence/"))


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    context.update(request=request, session=session, user=session.user if session else None,
                   csrf=session.csrf_token if session else "")
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def when(ts: str | None, recorded_at: str) -> str:
    """The event's wall time where known (local to the camera), else when it was recorded (UTC).

    >>> when("2026-11-22T08:09:02+08:00", "x"), when(None, "2026-11-22T00:09:05+00:00")
    ('2026-11-22 08:09:02', '2026-11-22 00:09 UTC (recorded)')
    """
    if ts:
        return ts[:19].replace("T", " ")
    return recorded_at[:16].replace("T", " ") + " UTC (recorded)"


def view_note(view: ViewRecord) -> str:
    """What a camera's view at an event means for its photos (docs/CAMERA_MOVES.md).

    >>> view_note(ViewRecord(state="shifted", displacement_px=34.0))
    'Camera view shifted 34 px: zones re-anchored (the zone in the photo is drawn where it then lay).'
    """
    at = f" at preset {view.preset}" if view.preset else ""
    if view.state == "shifted":
        return (f"Camera view{at} shifted {view.displacement_px or 0:.0f} px: zones re-anchored (the zone in the "
                "photo is drawn where it then lay).")
    if view.state == "moved":
        return ("Camera view moved (re-aimed, zoomed or covered): the timers waited; the zone in the photo may not "
                "cover the ground it was drawn on.")
    return f"Camera view{at} as its reference (checked; zones where the config draws them)."


def local_path(target: str | None, fallback: str = "/queue") -> str:
    """``target`` if it is a path on this site, else ``fallback`` (no open redirect through ``?next=``).

    >>> local_path("/events/cam/z/1/warn"), local_path("//evil.example/"), local_path("https://evil.example/")
    ('/events/cam/z/1/warn', '/queue', '/queue')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def evidence_response(root: Path, path: str) -> Response:
    """An evidence photo under ``root`` as a private, cached response; 404 when missing, 400 when refused."""
    try:
        data, media_type = read_evidence(root, path)
    except EvidenceRefused as refused:
        raise HTTPException(404 if refused.missing else 400, str(refused)) from None
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})
