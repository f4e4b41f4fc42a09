"""Shared fixtures. Real footage and weights come from ../shared; tests that need them skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STREETORDER_SHARED", ROOT.parent / "shared"))
CLIPS = SHARED / "data" / "clips"
MODELS = SHARED / "models"


def shared_clip(name: str) -> Path:
    path = CLIPS / name
    if not path.is_file():
        pytest.skip(f"real footage {path} is absent (tests need ../shared/data beside the checkout)")
    return path


@pytest.fixture(scope="session", autouse=True)
def model_search_path(tmp_path_factory):
    """Point the model search path at ../shared/models and keep ONNX exports in one cache for the session."""
    os.environ.setdefault("STREETORDER_MODEL_PATH", str(MODELS))
    os.environ.setdefault("STREETORDER_CACHE_DIR", str(tmp_path_factory.mktemp("model-cache")))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("STREETORDER_PLATES", "off")  # plates.enabled unset: no plate reads (tests that read set it)


@pytest.fixture(scope="session")
def require_models():
    if not (MODELS / "yolo11n.pt").is_file():
        pytest.skip(f"detector weights {MODELS}/yolo11n.pt are absent (tests need ../shared/models)")
    return MODELS


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on loopback for the session (skips when Debian's postgresql is absent)."""
    from tests.servers import PostgresServer
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path):
    """Where a test's store lives, once per backend: an SQLite file, then a fresh schema on a real PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "events.db")
    return request.getfixturevalue("postgres_server").fresh_url()
