"""``--cluster ADDRESS`` of ``streetorder run`` and ``process``: the same commands, their cameras and recordings on a
Ray cluster (docs/CLUSTER.md). Ray is imported only once ``--cluster`` is given."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from rich.console import Console
from rich.table import Table

from events.database import is_server
from events.store import EventStore
from streams.cluster_batch import ClusterReport, process_on_cluster
from streams.cluster_live import ClusterRunner, ConfigText
from streams.ray_setup import LOOPBACK, connect
from zones.config import Config


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run on a Ray cluster: auto (the one started on this machine), ray://HEAD:10001, "
                             "HEAD:6379 or local (a private one-machine Ray); needs the cluster extra "
                             "(docs/CLUSTER.md)")
    parser.add_argument("--node-ip", default=LOOPBACK, metavar="ADDRESS",
                        help="this machine's address in the cluster (default 127.0.0.1: every node on this machine)")


def detector_factory(args: argparse.Namespace) -> functools.partial:
    """What each detector actor or task builds its detectors with: one core each."""
    from streams.detectors import DetectorCache
    return functools.partial(DetectorCache, model=args.model, backend=args.backend, workers=2)


def actor_store(args: argparse.Namespace, config: Config, target: str | Path) -> str | None:
    """The store the actors open: None for the config's ``store:`` (each node expands its ``${VAR}`` itself, so a
    password never travels through Ray), else the URL or the file's absolute path (a shared folder)."""
    if not args.store and config.store:
        return None
    return str(target) if is_server(target) else str(Path(target).resolve())


def actor_state(args: argparse.Namespace, store: str | None, target: str | Path) -> str | None:
    """The live state the actors open (None: the store's server)."""
    if args.state:
        return args.state if is_server(args.state) else str(Path(args.state).resolve())
    return store if is_server(target) else str((args.out / "state.db").resolve())


def cluster_runner(args: argparse.Namespace, config: Config, store: EventStore, target: str | Path,
                   on_event) -> ClusterRunner:
    """``streetorder run --cluster``: the live cameras as actors of the cluster."""
    ray = connect(args.cluster, args.node_ip)
    store_arg = actor_store(args, config, target)
    return ClusterRunner(ray, ConfigText.read(args.config), args.out, store, store_arg,
                         actor_state(args, store_arg, target), detector_factory(args), cameras=args.camera,
                         on_event=on_event)


def process_cluster(args: argparse.Namespace, config: Config, target: str | Path) -> list[ClusterReport]:
    """``streetorder process --cluster``: the recordings over the cluster (long ones in segments)."""
    ray = connect(args.cluster, args.node_ip)
    reports, _ = process_on_cluster(ray, ConfigText.read(args.config), args.out, actor_store(args, config, target),
                                    detector_factory(args), cameras=args.camera, origin=args.start_time,
                                    annotate=args.annotate)
    return reports


def print_cluster(console: Console, runner: ClusterRunner, title: str) -> None:
    """Every camera with the node it runs on (its last report)."""
    table = Table(title=title)
    for column in ("camera", "node", "status", "analysed", "events"):
        table.add_column(column)
    for camera in runner.chosen:
        health = runner.camera_health(camera)
        events = ", ".join(f"{n} {key.split('/')[1]}" for key, n in health.get("events", {}).items()) or "-"
        node = health.get("node_id")
        table.add_row(camera.id, f"{node[:12]} ({health.get('node_ip')})" if node else "-",
                      f"{health['state']}: {health.get('reason', '')}", str(health.get("frames_analysed", 0)), events)
    console.print(table)
