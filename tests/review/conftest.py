"""Fixtures for the reviewers' web app: a real store per test, the app in-process, and logged-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from events.database import is_server
from review.app import create_app
from review.zone_editor import ZoneFile
from streams.config_rules import PipelineConfigRules
from tests.review.site import PASSWORDS, Site, build_site, copy_site, street_frame

# For a test of the SQLite store's file itself (what a copy of it or a link to it gives away): that backend only.
sqlite_only = pytest.mark.parametrize("store_target", ["sqlite"], indirect=True)
# For what only a server does (writers that commit side by side).
postgresql_only = pytest.mark.parametrize("store_target", ["postgresql"], indirect=True)


@pytest.fixture(scope="session")
def street() -> np.ndarray:
    return street_frame()


@pytest.fixture(scope="session")
def template_site(tmp_path_factory, street) -> Site:
    return build_site(tmp_path_factory.mktemp("review-template"), street)


@pytest.fixture(scope="session")
def postgresql_template_site(tmp_path_factory, street, postgres_server) -> Site:
    return build_site(tmp_path_factory.mktemp("review-template-pg"), street, postgres_server.fresh_url())


@pytest.fixture
def site(request, store_target, tmp_path) -> Iterator[Site]:
    """A private copy of the test site, once on SQLite and once on PostgreSQL (``store_target``)."""
    if is_server(store_target):
        built = copy_site(request.getfixturevalue("postgresql_template_site"), tmp_path, store_target)
    else:
        built = copy_site(request.getfixturevalue("template_site"), tmp_path)
    yield built
    built.close()


@pytest.fixture
def app(site):
    app = create_app(site.db_path, ZoneFile(site.config_path, PipelineConfigRules()))
    yield app
    app.state.services.db.close()


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
