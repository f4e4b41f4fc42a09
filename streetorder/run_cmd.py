"""``streetorder run``: analyse live cameras (RTSP, devices) until stopped (SIGTERM or Ctrl-C)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from rich.console import Console
from rich.table import Table

from contracts.names import BACKENDS
from contracts.urls import mask_credentials
from events.database import is_server
from events.record import Event
from events.sender import stop_senders
from events.store import EventStore
from streams.detectors import DetectorCache
from streams.health import HealthServer, add_sink_metrics, sinks_health
from streams.live_runner import LiveRunner
from streams.state import StateStore
from streetorder.cluster_cmd import add_cluster_arguments, cluster_runner, print_cluster
from streetorder.process_cmd import default_workers, output_folder, worker_count
from streetorder.sinks_cmd import notify_all, open_senders
from zones.config import ConfigError, is_file_source, load_config
from zones.schedule import parse_duration

log = logging.getLogger("streetorder.run")
DEFAULT_HEALTH_PORT = 9310


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("run", help="analyse live cameras (RTSP, devices) until stopped",
                            description="Analyse every live camera (rtsp:// URLs, device indices) of a config until "
                                        "stopped with SIGTERM or Ctrl-C. Events go to OUT/events.jsonl, "
                                        "OUT/events.db and OUT/evidence; resting objects and timers are saved in "
                                        "OUT/state.db and taken up again by the next run.")
    p.add_argument("--config", required=True, type=Path, help="cameras and zones (YAML)")
    p.add_argument("--out", type=Path, default=Path("out/live"), help="output folder (default: out/live)")
    p.add_argument("--health-port", type=health_port, default=DEFAULT_HEALTH_PORT,
                   help=f"port for /healthz and /metrics on 127.0.0.1 (default {DEFAULT_HEALTH_PORT}; 0: any free "
                        "port; -1: none)")
    p.add_argument("--model", help="model name (yolo11n, yolov8n, ...) or weight file; default: config or yolo11n")
    p.add_argument("--backend", choices=BACKENDS, help="inference backend (default: onnxruntime)")
    p.add_argument("--camera", action="append", help="only this camera id (repeatable)")
    p.add_argument("--store", help="SQLite file or postgresql:// URL for events (default: config `store:` or "
                                   "OUT/events.db)")
    p.add_argument("--state", help="SQLite file or postgresql:// URL for resting objects and timers (default: the "
                                   "store when it is a postgresql:// URL, else OUT/state.db)")
    p.add_argument("--stop-after", type=parse_duration, metavar="DURATION",
                   help="stop by itself after this long, e.g. 90s or 8h (default: run until stopped)")
    p.add_argument("--workers", type=worker_count, default=default_workers(),
                   help="detector threads working side by side, one core each (default: the CPU count)")
    add_cluster_arguments(p)
    p.set_defaults(run=run)


def health_port(text: str) -> int:
    """``--health-port``: a TCP port, 0 (any free one) or -1 (none); argparse prints the sentence and exits 2."""
    try:
        port = int(text)
    except ValueError:
        port = -2
    if not -1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; give 1 to 65535, 0 for any free port or -1 for "
                                         "no health server")
    return port


def run(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    skipped = [c.id for c in config.cameras if is_file_source(c.source) and (not args.camera or c.id in args.camera)]
    if skipped:
        log.info("camera(s) %s read files; `streetorder process` analyses those", ", ".join(skipped))
    output_folder(args.out)
    target = args.store or config.store or args.out / "events.db"
    store = EventStore(target, sinks=config.sinks)
    state = StateStore(args.state or (target if is_server(target) else args.out / "state.db"))
    detectors = DetectorCache(config, args.model, args.backend, args.workers)
    senders: list = []
    wake_senders = notify_all(senders)

    def on_event(event: Event) -> None:
        wake_senders()
        _announce(console, event)

    if getattr(args, "cluster", None):
        runner = cluster_runner(args, config, store, target, on_event)
    else:
        runner = LiveRunner(config, args.out, detectors.for_camera, store, state, cameras=args.camera,
                            on_event=on_event, workers=args.workers)
    if not runner.chosen:
        raise ConfigError(f"{args.config}: no live camera to run (rtsp:// URLs or device indices); "
                          "`streetorder process` analyses files")
    senders += open_senders(config, store, [c.id for c in runner.chosen])
    health = None
    stop = threading.Event()
    previous = _stop_on_signals(stop)
    try:
        if args.health_port >= 0:  # first: a taken port fails before any camera is opened
            add_sink_metrics(runner.metrics, lambda: [sender.snapshot() for sender in senders])
            health = HealthServer(args.health_port, lambda: {**runner.health(), "sinks": sinks_health(senders)},
                                  runner.metrics).start()
        runner.start()
        if isinstance(runner, LiveRunner):
            _print_cameras(console, runner, health)
        else:
            print_cluster(console, runner, f"Live cameras on the cluster ({len(runner.pools)} node(s))")
        runner.run(stop, args.stop_after)
    except OSError as exc:
        console.print(f"[red]error:[/red] {mask_credentials(exc)}", highlight=False, soft_wrap=True)
        return 2
    finally:
        runner.close()
        stop_senders(senders)
        if health is not None:
            health.stop()
        state.close()
        store.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if isinstance(runner, LiveRunner):
        _print_summary(console, runner, args.out)
    else:
        print_cluster(console, runner, "Live run on the cluster")
    return 0


def _stop_on_signals(stop: threading.Event) -> dict:
    """SIGTERM and SIGINT end the run cleanly: the loop finishes its turn, saves state and closes the files.
    Returns the handlers they replace."""

    def handle(signum, _frame) -> None:
        log.info("%s received: saving state and stopping", signal.Signals(signum).name)
        stop.set()

    return {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}


def _announce(console: Console, event: Event) -> None:
    where = f"{event.camera_id}/{event.zone_id}"
    console.print(f"{event.ts or ''} {event.type.upper():8} {event.rule:17} {where} object {event.object_id} "
                  f"({event.class_name}), dwell {event.dwell_s:.0f} s  -> {event.evidence.get('snapshot', '')}",
                  highlight=False, soft_wrap=True)


def _print_cameras(console: Console, runner: LiveRunner, health: HealthServer | None) -> None:
    table = Table(title="Live cameras")
    for column in ("camera", "analysed stream", "fps", "decode", "resumed timers"):
        table.add_column(column)
    for cam in runner.cameras:
        table.add_row(cam.camera.id, cam.source.display, f"{1 / cam.period:g}",
                      "key frames" if cam.source.keyframes_only else "all frames",
                      str(cam.open_timers))
    console.print(table)
    if health is not None:
        console.print(f"health: http://127.0.0.1:{health.port}/healthz   metrics: http://127.0.0.1:{health.port}"
                      "/metrics   (stop with Ctrl-C or SIGTERM)", highlight=False)


def _print_summary(console: Console, runner: LiveRunner, out: Path) -> None:
    table = Table(title="Live run")
    for column in ("camera", "status", "read", "analysed", "dropped", "reconnects", "events"):
        table.add_column(column, justify="left" if column in ("camera", "status") else "right")
    for cam in runner.cameras:
        row = cam.health()
        events = ", ".join(f"{n} {key.split('/')[1]}" for key, n in row["events"].items()) or "-"
        last = cam.source.last_status
        table.add_row(cam.camera.id, cam.error or f"{last.state}: {last.reason}", str(row["frames_read"]),
                      str(row["frames_analysed"]), str(row["frames_dropped"]), str(row["reconnects"]), events)
    console.print(table)
    console.print(f"Events: {out / 'events.jsonl'}   evidence: {out / 'evidence'}   state: saved", highlight=False)
