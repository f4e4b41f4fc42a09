"""Cameras and recordings on a real two-node Ray cluster on loopback (``streams.cluster_live``, ``cluster_batch``).

The footage is the shared ``us_residential_street.mp4`` replayed as live: a car stands on the driveway the whole
clip; ignore zones cover the rest of the frame, so the car is each camera's only resting object (object 1) and its
warn's id does not depend on timing. Skips when Ray (the ``cluster`` extra) or ../shared is absent.
"""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from detector.load import load_detector
from events.store import EventStore, read_jsonl
from streams.detectors import DetectorCache
from streams.live_runner import LiveRunner
from streams.ray_setup import LOOPBACK, apply_environment, connect, node_settings, ray_environment, start_command
from streams.state import StateStore
from tests.conftest import ROOT, shared_clip
from zones.config import load_config

CLIP = "us_residential_street.mp4"
WARN_AFTER = 20.0
ZONES = [
    {"id": "driveway", "type": "sidewalk", "polygon": [[560, 150], [640, 150], [640, 200], [560, 200]],
     "warn_after": WARN_AFTER},
    {"id": "street", "type": "ignore", "polygon": [[0, 0], [555, 0], [555, 352], [0, 352]]},
    {"id": "above", "type": "ignore", "polygon": [[555, 0], [640, 0], [640, 140], [555, 140]]},
    {"id": "below", "type": "ignore", "polygon": [[555, 210], [640, 210], [640, 352], [555, 352]]},
]
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed (pip install -e '.[cluster]'); the cluster is untested")


def test_ray_is_started_on_loopback_without_usage_statistics_or_dashboard():
    """The settings the CLI, the tests and the bench share (streams.ray_setup): the spec's network rules."""
    env = ray_environment()
    assert env["RAY_USAGE_STATS_ENABLED"] == "0"
    assert env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"  # Ray's own-address lookup answers loopback
    assert node_settings() == {"node_ip_address": LOOPBACK, "include_dashboard": False, "dashboard_host": LOOPBACK}
    head = start_command()
    assert "--node-ip-address=127.0.0.1" in head and "--disable-usage-stats" in head
    assert "--include-dashboard=false" in head
    assert "--node-ip-address=10.0.0.7" in start_command("10.0.0.7", head=False, address="10.0.0.1:6379")
    assert "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in ray_environment("10.0.0.7")  # a real cluster's own address


