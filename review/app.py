"""The reviewers' web app: FastAPI, server-rendered Jinja2 pages and a little JavaScript for the keyboard.

Every route but the login form and the static files (CSS, JavaScript) needs a session; admin routes need the
admin role; every state-changing request needs the session's CSRF token and, when the browser says where it
comes from, this site as its origin.

Example:
    >>> app = create_app("out/example/events.db", ZoneFile("cameras.yaml", PipelineConfigRules()))  # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8080)                                       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from events.outbox import SinkRoute
from review import routes_admin, routes_auth, routes_cases, routes_map, routes_officer, routes_plates, routes_reports
from review.cases import FilterError
from review.db import Database, utc_now
from review.lifecycle import CaseForbidden, LifecycleError
from review.plates import PlateRules, Plates
from review.uploads import UploadRefused
from review.verdicts import VerdictError
from review.web import CsrfRefused, NotAllowed, NotSignedIn, Services, is_api, render
from review.zone_editor import ZoneFile

ROUTERS = (routes_auth.router, routes_cases.router, routes_admin.router, routes_plates.router, routes_officer.router,
           routes_reports.router, routes_map.router)
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def create_app(store: str | Path, zone_file: ZoneFile | None = None, secure_cookies: bool = False,
               plate_rules: PlateRules | None = None, dispatch: Sequence[SinkRoute] = (),
               deadline: Callable[[str], float] | None = None, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    """The app over the event store ``store`` (its SQLite file or a ``postgresql://`` URL); ``zone_file`` (the
    config YAML) enables the zone editor, ``plate_rules`` (the plate grammar and the ladder) plate corrections and
    offences counted with them, ``dispatch`` the sinks a confirmed alarm goes to, ``deadline`` a rule's seconds
    from its dispatch to its deadline (``dispatch.deadlines``), ``clock`` what now is for them."""
    services = Services(Database(store), zone_file, secure_cookies, dispatch=dispatch,
                        deadline=deadline, clock=clock)
    app = FastAPI(title="streetorder review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    app.state.plates = Plates(services.db, plate_rules)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _add_guards(app)
    return app


def _add_guards(app: FastAPI) -> None:
    @app.middleware("http")
    async def same_origin_and_headers(request: Request, call_next):
        if request.method in UNSAFE_METHODS and _cross_site(request):
            response: Response = _refuse(request, 403, "This request came from another site and was refused.")
        else:
            response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith(("/static/", "/evidence/")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _exc: NotSignedIn):
        if is_api(request):
            return JSONResponse({"detail": "log in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(NotAllowed)
    @app.exception_handler(CaseForbidden)
    async def not_allowed(request: Request, exc: NotAllowed | CaseForbidden):
        return _refuse(request, 403, str(exc))

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused):
        return _refuse(request, 403, "The form was out of date or did not come from this site; reload the page "
                                     "and try again.")

    @app.exception_handler(FilterError)
    @app.exception_handler(VerdictError)
    async def bad_request(request: Request, exc: ValueError):
        return _refuse(request, 400, str(exc))

    @app.exception_handler(LifecycleError)
    async def step_refused(request: Request, exc: LifecycleError):
        return _refuse(request, exc.status, str(exc))

    @app.exception_handler(UploadRefused)
    async def photo_refused(request: Request, exc: UploadRefused):
        return _refuse(request, exc.status, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return _refuse(request, exc.status_code, str(exc.detail))


def _cross_site(request: Request) -> bool:
    if request.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = request.headers.get("origin")
    return bool(origin) and origin != f"{request.url.scheme}://{request.url.netloc}"


def _refuse(request: Request, status: int, message: str) -> Response:
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    return render(request, "error.html", status_code=status, message=message, status=status)
