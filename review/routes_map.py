"""The operations map: the page, its snapshot as JSON and its live stream of server-sent events.

Every role may open it; an officer's map holds their unit only (cameras, polygons, events and statuses). The stream
is fed by the app's one ``MapFeed``; each connection only filters what the feed hands it.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from contracts.errors import UserError
from review.accounts import User
from review.map_data import MapLayersSource, MapView, sees
from review.map_feed import RESET, MapFeed, Subscription
from review.routes_admin import MAX_ROW_ID
from review.web import SignedIn, render, services, signed_in

router = APIRouter(dependencies=[Depends(signed_in)])
MAX_EVENTS = 500  # the newest events a snapshot may ask for
HEARTBEAT_S = 15.0  # a comment line this often: proxies keep the stream open, a closed tab is noticed
_SETUP = threading.Lock()


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, session: SignedIn) -> Response:
    return render(request, "map.html", officer=session.user.is_officer)


@router.get("/api/map")
def map_snapshot(request: Request, session: SignedIn,
                 events: Annotated[int, Query(ge=0, le=MAX_EVENTS)] = 50) -> dict[str, Any]:
    """Cameras (place, status, unit, track), unit polygons and the newest ``events``; ``cursor`` is where the
    stream (``/api/map/stream?after=cursor``) goes on."""
    view = map_view(request)
    return {**view.snapshot(session.user, events), "problem": view.problem}


@router.get("/api/map/stream")
async def map_stream(request: Request, session: SignedIn,
                     after: Annotated[int | None, Query(ge=0, le=MAX_ROW_ID)] = None,
                     last_event_id: Annotated[str | None, Header(max_length=20)] = None) -> Response:
    """``text/event-stream``: ``update`` messages (``{"events": [...], "statuses": [...], "cursor": n}``) with the
    events after ``after`` (or the ``Last-Event-ID`` a reconnecting browser sends) and each status change;
    ``reset`` tells a map that fell behind to load the snapshot again."""
    if last_event_id is not None:
        if not last_event_id.isdigit() or int(last_event_id) > MAX_ROW_ID:
            raise HTTPException(400, "Last-Event-ID is not an event cursor; reload the map")
        after = int(last_event_id)
    feed = map_feed(request)
    subscription = await feed.subscribe()
    return StreamingResponse(_messages(request, feed, subscription, session.user, after),
                             media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})


async def _messages(request: Request, feed: MapFeed, subscription: Subscription, user: User,
                    after: int | None) -> AsyncIterator[str]:
    try:
        view = feed.view
        cameras = None
        if user.is_officer:
            shown = await asyncio.to_thread(lambda: view.cameras(user, view.layers()))
            cameras = {c["camera_id"] for c in shown}
        caught_up = []
        if after is not None and after < subscription.cursor:
            caught_up = await asyncio.to_thread(view.between, after, subscription.cursor, MAX_EVENTS)
        sent = {e["id"] for e in caught_up}
        yield "retry: 2000\n" + _update([e for e in caught_up if sees(user, e["unit"])], [], subscription.cursor)
        while not await request.is_disconnected():
            try:
                batch = await asyncio.wait_for(subscription.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if batch is RESET:
                yield "event: reset\ndata: {}\n\n"
                return
            events = [e for e in batch["events"] if e["id"] not in sent and sees(user, e["unit"])]
            statuses = [s for s in batch["statuses"] if cameras is None or s["camera_id"] in cameras]
            if events or statuses:
                yield _update(events, statuses, batch["cursor"])
    finally:
        feed.unsubscribe(subscription)


def _update(events: list[dict], statuses: list[dict], cursor: int) -> str:
    data = json.dumps({"events": events, "statuses": statuses, "cursor": cursor}, separators=(",", ":"))
    return f"id: {cursor}\nevent: update\ndata: {data}\n\n"


class _Layers:
    """The config's map layers, read again when the file changes; a broken file leaves the map without them and
    says why (``problem``)."""

    def __init__(self, request: Request):
        self.zone_file = services(request).zone_file
        self.version: tuple | None = None  # the config's fingerprint and the unit file's size and time
        self.value: dict[str, Any] = {"cameras": [], "units": []}
        self.problem: str | None = None

    def __call__(self) -> dict[str, Any]:
        zone_file = self.zone_file
        if zone_file is None or not isinstance(zone_file.rules, MapLayersSource):
            return self.value
        try:
            version = (zone_file.version(), _stamp(self.value.get("units_file")))
            if version != self.version:
                self.value, self.problem = zone_file.rules.map_layers(zone_file.path), None
                self.version = (version[0], _stamp(self.value.get("units_file")))
        except (UserError, OSError) as exc:
            self.value, self.version = {"cameras": [], "units": []}, None  # tried again on the next request
            self.problem = f"The map shows no config layers: {exc}"
        return self.value


def _stamp(path: str | None) -> tuple | None:
    try:
        return None if path is None else (os.stat(path).st_size, os.stat(path).st_mtime_ns)
    except OSError:
        return None


def map_view(request: Request) -> MapView:
    """The app's one map view (made on first use)."""
    state = request.app.state
    with _SETUP:
        if getattr(state, "map_view", None) is None:
            state.map_view = MapView(services(request).db, _Layers(request))
    return state.map_view


def map_feed(request: Request) -> MapFeed:
    """The app's one live feed (made on first use, in the app's event loop)."""
    state = request.app.state
    if getattr(state, "map_feed", None) is None:
        state.map_feed = MapFeed(map_view(request))
    return state.map_feed
