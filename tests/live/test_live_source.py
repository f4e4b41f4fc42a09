"""Live readers against a real RTSP server on loopback: timestamps, freshest frame, key frames, outages, stalls."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from streams.live import Backoff, CameraStatus, LiveClock, LiveSource
from tests.live.conftest import wait_for


class StatusLog:
    """Every status a reader reports, in order."""

    def __init__(self):
        self.seen: list[CameraStatus] = []

    def __call__(self, _source: LiveSource, status: CameraStatus) -> None:
        self.seen.append(status)

    def states(self) -> list[str]:
        return [s.state for s in self.seen]


def reader(url: str, statuses: StatusLog | None = None, **options) -> LiveSource:
    clock = LiveClock(datetime.now().astimezone())
    return LiveSource("cam-test", url, clock, on_status=statuses, **options).start()


def test_backoff_doubles_up_to_its_cap_with_bounded_jitter():
    backoff = Backoff(0.5, 4.0, jitter=0.5, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    bases = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(base / 2 <= d <= base for d, base in zip(delays, bases, strict=True))
    assert len(set(delays)) == len(delays)  # jittered: cameras dropped together do not retry in step
    backoff.reset()
    assert 0.25 <= backoff.next_delay() <= 0.5


def test_live_clock_continues_a_timeline_and_never_runs_back():
    origin = datetime(2026, 11, 22, 8, 0).astimezone()
    assert 360.0 <= LiveClock(origin, now=origin + timedelta(minutes=6)).t() < 361.0
    # the wall clock was set back by a minute since the last run, which ended at t = 400: time goes on from 400
    assert 400.0 <= LiveClock(origin, not_before=400.0, now=origin + timedelta(seconds=340)).t() < 401.0


def test_frames_arrive_with_wall_clock_timestamps_and_only_the_freshest_is_kept(rtsp_server):
    server = rtsp_server()
    before = datetime.now().astimezone()
    full, keyframes = reader(server.url()), reader(server.url("cam2"), keyframes_only=True)
    try:
        wait_for(lambda: full.stats.frames_read >= 72 and keyframes.stats.frames_read >= 3, what="frames")
        first = full.latest()
        assert first is not None and first.image.shape == (352, 640, 3)
        wait_for(lambda: full.latest(after=first.index + 10), what="ten more frames")
        second = full.latest(after=first.index)
        after = datetime.now().astimezone()
        assert second.index > first.index + 10  # the frames in between were skipped, not queued
        assert second.t > first.t
        assert before <= first.ts <= second.ts <= after  # real wall-clock times
        assert first.origin == second.origin == full.clock.origin
        # key frames only: one frame per GOP of the footage (2.0 s), far fewer decoded for the same stream
        assert keyframes.stats.keyframe_interval == pytest.approx(2.0, abs=0.05)
        assert keyframes.stats.frames_read * 12 <= full.stats.frames_read
        assert full.status.state == keyframes.status.state == "online"
    finally:
        full.stop(wait=5)
        keyframes.stop(wait=5)
    assert not full.running and full.status.state == "stopped"


def test_killed_server_gives_offline_with_reason_and_backoff_then_reconnects(rtsp_server):
    server = rtsp_server()
    statuses = StatusLog()
    source = reader(server.url(), statuses, backoff=Backoff(0.2, 1.0, jitter=0.5), open_timeout=3)
    try:
        wait_for(lambda: source.stats.frames_read >= 10, what="first frames")
        server.kill()
        wait_for(lambda: source.stats.reconnects >= 3, what="reconnection attempts while the server is down")
        assert source.status.state == "offline" and source.running
        down = [s for s in statuses.seen if s.state == "offline"]
        assert any("refused" in s.reason for s in down), [s.reason for s in down]
        assert all("retrying in" in s.reason for s in down)
        delays = source.stats.retry_delays
        assert delays[0] <= 0.2 and max(delays) <= 1.0
        assert delays[2] > delays[0]  # backing off: base 0.2 -> 0.8, jitter at most halves it
        assert len({s.since for s in down}) == 1  # retries do not move "offline since"

        read_before = source.stats.frames_read
        rtsp_server(port=server.port)  # the camera comes back at the same address
        wait_for(lambda: source.stats.frames_read > read_before + 10, what="frames after the server came back")
        assert source.status.state == "online"
        assert statuses.states()[:1] == ["online"] and statuses.states()[-1] == "online"
        assert "offline" in statuses.states()
    finally:
        source.stop(wait=5)


def test_a_stalled_stream_is_noticed_by_the_watchdog_and_recovers(rtsp_server):
    server = rtsp_server()
    statuses = StatusLog()
    source = reader(server.url(), statuses, stall_timeout=2, open_timeout=2, backoff=Backoff(0.2, 0.5))
    try:
        wait_for(lambda: source.stats.frames_read >= 10, what="first frames")
        server.toggle_stall()  # the RTSP session stays up, no video is sent
        wait_for(lambda: source.status.state == "offline", what="the watchdog")
        assert "no data for 2 s" in source.status.reason or "no frame decoded" in source.status.reason
        server.toggle_stall()
        read_before = source.stats.frames_read
        wait_for(lambda: source.stats.frames_read > read_before + 10, what="frames after the stall")
        assert source.status.state == "online"
        assert source.stats.reconnects >= 1
    finally:
        source.stop(wait=5)


def test_wrong_password_is_reported_without_the_password(rtsp_server):
    server = rtsp_server(auth=True)
    statuses = StatusLog()
    wrong = server.url(password="not-the-secret")
    source = reader(wrong, statuses, backoff=Backoff(0.2, 0.5))
    try:
        wait_for(lambda: source.stats.reconnects >= 1, what="a refused login")
        assert "refused the user name or password (401)" in source.status.reason
        assert "not-the-secret" not in source.display and "not-the-secret" not in repr(statuses.seen)
        assert source.display == f"rtsp://***@127.0.0.1:{server.port}/cam"
    finally:
        source.stop(wait=5)
