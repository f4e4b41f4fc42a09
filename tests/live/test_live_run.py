"""The live loop and ``streetorder run`` against a real RTSP server serving real footage, with the real model.

The footage is ``us_residential_street.mp4`` looped: a dark car stands on the driveway at the right edge (box about
x 600-640, y 148-189) for the whole clip (see tests/test_real_footage.py), so a ``sidewalk`` zone drawn there gives
a resting car whose timer starts within the first seconds of the stream.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from detector.load import load_detector
from events.store import EventStore, read_jsonl
from streams.live_runner import LiveRunner
from streams.state import StateStore
from tests.conftest import ROOT
from tests.live.conftest import PASSWORD, free_port, wait_for
from zones.config import parse_config

pytestmark = pytest.mark.slow

DRIVEWAY = {"id": "driveway", "type": "sidewalk", "polygon": [[560, 150], [640, 150], [640, 200], [560, 200]]}
WRONG_PASSWORD = "Wr0ng-pa55"


@pytest.fixture(scope="module")
def detector(require_models):
    return load_detector("yolo11n")


def test_a_camera_that_never_answers_does_not_delay_the_others(rtsp_server, detector, tmp_path):
    server = rtsp_server()
    silent = socket.socket()  # accepts connections (the kernel does) but never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    config = parse_config({
        "analysis_fps": 2,
        "live": {"open_timeout": "60s", "reconnect_min": "0.2s", "reconnect_max": "1s"},
        "cameras": [
            {"id": "silent", "source": f"rtsp://127.0.0.1:{silent.getsockname()[1]}/live"},
            {"id": "refused", "source": f"rtsp://127.0.0.1:{free_port()}/live"},
            {"id": "good", "source": server.url(), "zones": [DRIVEWAY]},
        ],
    })
    store, states = EventStore(tmp_path / "events.db"), StateStore(tmp_path / "state.db")
    runner = LiveRunner(config, tmp_path, lambda camera: detector, store, states).start()
    stop = threading.Event()
    loop = threading.Thread(target=runner.run, args=(stop,))
    loop.start()
    try:
        good, silent_cam, refused = (next(c for c in runner.cameras if c.camera.id == i)
                                     for i in ("good", "silent", "refused"))
        wait_for(lambda: good.frames_analysed >= 6, what="the good camera's frames")
        # six frames analysed while the silent camera still waits for its first answer (timeout 60 s)
        assert silent_cam.source.status.state == "starting" and silent_cam.source.running
        assert refused.source.status.state == "offline" and "refused" in refused.source.status.reason
        health = runner.health()
        assert health["status"] == "degraded" and health["online"] == 1
        assert 'streetorder_frames_analysed_total{camera="good"}' in runner.metrics.text()
        ts = [good.last_t]
        wait_for(lambda: good.last_t > ts[0], what="analysis going on")
    finally:
        stop.set()
        loop.join(30)
        silent.close()
    assert not loop.is_alive()
    assert StateStore(tmp_path / "state.db").load("good").last_t == pytest.approx(good.last_t)


def start_run(config_path: Path, out: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "CAM_PASSWORD": PASSWORD, "LOCKED_PASSWORD": WRONG_PASSWORD}
    with log.open("a") as sink:
        return subprocess.Popen([sys.executable, "-m", "streetorder", "run", "--config", str(config_path),
                                 "--out", str(out), "--health-port", str(port)],
                                cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)


def get(port: int, path: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.read().decode()
    except OSError:
        return ""


def camera_health(port: int, camera_id: str) -> dict | None:
    body = get(port, "/healthz")
    return next((c for c in json.loads(body)["cameras"] if c["camera_id"] == camera_id), None) if body else None


def stop_run(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(60)


def test_restart_mid_dwell_resumes_the_timer_and_warns_exactly_once(rtsp_server, require_models, tmp_path):
    """Run 1 stops (SIGTERM) mid-dwell; run 2 resumes the timer, warns once at the real dwell, rides out the
    camera dropping and coming back; no password shows anywhere."""
    server = rtsp_server(auth=True)
    warn_after = 30.0
    config_path = tmp_path / "cameras.yaml"
    config_path.write_text(yaml.safe_dump({
        "analysis_fps": 2,
        "live": {"save_every": "1s", "open_timeout": "5s", "reconnect_max": "2s"},
        "cameras": [
            {"id": "street", "source": server.url().replace(PASSWORD, "${CAM_PASSWORD}"),
             "zones": [{**DRIVEWAY, "warn_after": warn_after}]},
            {"id": "locked", "source": server.url("cam2").replace(PASSWORD, "${LOCKED_PASSWORD}")},
        ],
    }))
    out, log, port = tmp_path / "out", tmp_path / "run.log", free_port()
    seen_by_http = []

    first = start_run(config_path, out, port, log)
    try:
        running = wait_for(lambda: (camera_health(port, "street") or {}).get("open_timers"), timeout=120,
                           what="the parked car's timer in the first run")
        assert running == 1
        seen_by_http += [get(port, "/healthz"), get(port, "/metrics")]
    finally:
        assert stop_run(first) == 0  # SIGTERM: a clean stop
    saved = StateStore(out / "state.db").load("street")
    (timer,) = saved.monitor["zones"]["driveway"]["timers"]
    assert not timer["warned"] and len(saved.held) == 1  # the rest photo was flushed too
    assert read_jsonl(out / "events.jsonl") == []
    stopped_at = saved.last_t

    second = start_run(config_path, out, port, log)
    try:
        first_t = wait_for(lambda: (camera_health(port, "street") or {}).get("last_t"), timeout=120,
                           what="the second run's first frame")
        wait_for(lambda: read_jsonl(out / "events.jsonl"), timeout=120, what="the warn")
        analysed = camera_health(port, "street")["frames_analysed"]
        wait_for(lambda: camera_health(port, "street")["frames_analysed"] >= analysed + 6, what="frames after it")
        seen_by_http += [get(port, "/healthz"), get(port, "/metrics")]
        assert 'streetorder_events_total{camera="street",rule="sidewalk_parking",type="warn"} 1.0' in seen_by_http[-1]

        server.kill()  # the camera drops mid-run: offline with the reason, the process goes on, and reconnects
        down = wait_for(lambda: (h := camera_health(port, "street")) and h["state"] == "offline" and h,
                        what="the offline status")
        assert second.poll() is None and "retrying in" in down["reason"]
        rtsp_server(auth=True, port=server.port)
        back = wait_for(lambda: (h := camera_health(port, "street")) and h["state"] == "online"
                        and h["frames_analysed"] > down["frames_analysed"] + 2 and h, what="frames after reconnecting")
        assert back["reconnects"] >= 1
        seen_by_http += [get(port, "/healthz"), get(port, "/metrics")]
    finally:
        assert stop_run(second) == 0

    (warn,) = read_jsonl(out / "events.jsonl")
    assert [e.event_id for e in EventStore(out / "events.db").events()] == [warn.event_id]
    assert warn.type == "warn" and warn.zone_id == "driveway" and warn.class_name in ("car", "truck")
    assert warn.since_t < stopped_at  # the timer of the first run went on, it did not start again
    assert warn.dwell_s >= warn_after
    assert warn.t <= max(warn.since_t + warn_after, first_t) + 2 / 2 + 0.01  # at its time, or the first frame back
    assert abs(datetime.fromisoformat(warn.ts) - (saved.origin + timedelta(seconds=warn.t))).total_seconds() < 0.001
    assert (out / warn.evidence["rest_snapshot"]).is_file()  # taken in the first run, kept across the restart

    text = log.read_text()
    assert "SIGTERM received" in text and "resuming" in text
    assert "401" in text  # the locked camera's refusal was logged ...
    secrets = (PASSWORD, WRONG_PASSWORD)
    stored = [p.read_bytes() for p in out.iterdir() if p.is_file()]
    for secret in secrets:  # ... and no password appears anywhere a person or a program can read
        assert secret not in text
        assert all(secret not in body for body in seen_by_http)
        assert all(secret.encode() not in data for data in stored)
