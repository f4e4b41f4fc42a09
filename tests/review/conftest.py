"""Fixtures for the reviewers' web app: a real store per test, the app in-process, and logged-in clients."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from review.app import create_app
from review.zone_editor import ZoneFile
from streams.config_rules import PipelineConfigRules
from tests.review.site import PASSWORDS, Site, build_site, copy_site, street_frame


@pytest.fixture(scope="session")
def template_site(tmp_path_factory) -> Site:
    return build_site(tmp_path_factory.mktemp("review-template"), street_frame())


@pytest.fixture
def site(template_site, tmp_path) -> Site:
    return copy_site(template_site, tmp_path)


@pytest.fixture
def app(site):
    return create_app(site.db_path, ZoneFile(site.config_path, PipelineConfigRules()))


@pytest.fixture
def anonymous(app):
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture
def as_user(app):
    """``as_user("rita")``: a client logged in as that account (each its own cookie jar)."""
    clients = []

    def make(name: str) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        log_in(client, name, PASSWORDS[name])
        return client

    yield make
    for client in clients:
        client.close()


def log_in(client: TestClient, name: str, password: str, next_path: str = "/queue"):
    """Fill in and send the login form as a browser would; returns the POST's response."""
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
    response = client.post("/login", data={"name": name, "password": password, "csrf": token, "next": next_path})
    if response.status_code == 303:
        assert "streetorder_session" in client.cookies
    return response


def csrf_of(client: TestClient, page: str = "/queue") -> str:
    """The session's CSRF token, as a page carries it in its forms."""
    return re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)[1]
