"""The multi-camera live loop (``streetorder run``): many cameras, one shared detector, until stopped.

Each camera has a reader thread (``streams.live.LiveSource``) keeping its freshest frame. The loop picks the cameras
whose next analysis time has come and that have a new frame, most overdue first, and hands them to ``workers``
threads (one core each): each scales its frame to the main stream's size, runs the shared detector and the camera's
own stages up to the dwell timers (``CameraPipeline.observe``: view check, tracker, resting memory, zone rules),
side by side. The loop's thread then records their events in turn (``CameraPipeline.record``: plates, evidence,
the store, events.jsonl, sinks). A camera with nothing new (offline, slow) is simply not picked, so it never delays
the others. Analysis slots missed because the detector fell behind are counted as dropped frames.

State (timelines, resting objects, timers, held photos) is saved every ``live.save_every`` seconds and on shutdown
(``streams.state``); events are written to the store and ``events.jsonl`` as they happen, before they are announced.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.urls import mask_credentials
from detector.change import ChangeGate
from detector.detections import Detections
from detector.load import Detector
from detector.zone_crop import ZoneCrop
from events.camera_status import CameraStatuses, CameraStatusRow
from events.evidence import EvidenceWriter
from events.purge import DailyPurge, Purge
from events.record import Event
from events.recorder import EventRecorder
from events.store import EventStore, JsonlWriter
from streams.frames import Frame
from streams.health import CameraCounters, LiveMetrics
from streams.live import Backoff, CameraStatus, LiveClock, LiveSource
from streams.pipeline import CameraPipeline, Observed, change_gate
from streams.rate import AnalysisRate, camera_rate, changed_idle, next_analysis
from streams.state import StateStore, capture, resume
from zones.config import CameraConfig, Config, ConfigError, is_file_source
from zones.geometry import check_in_frame
from zones.units import UnitLookup, read_unit_map, unit_label

log = logging.getLogger(__name__)

MAX_BATCH = 8  # frames analysed per loop turn at most, so a turn stays short and fair
STUCK_AFTER = 60.0  # seconds without a loop turn after which /healthz answers 503


def live_cameras(config: Config, only: Sequence[str] | None = None,
                 include_files: bool = False) -> list[CameraConfig]:
    """The cameras a live run reads: URLs and devices (and files replayed at real-time pace if asked)."""
    chosen = [c for c in config.cameras if not only or c.id in only]
    return [c for c in chosen if include_files or not is_file_source(c.source)]


@dataclass
class LiveCamera:
    """One camera of a live run: its reader, stages, analysis schedule and counters."""

    camera: CameraConfig
    source: LiveSource
    pipeline: CameraPipeline
    detector: Detector
    model: str
    period: float
    next_due: float = 0.0  # time.monotonic() at which the next frame should be analysed
    last_index: int = -1
    frames_analysed: int = 0
    frames_dropped: int = 0
    last_t: float | None = None
    open_timers: int = 0  # running dwell timers, counted by the loop (health requests come from other threads)
    warned: int = 0
    checked: bool = False
    error: str | None = None
    events: Counter = field(default_factory=Counter)
    gate: ChangeGate | None = None  # skip_unchanged: unchanged frames reuse ``last_detections``
    last_detections: Detections | None = None
    rate: AnalysisRate | None = None  # detect.idle_fps: the adaptive analysis rate
    slot: float = 0.0  # the analysis time (monotonic) the frame being analysed was due at
    next_check: float = 0.0  # when an idle camera's freshest frame is checked for a change next
    checked_index: int = -1

    @property
    def rate_state(self) -> str:
        """busy (analysed at analysis_fps) or idle (at the camera's idle_fps)."""
        return "busy" if self.rate is None else self.rate.state

    @property
    def current_period(self) -> float:
        return self.period if self.rate is None else self.rate.period

    def counters(self) -> CameraCounters:
        stats = self.source.stats
        return CameraCounters(self.camera.id, stats.frames_read, self.frames_analysed, self.frames_dropped,
                              stats.reconnects, self.source.status.state == "online", stats.stream_lag,
                              self.open_timers, self.pipeline.view_state, dict(self.events), self.pipeline.preset,
                              self.rate_state)

    def count_timers(self) -> None:
        timers = self.pipeline.monitor.open_timers()
        self.open_timers, self.warned = len(timers), sum(1 for _, _, warned in timers if warned)

    def status_row(self) -> CameraStatusRow:
        """The camera's row of the store's ``camera_status`` (the reviewers' cameras page)."""
        status, last_frame_at = self.source.status, self.source.stats.last_frame_at
        now = datetime.now(UTC)
        last = None if last_frame_at is None else now - timedelta(seconds=time.monotonic() - last_frame_at)
        return CameraStatusRow(self.camera.id, self.camera.name, self.camera.source, status.state,
                               self.error or status.reason, self.pipeline.view_state, self.pipeline.preset,
                               None if last is None else last.isoformat(timespec="seconds"),
                               now.isoformat(timespec="seconds"))

    def health(self) -> dict:
        stats, status = self.source.stats, self.source.status
        age = None if stats.last_frame_at is None else round(time.monotonic() - stats.last_frame_at, 2)
        return {
            "camera_id": self.camera.id, "name": self.camera.name,
            "source": mask_credentials(self.camera.source), "analysed": self.source.display,
            **status.to_json(), "error": self.error,
            "analysis_fps": round(1 / self.period, 3), "rate": self.rate_state,
            "rate_fps": round(1 / self.current_period, 3), "keyframes_only": self.source.keyframes_only,
            "frame_size": stats.frame_size, "keyframe_interval_s": _round(stats.keyframe_interval),
            "frames_read": stats.frames_read, "frames_analysed": self.frames_analysed,
            "frames_dropped": self.frames_dropped, "reconnects": stats.reconnects, "damaged": stats.damaged,
            "last_frame_age_s": age, "stream_lag_s": round(stats.stream_lag, 2), "last_t": _round(self.last_t),
            "open_timers": self.open_timers, "warned": self.warned, "view": self.pipeline.view_state,
            "preset": self.pipeline.preset,
            "events": {f"{rule}/{kind}": n for (rule, kind), n in sorted(self.events.items())},
        }


class LiveRunner:
    """Run live cameras until stopped.

    Example:
        >>> runner = LiveRunner(config, out, detectors.for_camera, EventStore(out / "events.db"),
        ...                     StateStore(out / "state.db"))          # doctest: +SKIP
        >>> runner.start()                                              # doctest: +SKIP
        >>> runner.run(stop_event)   # returns once stop_event is set   # doctest: +SKIP
    """

    def __init__(self, config: Config, out_dir: Path, detector_for: Callable[[CameraConfig], Detector],
                 store: EventStore, state: StateStore, *, cameras: Sequence[str] | None = None,
                 include_files: bool = False, on_event: Callable[[Event], None] | None = None, workers: int = 1,
                 write_jsonl: bool = True):
        self.config = config
        self.workers = max(1, workers)
        self.write_jsonl = write_jsonl  # False: someone else writes events.jsonl (a cluster's driver, from the store)
        self._pool: ThreadPoolExecutor | None = None
        self.out_dir = Path(out_dir)
        self.detector_for = detector_for
        self.store = store
        self.state = state
        self.on_event = on_event
        self.chosen = live_cameras(config, cameras, include_files)
        self.cameras: list[LiveCamera] = []
        self.metrics = LiveMetrics(self.counters)
        self._wake = threading.Event()
        self._jsonl: JsonlWriter | None = None
        self._started = time.monotonic()
        self._heartbeat = time.monotonic()
        self._stopping = False
        self.purge = daily_purge(config, store)
        self.statuses = CameraStatuses(store.db)

    # -- start, run, stop -----------------------------------------------------------------------------------

    def start(self) -> LiveRunner:
        """Load detectors, take up saved state and start every camera's reader."""
        self._jsonl = JsonlWriter(self.out_dir / "events.jsonl") if self.write_jsonl else None
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="detect")
        self.cameras = [self._build(camera) for camera in self.chosen]
        now = time.monotonic()
        for cam in self.cameras:
            cam.next_due = now
            cam.source.start()
        self.write_status()
        return self

    def run(self, stop: threading.Event, stop_after: float | None = None) -> None:
        """Analyse until ``stop`` is set (or ``stop_after`` seconds passed), then save state and stop the readers."""
        deadline = None if stop_after is None else time.monotonic() + stop_after
        last_save = time.monotonic()
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                self._heartbeat = time.monotonic()
                self._wake.clear()
                batch = self._due_frames()
                if batch:
                    self._analyse(batch)
                else:
                    self._wake.wait(self._idle_wait(deadline))
                if self.purge is not None:
                    self.purge.tick()  # one short batch a turn, when due
                if time.monotonic() - last_save >= self.config.live.save_every:
                    self.save()
                    self.write_status()
                    last_save = time.monotonic()
        finally:
            self.close()

    def save(self) -> None:
        """Write every camera's state in one transaction."""
        try:
            self.state.save({cam.camera.id: capture(cam.pipeline, cam.source.clock.origin) for cam in self.cameras})
        except Exception:  # the next save tries again; events are stored already
            log.exception("saving the live state to %s failed", self.state.path)

    def write_status(self) -> None:
        """Write every camera's status to the event store, for the reviewers' cameras page."""
        try:
            self.statuses.write([cam.status_row() for cam in self.cameras])
        except Exception:  # the next turn writes it again; analysis goes on
            log.exception("writing the cameras' status to %s failed", self.store.db.label)

    def close(self) -> None:
        """Stop the readers, save the state, close events.jsonl (the event store belongs to the caller)."""
        if self._stopping:
            return
        self._stopping = True
        for cam in self.cameras:
            cam.source.stop()
        deadline = time.monotonic() + 2.0
        for cam in self.cameras:
            cam.source.stop(wait=max(0.0, deadline - time.monotonic()))
        self.save()
        self.write_status()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._jsonl is not None:
            self._jsonl.close()
        if self.purge is not None:
            self.purge.close()

    # -- health ---------------------------------------------------------------------------------------------

    def counters(self) -> list[CameraCounters]:
        return [cam.counters() for cam in self.cameras]

    def health(self) -> dict:
        cameras = [cam.health() for cam in self.cameras]
        online = sum(1 for c in cameras if c["state"] == "online")
        if self._stopping:
            status = "stopping"
        elif time.monotonic() - self._heartbeat > STUCK_AFTER:
            status = "stuck"
        else:
            status = "ok" if online == len(cameras) else "degraded" if online else "down"
        return {"status": status, "uptime_s": round(time.monotonic() - self._started, 1), "online": online,
                "total": len(cameras), "cameras": cameras}

    # -- the loop's parts -----------------------------------------------------------------------------------

    def _build(self, camera: CameraConfig) -> LiveCamera:
        saved = self.state.load(camera.id)
        origin = saved.origin if saved else datetime.now().astimezone()
        clock = LiveClock(origin, not_before=(saved.last_t or 0.0) if saved else 0.0)
        cam_ref: list[LiveCamera] = []
        recorder = EventRecorder(camera.id, EvidenceWriter(self.out_dir, camera), self.store, self._jsonl,
                                 sinks=[lambda event: self._announce(cam_ref[0], event)], where=camera.geo,
                                 units=UnitLookup.of_camera(camera, read_unit_map(self.config.units)))
        pipeline = CameraPipeline(self.config, camera, recorder)
        resume(pipeline, saved, first_object_id=self.store.highest_object_id(camera.id) + 1)
        live = self.config.live
        source = LiveSource(camera.id, camera.substream or camera.source, clock,
                            keyframes_only=camera.keyframes_only, transport=live.transport,
                            open_timeout=live.open_timeout, stall_timeout=live.stall_timeout,
                            backoff=Backoff(live.reconnect_min, live.reconnect_max), frame_size=camera.frame_size,
                            on_status=self._status_changed, wake=self._wake)
        cam = LiveCamera(camera, source, pipeline, self.detector_for(camera), camera.detect.model,
                         1.0 / camera.analysis_fps,
                         gate=change_gate(camera),
                         rate=camera_rate(camera, pipeline.memory.params.rest_window, on_grid=False))
        if isinstance(cam.detector, ZoneCrop):
            cam.detector.follow(pipeline.crop_zones)
        cam_ref.append(cam)
        cam.count_timers()
        self.store.save_camera(camera.id, mask_credentials(camera.source), [z.model_dump() for z in camera.zones],
                               str(self.out_dir.resolve()), camera.name, camera.location,
                               unit_label(camera.unit))
        if saved:
            log.info("camera %s: resuming (timeline from %s, %d resting object(s), %d running timer(s))", camera.id,
                     origin.isoformat(timespec="seconds"), len(pipeline.memory.objects),
                     len(pipeline.monitor.open_timers()))
        return cam

    def _due_frames(self) -> list[tuple[LiveCamera, Frame]]:
        """Cameras whose analysis time has come and that have a new frame, most overdue first."""
        now = time.monotonic()
        due = sorted((c for c in self.cameras if c.error is None and c.next_due <= now), key=lambda c: c.next_due)
        batch = []
        for cam in due:
            frame = cam.source.latest(cam.last_index, scaled=False)  # scaled on the worker thread
            if frame is None:
                cam.next_due = now  # waiting on the camera is not analysis falling behind
                continue
            cam.last_index = frame.index
            period = cam.current_period
            missed = int((now - cam.next_due) // period)
            cam.frames_dropped += missed
            cam.slot = cam.next_due + missed * period
            cam.next_due = cam.slot + period
            batch.append((cam, frame))
            if len(batch) == MAX_BATCH:
                break
        return batch + changed_idle(self.cameras, now, MAX_BATCH - len(batch))

    def _idle_wait(self, deadline: float | None) -> float:
        now = time.monotonic()
        upcoming = [c.next_due - now for c in self.cameras if c.error is None and c.next_due > now]
        upcoming += [c.next_check - now for c in self.cameras if c.rate_state == "idle" and c.next_check > now]
        if deadline is not None:
            upcoming.append(deadline - now)
        return min([0.5, *upcoming]) if upcoming else 0.5

    def _analyse(self, batch: list[tuple[LiveCamera, Frame]]) -> None:
        """Each frame's detector and stages up to the dwell timers on the worker threads side by side (one camera's
        work touches only its own state), then its events in this thread, in the batch's order (the store,
        events.jsonl and the sinks are this thread's)."""
        observing = [(cam, self._pool.submit(self._observe, cam, frame)) for cam, frame in batch]
        for cam, future in observing:
            observed = future.result()
            if observed is None:
                continue
            try:
                cam.pipeline.record(observed)
            except Exception:  # one bad frame must not stop the camera
                log.exception("camera %s: recording the frame at t=%.1f s failed", cam.camera.id, observed.frame.t)
                continue
            frame = observed.frame
            cam.frames_analysed += 1
            cam.last_t = frame.t
            cam.count_timers()
            if cam.rate is not None:
                cam.next_due = cam.slot + next_analysis(cam.rate, cam.pipeline, frame) - frame.t
                cam.next_check = time.monotonic() + cam.rate.busy_period

    def _observe(self, cam: LiveCamera, frame: Frame) -> Observed | None:
        """On a worker thread: the frame scaled to the main stream's size, detected (unless the change gate says
        nothing changed) and observed by the camera's stages; None when it is lost (logged)."""
        frame = cam.source.scale(frame)
        if not cam.checked and not self._check_zones(cam, frame):
            return None
        unchanged = cam.gate is not None and not cam.gate.needs_inference(frame.image, frame.t)
        if unchanged and cam.last_detections is not None:
            detections = cam.last_detections  # nothing changed: the last detections still hold
        else:
            try:
                start = time.perf_counter()
                detections = cam.detector.detect(frame.image)
            except Exception:  # a detector failure loses this frame, not the run
                log.exception("detector %s failed on camera %s", cam.model, cam.camera.id)
                return None
            self.metrics.inference.labels(cam.model).observe(time.perf_counter() - start)
            cam.last_detections = detections
        try:
            return cam.pipeline.observe(frame, detections)
        except Exception:  # one bad frame must not stop the camera
            log.exception("camera %s: analysing the frame at t=%.1f s failed", cam.camera.id, frame.t)
            return None

    def _check_zones(self, cam: LiveCamera, frame: Frame) -> bool:
        """On the first frame: every zone must lie in the frame, else the camera stops with one sentence."""
        height, width = frame.image.shape[:2]
        try:
            check_in_frame(cam.camera, width, height, config_name=str(self.config.path or "config"))
        except ConfigError as exc:
            hint = ("; with a substream, set the camera's frame_size to the main stream's width and height"
                    if cam.camera.substream and not cam.camera.frame_size else "")
            cam.error = f"{exc}{hint}"
            log.error("%s", cam.error)
            cam.source.stop()
            return False
        cam.checked = True
        return True

    def _announce(self, cam: LiveCamera, event: Event) -> None:
        cam.events[event.rule, event.type] += 1
        if self.on_event is not None:
            self.on_event(event)

    def _status_changed(self, source: LiveSource, status: CameraStatus) -> None:
        level = logging.WARNING if status.state == "offline" else logging.INFO
        log.log(level, "camera %s (%s): %s: %s", source.name, source.display, status.state, status.reason)


def daily_purge(config: Config, store: EventStore) -> DailyPurge | None:
    """The retention purge of ``store``, at start and daily (None: ``enforcement.retention`` is null)."""
    retention = config.enforcement.retention
    if retention is None or store.path == ":memory:":
        return None
    return DailyPurge(lambda: Purge(store.path, retention))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