def test_without_cluster_ray_is_never_imported(tmp_path, require_models):
    """`process` and `run` without --cluster: one process, and Ray not loaded even when installed."""
    clip = shared_clip(CLIP)
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump({"analysis_fps": 0.5, "cameras": [
        {"id": "file", "source": str(clip), "zones": ZONES[:1]},
        {"id": "live", "source": "rtsp://127.0.0.1:9/none"}]}))
    script = (
        "import sys; from streetorder.cli import main\n"
        f"main(['process', '--config', {str(config)!r}, '--out', {str(tmp_path / 'p')!r}, '--sink-wait', '0'])\n"
        f"main(['run', '--config', {str(config)!r}, '--out', {str(tmp_path / 'r')!r}, '--health-port', '-1', "
        "'--stop-after', '2s'])\n"
        "print('RAY' if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) else 'NO RAY')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "NO RAY", done.stdout[-2000:] + done.stderr[-2000:]


def ray_listening_sockets() -> list[str]:
    """Local addresses of the TCP sockets Ray's processes listen on (``ss``)."""
    lines = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout.splitlines()
    found = []
    for line in lines:
        if "pid=" not in line:
            continue
        pid = line.split("pid=")[1].split(",")[0]
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "ray" in command:
            found.append(line.split()[3])
    return found


@pytest.fixture(scope="module")
def cluster(require_models):
    """A head and a worker node on 127.0.0.1, one CPU each (this machine has two), joined by the test."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed (pip install -e '.[cluster]'); the cluster is untested")
    apply_environment()
    from ray.cluster_utils import Cluster
    cluster = Cluster(initialize_head=True, head_node_args={**node_settings(), "num_cpus": 1})
    worker = cluster.add_node(**node_settings(), num_cpus=1)
    ray = connect(cluster.address)
    yield ray, cluster, worker
    ray.shutdown()
    cluster.shutdown()


def camera_config(path: Path, cameras: int) -> Path:
    path.write_text(yaml.safe_dump({
        "analysis_fps": 1,
        "live": {"save_every": "1s", "reconnect_min": "0.2s", "reconnect_max": "1s"},
        "cameras": [{"id": f"cam-{i + 1}", "source": str(shared_clip(CLIP)), "zones": ZONES} for i in range(cameras)],
    }))
    return path


def wait_for(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"gave up waiting {timeout:g} s for {what}")


def single_process_run(config_path: Path, out: Path) -> list[str]:
    """The reference: the same cameras in one process's live loop, until each has warned."""
    out.mkdir()
    store, state = EventStore(out / "events.db"), StateStore(out / "state.db")
    detector = load_detector("yolo11n")
    runner = LiveRunner(load_config(config_path), out, lambda camera: detector, store, state,
                        include_files=True).start()
    stop = threading.Event()
    loop = threading.Thread(target=runner.run, args=(stop,))
    loop.start()
    try:
        wait_for(lambda: sum(1 for _ in store.events()) >= len(runner.chosen), 90, "the single process's warns")
        time.sleep(3)
    finally:
        stop.set()
        loop.join(30)
    ids = sorted(e.event_id for e in store.events())
    store.close()
    state.close()
    return ids


@needs_ray
def test_recordings_spread_over_the_cluster_give_the_sequential_events(cluster, tmp_path):
    """A long recording cut into segments detected on both nodes, a short one as one task: exactly the events
    (ids and times) of a sequential run, stored once."""
    from streams.batch import process_recorded
    from streams.cluster_batch import process_on_cluster
    from streams.cluster_live import ConfigText
    ray, _, _ = cluster
    clip = shared_clip(CLIP)
    short = tmp_path / "short.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-t", "15", "-an", "-c", "copy", str(short)],
                   check=True)
    zones = [{**ZONES[0], "warn_after": 8}, *ZONES[1:]]
    config_path = tmp_path / "recordings.yaml"
    config_path.write_text(yaml.safe_dump({"analysis_fps": 2, "cameras": [
        {"id": "rec-long", "source": str(clip), "zones": zones},
        {"id": "rec-short", "source": str(short), "zones": zones}]}))
    reports, segments = process_on_cluster(ray, ConfigText.read(config_path), tmp_path / "cluster", None,
                                           functools.partial(DetectorCache, model=None, backend=None, workers=2),
                                           split_from_s=20)
    assert [r.error for r in reports] == [None, None]
    assert reports[0].node_id is None and reports[1].node_id is not None  # long: merged by the driver
    assert len(segments.nodes | {reports[1].node_id}) == 2  # both nodes worked
    cluster_events = read_jsonl(tmp_path / "cluster" / "events.jsonl")

    store = EventStore(tmp_path / "sequential.db")
    detector = load_detector("yolo11n")
    process_recorded(load_config(config_path), tmp_path / "sequential", lambda camera: detector, store)
    sequential = read_jsonl(tmp_path / "sequential" / "events.jsonl")
    assert {e.camera_id for e in sequential} == {"rec-long", "rec-short"}, "the footage changed?"
    assert sorted(e.event_id for e in cluster_events) == sorted(e.event_id for e in sequential)
    assert {e.event_id: e.t for e in cluster_events} == {e.event_id: e.t for e in sequential}
    stored = EventStore(tmp_path / "cluster" / "events.db")
    assert sorted(e.event_id for e in stored.events()) == sorted(e.event_id for e in sequential)


