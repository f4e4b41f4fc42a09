"""The operations map's JSON: the snapshot (cameras placed by geo, unit polygons, tracks, statuses, newest events),
an officer's map of their unit only, hostile numbers, and the live stream over a real uvicorn server: a newly stored
event and a status change arrive, and every open map shares one poller."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from events.store import EventStore
from review.db import Database
from review.map_data import MapView
from review.map_feed import RESET, MapFeed, Subscription
from tests.review.conftest import log_in
from tests.review.map_site import (
    CAM_A_GEO,
    LUCHENG,
    OFFICER,
    OFFICER_PASSWORD,
    OUHAI,
    make_map_site,
    map_event,
    serving,
    write_status,
)
from tests.review.site import PASSWORDS


@pytest.fixture
def map_site(site):
    make_map_site(site)
    return site


@pytest.fixture
def served(map_site):
    with serving(map_site) as (base, app):
        yield base, app


def client(base: str, name: str, password: str | None = None) -> httpx.Client:
    http = httpx.Client(base_url=base, follow_redirects=False, timeout=httpx.Timeout(10.0))
    assert log_in(http, name, password or PASSWORDS[name]).status_code == 303
    return http


def updates(response: httpx.Response):
    """The ``update`` messages of an event stream, parsed, as they come."""
    kind = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind == "update":
            yield json.loads(line.removeprefix("data: "))


def until(stream, found, seconds: float = 10.0) -> list[dict]:
    """Read updates until ``found(update)``; every update read, in order."""
    read, deadline = [], time.monotonic() + seconds
    for update in stream:
        read.append(update)
        if found(update):
            return read
        assert time.monotonic() < deadline, f"nothing found in {read}"
    raise AssertionError(f"the stream ended: {read}")


def test_the_snapshot_places_cameras_units_tracks_and_events(as_user, map_site):
    write_status(map_site, "cam-a", "online", view="moved")
    write_status(map_site, "cam-b", "offline", reason="connection refused")
    data = as_user("rita").get("/api/map?events=4").json()
    cameras = {c["camera_id"]: c for c in data["cameras"]}
    assert set(cameras) == {"cam-a", "cam-b", "car-1"}
    assert cameras["cam-a"]["geo"] == list(CAM_A_GEO) and cameras["cam-a"]["unit"]["grid"] == "LC-1"
    assert (cameras["cam-a"]["status"], cameras["cam-b"]["status"]) == ("moved", "offline")
    assert cameras["cam-b"]["reason"] == "connection refused"
    car = cameras["car-1"]
    assert car["moving"] and car["geo"] is None and car["status"] == "unknown"
    assert car["track"][0] == [120.6696, 28.0] and car["track"][-1] == [120.69, 28.012] and len(car["track"]) == 6
    assert [u["unit"]["grid"] for u in data["units"]] == ["LC-1", "OH-2"]
    assert data["units"][0]["rings"][0][0] == [120.665, 27.995]
    assert [e["event_id"] for e in data["events"]] == ["car-1/kerb/p2/warn", "car-1/kerb/p1/warn",
                                                       "car-1/kerb/p0/warn", "cam-a/walk/5/warn"]
    assert data["cursor"] == data["events"][0]["id"] and "plate" not in data["events"][0]
    assert data["problem"] is None


def test_an_officer_sees_their_unit_only(anonymous, map_site):
    log_in(anonymous, OFFICER, OFFICER_PASSWORD, "/officer")
    write_status(map_site, "cam-b", "offline")
    data = anonymous.get("/api/map").json()
    cameras = {c["camera_id"]: c for c in data["cameras"]}
    assert set(cameras) == {"cam-a", "car-1"}  # cam-b stands in Ouhai
    assert len(cameras["car-1"]["track"]) == 4  # its pass through Ouhai is not drawn
    assert [u["unit"]["district"] for u in data["units"]] == ["Lucheng"]
    assert {e["unit"]["district"] for e in data["events"]} == {"Lucheng"}
    assert anonymous.get("/map").status_code == 200


def test_the_map_needs_a_session_and_refuses_hostile_numbers(anonymous, as_user):
    assert anonymous.get("/api/map").status_code == 401
    assert anonymous.get("/api/map/stream").status_code == 401
    assert anonymous.get("/map").status_code == 303
    rita = as_user("rita")
    for query in ("events=-1", "events=501", "events=1e3", "events=99999999999999999999999", "events=%00"):
        assert rita.get(f"/api/map?{query}").status_code == 422, query
    for query in ("after=-5", "after=9223372036854775808", "after=x"):
        assert rita.get(f"/api/map/stream?{query}").status_code == 422, query
    assert rita.get("/api/map/stream", headers={"Last-Event-ID": "12abc"}).status_code == 400


def test_a_broken_config_leaves_the_map_without_its_layers(as_user, map_site):
    rita = as_user("rita")
    assert rita.get("/api/map").json()["units"]
    (map_site.root / "units.geojson").write_text("{not json", encoding="utf-8")
    map_site.config_path.write_text(map_site.config_path.read_text() + "\n", encoding="utf-8")  # a new version
    data = rita.get("/api/map").json()
    assert "units.geojson: the unit map is not GeoJSON" in data["problem"]
    assert {c["camera_id"] for c in data["cameras"]} == {"cam-a", "cam-b", "car-1"}


def test_the_stream_delivers_a_new_event_and_a_status_change(served, map_site):
    base, _app = served
    rita = client(base, "rita")
    cursor = rita.get("/api/map").json()["cursor"]
    with rita.stream("GET", f"/api/map/stream?after={cursor}") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = updates(response)
        assert next(stream) == {"events": [], "statuses": [], "cursor": cursor}
        store = EventStore(map_site.db_path)
        store.add(map_event("cam-a", "walk", "77", *CAM_A_GEO, LUCHENG))
        store.close()
        read = until(stream, lambda u: u["events"])
        assert [e["event_id"] for e in read[-1]["events"]] == ["cam-a/walk/77/warn"]
        assert read[-1]["cursor"] == cursor + 1
        write_status(map_site, "cam-b", "offline", reason="no frames for 30 s")
        read = until(stream, lambda u: u["statuses"])
        assert read[-1]["statuses"][0]["camera_id"] == "cam-b"
        assert read[-1]["statuses"][0]["status"] == "offline" and read[-1]["events"] == []
        write_status(map_site, "cam-b", "offline", reason="no frames for 30 s")  # renewed, unchanged: no message
        write_status(map_site, "cam-a", "online", view="moved")
        read = until(stream, lambda u: u["statuses"])
        assert [(s["camera_id"], s["status"]) for s in read[-1]["statuses"]] == [("cam-a", "moved")]
    rita.close()


def test_a_reconnecting_map_catches_up_and_an_officer_gets_their_unit_only(served, map_site):
    base, _app = served
    rita, olga = client(base, "rita"), client(base, OFFICER, OFFICER_PASSWORD)
    cursor = rita.get("/api/map").json()["cursor"]
    with rita.stream("GET", "/api/map/stream", headers={"Last-Event-ID": str(cursor - 2)}) as response:
        first = next(updates(response))
        assert [e["event_id"] for e in first["events"]] == ["car-1/kerb/p1/warn", "car-1/kerb/p2/warn"]
    with olga.stream("GET", f"/api/map/stream?after={cursor}") as response:
        stream = updates(response)
        next(stream)
        store = EventStore(map_site.db_path)
        store.add(map_event("cam-b", "kerb", "90", 120.69, 28.015, OUHAI))
        store.add(map_event("cam-a", "walk", "91", *CAM_A_GEO, LUCHENG))
        store.close()
        write_status(map_site, "cam-b", "offline")
        read = until(stream, lambda u: u["events"])
        assert [e["event_id"] for u in read for e in u["events"]] == ["cam-a/walk/91/warn"]
        assert all(s["camera_id"] != "cam-b" for u in read for s in u["statuses"])
    rita.close()
    olga.close()


def test_open_maps_share_one_poller(served):
    base, app = served
    clients = [client(base, "rita"), client(base, "rob"), client(base, "ada")]
    streams = [c.stream("GET", "/api/map/stream") for c in clients]
    try:
        readers = [updates(s.__enter__()) for s in streams]  # kept: a dropped reader closes its connection
        for reader in readers:
            next(reader)
        feed = app.state.map_feed
        assert len(feed.subscribers) == 3
        before, started = feed.polls, time.monotonic()
        time.sleep(1.0)
        looks = feed.polls - before
        assert 1 <= looks <= (time.monotonic() - started) / feed.poll_s + 2  # one poller, not one per map
    finally:
        for stream in streams:
            stream.__exit__(None, None, None)
        for c in clients:
            c.close()
    deadline = time.monotonic() + 5
    while app.state.map_feed.subscribers and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not app.state.map_feed.subscribers  # closed maps leave; the poller stops with the last


def test_a_map_that_falls_behind_is_told_to_start_over():
    async def overflow():
        feed = MapFeed(MapView(Database(":memory:")))
        slow, quick = Subscription(asyncio.Queue(2)), Subscription(asyncio.Queue(10))
        feed.subscribers.update({slow, quick})
        for cursor in (1, 2, 3):
            feed._broadcast({"events": [], "statuses": [], "cursor": cursor})
        return feed, slow, quick

    feed, slow, quick = asyncio.run(overflow())
    assert feed.subscribers == {quick} and quick.queue.qsize() == 3
    assert slow.queue.qsize() == 1 and slow.queue.get_nowait() is RESET
