"""Log in and log out.

The login form is the one page open to anyone. It carries its own CSRF token (a random value in a short-lived
SameSite=Strict cookie, repeated in the form), so another site cannot log a reviewer into someone else's account.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from review.accounts import SESSION_LIFETIME, LoginRefused
from review.web import LOGIN_CSRF_COOKIE, SESSION_COOKIE, CsrfForm, client_ip, local_path, render, services

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/queue") -> Response:
    if services(request).accounts.session(request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse(local_path(next), status_code=303)
    return _form(request, next)


@router.post("/login", response_class=HTMLResponse)
def log_in(request: Request, name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
           csrf: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/queue") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _form(request, next, "The login form was out of date; please log in again.", 403)
    try:
        token, session = services(request).accounts.log_in(name, password, client_ip(request))
    except LoginRefused as refused:
        return _form(request, next, refused.message, 429 if refused.throttled else 401, name)
    target = local_path(next)
    if session.user.is_officer and target == "/queue":  # the default: an officer's page is their unit's cases
        target = "/officer"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True,
                        samesite="strict", secure=services(request).secure_cookies, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def log_out(request: Request, _session: CsrfForm) -> Response:
    services(request).accounts.log_out(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _form(request: Request, next_path: str, error: str = "", status: int = 200, name: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status_code=status, login_csrf=token, next=local_path(next_path),
                      error=error, name=name)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=services(request).secure_cookies, path="/login")
    return response