@needs_ray
def test_a_node_dies_mid_dwell_and_its_cameras_resume_on_the_other(cluster, tmp_path):
    """Six replayed cameras over two nodes; the worker node is killed while every timer runs; its cameras restart
    on the head node, take up their timers and warn: the events of a one-process run, none twice, none lost."""
    from streams.cluster_live import ClusterRunner, ConfigText
    ray, nodes, worker = cluster
    config_path = camera_config(tmp_path / "cameras.yaml", 6)
    expected = single_process_run(config_path, tmp_path / "single")
    assert len(expected) == 6 and all(i.endswith("/driveway/1/warn") for i in expected)

    out = tmp_path / "cluster"
    out.mkdir()
    store = EventStore(out / "events.db")
    StateStore(out / "state.db").close()
    runner = ClusterRunner(ray, ConfigText.read(config_path), out, store, str(out / "events.db"),
                           str(out / "state.db"), functools.partial(DetectorCache, model=None, backend=None, workers=2),
                           include_files=True).start()
    stop = threading.Event()
    loop = threading.Thread(target=runner.run, args=(stop,))
    loop.start()
    try:
        listening = ray_listening_sockets()
        assert listening and all(a.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")) for a in listening), listening
        assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}

        def timers_saved() -> bool:
            states = StateStore(out / "state.db")
            try:
                saved = [states.load(c.id) for c in runner.chosen]
            finally:
                states.close()
            return all(s and s.monitor and s.monitor["zones"]["driveway"]["timers"] for s in saved)

        wait_for(lambda: all(runner.camera_health(c).get("open_timers") == 1 for c in runner.chosen), 150,
                 "every camera's timer")
        wait_for(timers_saved, 20, "the timers in the saved state")
        assert not list(store.events())  # mid-dwell: nothing warned yet
        placed = {c.id: runner.camera_health(c)["node_id"] for c in runner.chosen}
        moved = [cid for cid, node in placed.items() if node == worker.node_id]
        assert 1 <= len(moved) <= 5, placed  # spread over both nodes
        nodes.remove_node(worker, allow_graceful=False)

        wait_for(lambda: len(list(store.events())) >= 6, 150, "the six warns after the fail-over")
        wait_for(lambda: all(runner.camera_health(c).get("node_id") == nodes.head_node.node_id
                             and runner.camera_health(c)["state"] == "online" for c in runner.chosen), 30,
                 "every camera online on the head node")
        time.sleep(3)  # frames after the warns: nothing is issued twice
        health = runner.health()
        assert health["total"] == 6 and len(health["nodes"]) == 1
        assert 'streetorder_camera_node{camera="cam-1"' in runner.metrics.text()
    finally:
        stop.set()
        loop.join(90)
    events = list(store.events())
    assert sorted(e.event_id for e in events) == expected
    lines = read_jsonl(out / "events.jsonl")
    assert sorted(e.event_id for e in lines) == expected  # copied once each
    for event in events:
        assert event.dwell_s >= WARN_AFTER - 1.0


@needs_ray
def test_the_commands_take_cluster(cluster, tmp_path, capsys):
    """`process --cluster` and `run --cluster` wired through the command line (the test's cluster joined)."""
    from streetorder.cli import main
    _, nodes, _ = cluster
    short = tmp_path / "short.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(shared_clip(CLIP)), "-t", "15", "-an", "-c", "copy",
                    str(short)], check=True)
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump({"analysis_fps": 1, "cameras": [
        {"id": "rec", "source": str(short), "zones": [{**ZONES[0], "warn_after": 8}, *ZONES[1:]]},
        {"id": "gate", "source": "rtsp://127.0.0.1:9/none"}]}))
    assert main(["process", "--config", str(config), "--out", str(tmp_path / "p"), "--cluster", nodes.address,
                 "--sink-wait", "0"]) == 0
    assert [e.event_id for e in read_jsonl(tmp_path / "p" / "events.jsonl")] == ["rec/driveway/1/warn"]
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "r"), "--cluster", nodes.address,
                 "--health-port", "-1", "--stop-after", "15s"]) == 0
    printed = capsys.readouterr().out
    assert "gate" in printed and "127.0.0.1" in printed and "offline" in printed, printed
