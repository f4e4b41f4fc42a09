"""The zones and resting objects of each view a fixed camera watches: its only view, or each preset of a PTZ camera.

A PTZ camera (``presets:``, docs/CAMERA_MOVES.md) gets one ``ViewStages`` per preset, each a ``ZoneMonitor`` of the
preset's zones and a ``RestingMemory`` of the objects seen in it. Only the stages of the preset the camera shows
see frames; the others wait as for a gap in the video (no warn, no clear, the absence clocks stop) and end honestly
once they have not been shown for ``resting.max_gap``. Object ids stay unique across the presets: the stages shown
next start from the highest next id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detector.detections import Detections
from detector.resting import RestingMemory, RestingParams
from detector.view_watch import ViewWatch
from zones.config import CameraConfig, Config
from zones.config_presets import read_reference
from zones.dwell import StateChange
from zones.monitor import ZoneMonitor


@dataclass
class ViewStages:
    """One view's zone monitor and resting memory, and how they were last re-anchored."""

    monitor: ZoneMonitor
    memory: RestingMemory
    anchor: np.ndarray = field(default_factory=lambda: np.eye(3))  # current frame -> reference view, as applied
    steady_t: float | None = None  # the last frame these stages saw
    ended: bool = False  # ended for a wait longer than max_gap; nothing more to end until shown again

    def wait(self, tracked: Detections, t: float, ts) -> list[StateChange]:
        """Not shown at ``t``: nothing changes, unless the wait passed ``max_gap``; then every object ends as after an
        outage (warned ones are cleared at their last sighting)."""
        if self.ended or self.steady_t is None or t - self.steady_t <= self.memory.params.max_gap:
            return []
        self.ended = True
        nothing = tracked[np.zeros(len(tracked), dtype=bool)]
        return self.monitor.update(self.memory.update(nothing, t), nothing, t, ts)

    def take_over(self, next_id: int) -> None:
        """Shown again after another preset: object ids go on from ``next_id``, tracks start anew (the tracker's ids
        followed other cars meanwhile) and each object is found again on its spot."""
        self.memory.restore({**self.memory.snapshot(), "next_id": next_id})


def build_stages(config: Config, camera: CameraConfig, first_object_id: int = 1) -> dict[str | None, ViewStages]:
    """``{None: stages}`` for a camera without presets, else ``{preset id: stages}`` in the config's order."""
    rest = config.resting
    stages = {}
    for preset in camera.presets or [None]:
        view = camera if preset is None else camera.model_copy(update={"zones": list(preset.zones)})
        monitor = ZoneMonitor(config, view)
        memory = RestingMemory(RestingParams(rest_window=rest.rest_window, radius=rest.radius, max_gap=rest.max_gap,
                                             forget_after=monitor.longest_clear_after), first_object_id)
        stages[None if preset is None else preset.id] = ViewStages(monitor, memory)
    return stages


def view_watch(camera: CameraConfig) -> ViewWatch | None:
    """The camera's view check with its saved reference views (None: the view is not checked)."""
    if not camera.presets and not camera.detect.view_check:
        return None
    references = {p.id: read_reference(p.reference, camera.id) for p in camera.presets}
    if camera.reference is not None:
        references[None] = read_reference(camera.reference, camera.id)
    return ViewWatch(camera.detect.view_check_every, references)


def snapshot(stages: dict[str | None, ViewStages]) -> tuple[dict, dict]:
    """The memory's and the monitor's snapshots; a PTZ camera's hold each preset's under ``presets``."""
    if None in stages:
        return stages[None].memory.snapshot(), stages[None].monitor.snapshot()
    memories = {key: s.memory.snapshot() for key, s in stages.items()}
    times = [m["last_t"] for m in memories.values() if m["last_t"] is not None]
    memory = {"next_id": max(m["next_id"] for m in memories.values()), "last_t": max(times, default=None),
              "objects": [], "presets": memories}
    return memory, {"presets": {key: s.monitor.snapshot() for key, s in stages.items()}}


def restore(stages: dict[str | None, ViewStages], memory: dict, monitor: dict | None, first_object_id: int) -> None:
    """Take up ``snapshot``'s dicts (a preset, or a layout, that the saved state lacks starts empty)."""
    next_id = max(int(memory.get("next_id", 1)), first_object_id)
    for key, view in stages.items():
        own = memory if key is None else memory.get("presets", {}).get(key, {"last_t": None, "objects": []})
        view.memory.restore({**own, "objects": own.get("objects", []), "next_id": next_id})
        view.steady_t = own.get("last_t")
        timers = monitor if key is None else (monitor or {}).get("presets", {}).get(key)
        if timers and "rules" in timers:
            view.monitor.restore(timers)
