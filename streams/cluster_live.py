"""Live cameras on a Ray cluster (``streetorder run --cluster``): each camera an actor, detection in pools per node.

- **A camera actor** (``CameraActor``) runs one camera's ``LiveRunner``, the same loop as a one-process run: its
  reader, stages, state saved to the shared store every ``live.save_every`` and taken up at start, events written
  to the shared store (idempotent on ``event_id``). Camera actors are spread over the nodes (``SPREAD``) and
  restarted without limit; when a node dies, Ray starts its cameras again on live nodes, where each takes up its
  saved resting objects and timers (a gap shorter than ``resting.max_gap``, as after any restart): a warn due
  meanwhile fires on the first frame back, a warn written just before the node died is not written twice.
- **Detector pools**: one detector actor per CPU of each node, pinned to it (node affinity), its model loaded
  once; a camera sends its frames to the pool of its own node, round robin (another node's while its own has
  none). The driver gives a node that joins its pool.
- **The driver** (``ClusterRunner``) starts them, asks every camera for its health each second (``/healthz`` and
  ``/metrics`` show every camera and the node it is on), copies new events from the store to ``OUT/events.jsonl``
  (it is that file's one writer) and announces them, runs the retention purge, and stops the cameras (each saves
  its state) when stopped.

Camera passwords never travel through Ray: actors get the config's text with its ``${VAR}`` unexpanded and expand
it from their own node's environment. docs/CLUSTER.md says how to start a cluster and what moves where.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client.core import GaugeMetricFamily, Metric

from detector.detections import Detections
from events.record import Event
from events.store import EVENT_COLUMNS, EventStore, JsonlWriter, event_from_row
from streams.health import CameraCounters, LiveMetrics
from streams.live_runner import LiveRunner, daily_purge, live_cameras
from streams.state import StateStore
from zones.config import CameraConfig, Config, config_from_text
from zones.config_errors import read_config_text

log = logging.getLogger(__name__)

POOL_PREFIX = "detector-"  # detector actors are named detector-<node id>-<n> in the streetorder namespace
REPORT_EVERY = 1.0  # seconds between the driver's rounds (health, events, pools)
STALE_AFTER = 10.0  # a camera that has not answered for this long is shown offline (its actor is restarting)
RESCAN_ROWS = 256  # events re-read behind the newest copied row: rows committed out of rowid order are not missed
DETECT_TIMEOUT = 60.0
START_WAIT = 120.0  # start() waits this long at most for every camera's first report (its actor placed and up)

# ``factory(config).for_camera(camera)`` gives a camera's detector (streetorder.process_cmd.DetectorCache fits);
# it must pickle, so a class or a functools.partial of one
DetectorFactory = Callable[[Config], Any]


@dataclass(frozen=True)
class ConfigText:
    """A config as sent to actors: its text (``${VAR}`` unexpanded) and the absolute path it was read from."""

    text: str
    path: str

    @classmethod
    def read(cls, path: Path) -> ConfigText:
        path = Path(path).resolve()
        return cls(read_config_text(path), str(path))

    def load(self) -> Config:
        return config_from_text(self.text, Path(self.path))


class DetectorActor:
    """One core's detector on one node; the model of each setting is loaded once."""

    def __init__(self, source: ConfigText, factory: DetectorFactory):
        self.config = source.load()
        self.detectors = factory(self.config)
        self.cameras = {c.id: c for c in self.config.cameras}

    def warm(self, camera_ids: Sequence[str]) -> int:
        """Load the models of these cameras now rather than on their first frame."""
        for camera_id in camera_ids:
            self.detectors.for_camera(self.cameras[camera_id])
        return len(camera_ids)

    def detect(self, camera_id: str, image: np.ndarray) -> Detections:
        return self.detectors.for_camera(self.cameras[camera_id]).detect(image)


