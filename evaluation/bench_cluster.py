"""The cost of the cluster (``streetorder bench --only cluster``): the same live cameras in one process and on a
two-node local Ray cluster on the same cores, side by side.

Both runs replay ``cameras`` copies of the bench footage at real-time pace, analysed at 1 fps, for a measured
window. The one process uses ``workers`` detector threads (one core each); the cluster has two nodes on 127.0.0.1
with one CPU each (one detector actor each, ``streams/ray_setup.py``'s settings) and one actor per camera. The
figure that compares them is CPU time per analysed frame (every Ray process counted: raylets, GCS, workers, the
driver): its ratio is the overhead of the cluster, and cores / (CPU per frame x cameras) the cameras each sustains.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from detector.load import Detector
from evaluation.bench import Footage, capacity_raw, capacity_run

NODES, CPUS_PER_NODE = 2, 1


@dataclass(frozen=True)
class OverheadRun:
    where: str  # "one process" or "2-node cluster"
    cameras: int
    expected: int  # analysis slots in the window
    analysed: int
    dropped: int
    cpu_cores: float  # CPU time of every process involved / wall time
    seconds: float

    @property
    def cpu_ms_per_frame(self) -> float:
        return 1000 * self.cpu_cores * self.seconds / max(self.analysed, 1)

    @property
    def sustained(self) -> bool:
        return self.analysed >= 0.95 * self.expected and self.dropped <= 0.05 * max(self.analysed + self.dropped, 1)


def one_process(footage: Footage, cameras: int, detector: Detector, seconds: float, workers: int) -> OverheadRun:
    run = capacity_run(footage, cameras, True, detector, seconds=seconds, workers=workers)
    return OverheadRun("one process", cameras, run.expected, run.analysed, run.dropped, run.cpu_cores, run.seconds)


def on_cluster(footage: Footage, cameras: int, seconds: float, detectors, warmup: float = 4.0) -> OverheadRun:
    """The same cameras on a fresh two-node local cluster (started and stopped here); ``detectors`` is the detector
    actors' factory (``streams.cluster_live.DetectorFactory``)."""
    from streams.ray_setup import apply_environment, connect, node_settings
    apply_environment()
    from ray.cluster_utils import Cluster

    from events.store import EventStore
    from streams.cluster_live import ClusterRunner, ConfigText

    cluster = Cluster(initialize_head=True, head_node_args={**node_settings(), "num_cpus": CPUS_PER_NODE})
    for _ in range(NODES - 1):
        cluster.add_node(**node_settings(), num_cpus=CPUS_PER_NODE)
    ray = connect(cluster.address)
    try:
        with tempfile.TemporaryDirectory(prefix="streetorder-bench-cluster-") as folder:
            out = Path(folder)
            config = out / "cameras.yaml"
            config.write_text(yaml.safe_dump(capacity_raw(footage, cameras, True)))
            store = EventStore(out / "events.db")
            runner = ClusterRunner(ray, ConfigText.read(config), out, store, str(out / "events.db"),
                                   str(out / "state.db"), detectors, include_files=True).start()
            stop = threading.Event()
            loop = threading.Thread(target=runner.run, args=(stop,), daemon=True)
            loop.start()
            try:
                _wait(lambda: all(runner.camera_health(c)["state"] == "online" for c in runner.chosen), 120)
                time.sleep(warmup)
                before, cpu, wall = _counts(runner), _ray_cpu(), time.monotonic()
                time.sleep(seconds)
                after, cpu, wall = _counts(runner), _ray_cpu() - cpu, time.monotonic() - wall
            finally:
                stop.set()
                loop.join(90)
                store.close()
    finally:
        ray.shutdown()
        cluster.shutdown()
    return OverheadRun(f"{NODES}-node cluster", cameras, round(cameras * wall), after[0] - before[0],
                       after[1] - before[1], cpu / wall, wall)


def _counts(runner) -> tuple[int, int]:
    runner.poll()
    counters = runner.counters()
    return sum(c.frames_analysed for c in counters), sum(c.frames_dropped for c in counters)


def _ray_cpu() -> float:
    """CPU seconds so far of this process and every Ray process on the machine (children included)."""
    total = 0.0
    me = psutil.Process()
    for proc in [me, *psutil.process_iter()]:
        try:
            if proc.pid != me.pid and "ray" not in " ".join(proc.cmdline()):
                continue
            times = proc.cpu_times()
            total += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


def _wait(condition, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise RuntimeError(f"the cluster's cameras did not all come online within {timeout:g} s")
        time.sleep(0.5)


def overhead_rows(runs: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The table of ``streetorder bench``: each run, and the ratio of CPU per frame to the one process's."""
    base = next((r for r in runs if r["where"] == "one process"), None)
    header = ["where", "cameras", "analysed / slots", "dropped", "CPU cores", "CPU ms / frame", "vs one process"]
    rows = []
    for r in runs:
        per_frame = 1000 * r["cpu_cores"] * r["seconds"] / max(r["analysed"], 1)
        base_ms = base and 1000 * base["cpu_cores"] * base["seconds"] / max(base["analysed"], 1)
        rows.append([r["where"], str(r["cameras"]), f"{r['analysed']} / {r['expected']}", str(r["dropped"]),
                     f"{r['cpu_cores']:.2f}", f"{per_frame:.0f}", f"{per_frame / base_ms:.2f}x" if base_ms else "-"])
    return header, rows