class PoolClient:
    """A camera's way to the detector actors: those of its own node round robin, any node's while it has none."""

    def __init__(self, ray, node_id: str):
        self.ray, self.node_id = ray, node_id
        self._actors: list = []
        self._turn = 0

    def detect(self, camera_id: str, image: np.ndarray) -> Detections:
        errors = (self.ray.exceptions.RayActorError, self.ray.exceptions.GetTimeoutError)
        for _ in range(3):
            if not self._actors:
                self._actors = self._find()
            if not self._actors:
                time.sleep(1.0)  # the driver gives a node its pool within a round or two
                continue
            actor = self._actors[self._turn % len(self._actors)]
            self._turn += 1
            try:
                return self.ray.get(actor.detect.remote(camera_id, image), timeout=DETECT_TIMEOUT)
            except errors:
                self._actors = []  # its node died, or the pool changed: look again
        raise RuntimeError(f"camera {camera_id}: no detector actor answers on the cluster")

    def _find(self) -> list:
        names = [n for n in self.ray.util.list_named_actors() if n.startswith(POOL_PREFIX)]
        own = [n for n in names if n.startswith(f"{POOL_PREFIX}{self.node_id}-")]
        actors = []
        for name in own or names:
            try:
                actors.append(self.ray.get_actor(name))
            except ValueError:  # died meanwhile
                continue
        return actors


class RemoteDetector:
    """A ``Detector`` for one camera whose frames go to the pool (``class_names`` are the pool's business)."""

    def __init__(self, pool: PoolClient, camera_id: str):
        self.pool, self.camera_id = pool, camera_id
        self.class_names: dict[int, str] = {}

    def detect(self, image: np.ndarray) -> Detections:
        return self.pool.detect(self.camera_id, image)


class CameraActor:
    """One live camera on whichever node Ray placed it: its ``LiveRunner`` loop runs in a thread from the start,
    so a restarted actor goes on by itself."""

    def __init__(self, source: ConfigText, camera_id: str, out_dir: str, store_target: str | None,
                 state_target: str | None, include_files: bool = False):
        import ray
        config = source.load()
        context = ray.get_runtime_context()
        self.node_id, self.node_ip = context.get_node_id(), ray.util.get_node_ip_address()
        store = store_target or config.store or str(Path(out_dir) / "events.db")
        self.store = EventStore(store, sinks=config.sinks)
        self.state = StateStore(state_target or store)
        pool = PoolClient(ray, self.node_id)
        self.runner = LiveRunner(config, Path(out_dir), lambda camera: RemoteDetector(pool, camera.id), self.store,
                                 self.state, cameras=[camera_id], include_files=include_files, write_jsonl=False)
        if self.runner.purge is not None:  # the driver purges, once for the cluster
            self.runner.purge.close()
            self.runner.purge = None
        self.runner.start()
        self._stop = threading.Event()
        self._loop = threading.Thread(target=self.runner.run, args=(self._stop,), name="camera-loop", daemon=True)
        self._loop.start()
        log.info("camera %s runs on node %s (%s)", camera_id, self.node_id, self.node_ip)

    def report(self) -> dict:
        """The camera's ``/healthz`` entry with its node, and its metric counters."""
        health = self.runner.health()
        (camera,) = health["cameras"]
        return {"health": {**camera, "node_id": self.node_id, "node_ip": self.node_ip, "loop": health["status"]},
                "counters": self.runner.counters()[0]}

    def stop(self) -> bool:
        """End the loop (it saves the state) and close the stores."""
        self._stop.set()
        self._loop.join(30)
        self.store.close()
        self.state.close()
        return not self._loop.is_alive()


def _remote(ray, cls, **options):
    return ray.remote(cls).options(**options)


class ClusterRunner:
    """Run live cameras as actors of the Ray cluster ``ray`` (joined already: ``streams.ray_setup.connect``).

    ``store`` is the driver's handle on the shared event store; ``store_target`` / ``state_target`` are what the
    actors open (None: the config's ``store:``, expanded on each node, so its password stays there).
    """

    def __init__(self, ray, source: ConfigText, out_dir: Path, store: EventStore, store_target: str | None,
                 state_target: str | None, detectors: DetectorFactory, *, cameras: Sequence[str] | None = None,
                 include_files: bool = False, on_event: Callable[[Event], None] | None = None):
        self.ray, self.source = ray, source
        self.config = source.load()
        self.out_dir = Path(out_dir).resolve()
        self.store, self.store_target, self.state_target = store, store_target, state_target
        self.detectors = detectors
        self.include_files = include_files
        self.on_event = on_event
        self.chosen: list[CameraConfig] = live_cameras(self.config, cameras, include_files)
        self.actors: dict[str, Any] = {}
        self.pools: dict[str, list] = {}  # node id -> its detector actors
        self.reports: dict[str, tuple[float, dict]] = {}  # camera id -> (time.monotonic() of the answer, report)
        self.metrics = LiveMetrics(self.counters)
        self.metrics.registry.register(_NodeCollector(self))
        self.purge = daily_purge(self.config, store)
        self._jsonl: JsonlWriter | None = None
        self._copied = 0  # the highest rowid copied to events.jsonl
        self._started = time.monotonic()
        self._stopping = False

    # -- start, run, stop -----------------------------------------------------------------------------------

    def start(self) -> ClusterRunner:
        self._jsonl = JsonlWriter(self.out_dir / "events.jsonl")
        self._copied = self._newest_row()
        self.ensure_pools()
        for camera in self.chosen:
            self.actors[camera.id] = self._camera_actor(camera.id)
        self._collect_reports(START_WAIT)
        return self

    def run(self, stop: threading.Event, stop_after: float | None = None) -> None:
        """Keep the cluster's cameras going until ``stop`` is set (or ``stop_after`` seconds passed)."""
        deadline = None if stop_after is None else time.monotonic() + stop_after
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                self.poll()
                stop.wait(REPORT_EVERY)
        finally:
            self.close()

    def poll(self) -> None:
        """One round: the cameras' reports, new events to events.jsonl, pools for new nodes, the purge."""
        self._collect_reports()
        self.copy_events()
        self.ensure_pools()
        if self.purge is not None:
            self.purge.tick()

    def close(self) -> None:
        """Stop every camera (each saves its state), then the pools; copy the last events."""
        if self._stopping:
            return
        self._collect_reports()  # the numbers of the summary
        self._stopping = True
        stops = [actor.stop.remote() for actor in self.actors.values()]
        if stops:
            self.ray.wait(stops, num_returns=len(stops), timeout=60)
        for actor in [*self.actors.values(), *(a for pool in self.pools.values() for a in pool)]:
            try:
                self.ray.kill(actor, no_restart=True)
            except Exception:  # gone already
                log.debug("actor already gone", exc_info=True)
        self.copy_events()
        if self._jsonl is not None:
            self._jsonl.close()
        if self.purge is not None:
            self.purge.close()

    # -- placement ------------------------------------------------------------------------------------------

    def _camera_actor(self, camera_id: str):
        options = {"scheduling_strategy": "SPREAD", "max_restarts": -1, "max_task_retries": 0, "num_cpus": 0,
                   "name": f"camera-{camera_id}"}
        return _remote(self.ray, CameraActor, **options).remote(
            self.source, camera_id, str(self.out_dir), self.store_target, self.state_target, self.include_files)

    def alive_nodes(self) -> list[dict]:
        return [n for n in self.ray.nodes() if n.get("Alive")]

    def ensure_pools(self) -> None:
        """A pool of detector actors on every live node (one per CPU), none kept for dead nodes."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        alive = {n["NodeID"]: n for n in self.alive_nodes()}
        for node_id in [n for n in self.pools if n not in alive]:
            log.warning("node %s left the cluster; its cameras restart on the others", node_id)
            del self.pools[node_id]
        camera_ids = [c.id for c in self.chosen]
        for node_id, node in alive.items():
            if node_id in self.pools:
                continue
            size = max(1, int(node.get("Resources", {}).get("CPU", 1)))
            strategy = NodeAffinitySchedulingStrategy(node_id, soft=False)
            pool = [_remote(self.ray, DetectorActor, name=f"{POOL_PREFIX}{node_id}-{i}", num_cpus=1,
                            max_restarts=2, scheduling_strategy=strategy).remote(self.source, self.detectors)
                    for i in range(size)]
            for actor in pool:
                actor.warm.remote(camera_ids)
            self.pools[node_id] = pool
            log.info("node %s (%s): %d detector actor(s)", node_id, node.get("NodeManagerAddress"), size)

    # -- health and events ----------------------------------------------------------------------------------

    def _collect_reports(self, timeout: float = REPORT_EVERY * 2) -> None:
        asked = {actor.report.remote(): camera_id for camera_id, actor in self.actors.items()}
        if not asked:
            return
        ready, _ = self.ray.wait(list(asked), num_returns=len(asked), timeout=timeout)
        for ref in ready:
            try:
                self.reports[asked[ref]] = (time.monotonic(), self.ray.get(ref))
            except self.ray.exceptions.RayError:  # restarting: shown offline once stale
                continue

    def camera_health(self, camera: CameraConfig) -> dict:
        seen = self.reports.get(camera.id)
        if seen is None:
            return {"camera_id": camera.id, "name": camera.name, "state": "starting", "reason": "being placed",
                    "node_id": None, "node_ip": None}
        at, report = seen
        health = dict(report["health"])
        if time.monotonic() - at > STALE_AFTER:
            health.update(state="offline", reason=f"its node has not answered for {time.monotonic() - at:.0f} s "
                                                  "(the camera restarts on a live node)")
        return health

    def health(self) -> dict:
        cameras = [self.camera_health(c) for c in self.chosen]
        online = sum(1 for c in cameras if c["state"] == "online")
        status = "ok" if online == len(cameras) else "degraded" if online else "down"
        status = "stopping" if self._stopping else status
        nodes = [{"node_id": n["NodeID"], "node_ip": n.get("NodeManagerAddress"),
                  "cpus": n.get("Resources", {}).get("CPU", 0), "detectors": len(self.pools.get(n["NodeID"], [])),
                  "cameras": sum(1 for c in cameras if c.get("node_id") == n["NodeID"])} for n in self.alive_nodes()]
        return {"status": status, "uptime_s": round(time.monotonic() - self._started, 1), "online": online,
                "total": len(cameras), "nodes": nodes, "cameras": cameras}

    def counters(self) -> list[CameraCounters]:
        return [report["counters"] for at, report in self.reports.values() if time.monotonic() - at <= STALE_AFTER]

    def copy_events(self) -> int:
        """Copy events stored since the last round (by any camera, on any node) to events.jsonl and announce them."""
        if self._jsonl is None:
            return 0
        ids = {c.id for c in self.chosen}
        rows = self.store.db.execute(f"SELECT rowid, {', '.join(EVENT_COLUMNS)} FROM events WHERE rowid > ? "
                                     "ORDER BY rowid", (max(0, self._copied - RESCAN_ROWS),)).fetchall()
        copied = 0
        for row in rows:
            self._copied = max(self._copied, int(row[0]))
            event = event_from_row(row)
            if event.camera_id in ids and self._jsonl.write(event):
                copied += 1
                if self.on_event is not None:
                    self.on_event(event)
        return copied

    def _newest_row(self) -> int:
        row = self.store.db.execute("SELECT max(rowid) FROM events").fetchone()
        return int(row[0] or 0)


class _NodeCollector:
    """``streetorder_camera_node{camera,node}``: 1 for the node each camera runs on; ``streetorder_cluster_nodes``."""

    def __init__(self, runner: ClusterRunner):
        self.runner = runner

    def collect(self) -> Iterator[Metric]:
        placed = GaugeMetricFamily("streetorder_camera_node", "1 for the cluster node the camera runs on",
                                   labels=["camera", "node"])
        for camera in self.runner.chosen:
            node = self.runner.camera_health(camera).get("node_id")
            if node:
                placed.add_metric([camera.id, node], 1.0)
        yield placed
        nodes = GaugeMetricFamily("streetorder_cluster_nodes", "Live nodes of the cluster")
        nodes.add_metric([], len(self.runner.pools))
        yield nodes
