"""Dwell timers: violations over time -> state changes (rest, warn, escalate, clear, drop).

- ``rest``: a violation began; its timer started at ``since_t`` (the moment the object came to rest, or the start
  of the zone's active hours if later). Evidence is taken now and kept until the timer decides it is needed.
- ``warn``: the object has rested ``warn_after`` and is there now (seen within ``PRESENT_WITHIN`` seconds, or
  hidden behind something that stopped in front of it), its spot in the frame (a shifted view can carry it out).
- ``escalate``: as ``warn``, after ``escalate_after`` (only if configured).
- ``clear``: a warned object has been absent ``clear_after``; its ``t`` is the last time it was seen.
- ``drop``: the violation ended before any warning; no event, evidence discarded.

A timer closed by ``clear`` never reopens for the same object, so one object gives at most one warn per zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np

from zones.config import DwellSettings
from zones.rules import Violation
from zones.schedule import Schedule

PRESENT_WITHIN = 5.0  # seconds: an object unseen for longer is not warned until it is seen again

ChangeKind = Literal["rest", "warn", "escalate", "clear", "drop"]


@dataclass(frozen=True)
class StateChange:
    kind: ChangeKind
    rule: str
    zone_id: str
    object_id: str
    class_name: str
    t: float
    since_t: float
    xyxy: tuple[float, float, float, float]
    score: float

    @property
    def dwell_s(self) -> float:
        return self.t - self.since_t


@dataclass
class _Timer:
    violation: Violation
    since_t: float
    warned: bool = False
    escalated: bool = False


@dataclass
class ZoneTimers:
    """The dwell timers of one zone."""

    zone_id: str
    settings: DwellSettings
    schedule: Schedule
    timers: dict[tuple, _Timer] = field(default_factory=dict)
    closed: set[tuple] = field(default_factory=set)

    def update(self, violations: list[Violation], t: float, wall: datetime | None) -> list[StateChange]:
        changes: list[StateChange] = []
        window_start = self._window_start(t, wall)
        current = {v.key: v for v in violations}
        for key, timer in list(self.timers.items()):
            if key in current:
                timer.violation = current[key]
            if key not in current or timer.violation.absent_s >= self.settings.clear_after:
                changes.append(self._close(key, timer, t))
            elif window_start is None and not timer.warned:
                changes.append(self._change("drop", timer, t))  # the rule switched off before a warning
                del self.timers[key]
        for key, violation in current.items():
            if key in self.timers or key in self.closed or window_start is None:
                continue
            if violation.absent_s >= self.settings.clear_after:
                continue
            timer = _Timer(violation, max(violation.since_t, window_start))
            self.timers[key] = timer
            changes.append(self._change("rest", timer, t))
        for timer in self.timers.values():
            changes += self._fire(timer, t)
        return changes

    def finish(self, t: float) -> list[StateChange]:
        """The source ended: unwarned timers are dropped; warned objects are still there, so no clear."""
        changes = [self._change("drop", tm, t) for tm in self.timers.values() if not tm.warned]
        self.timers.clear()
        return changes

    def snapshot(self) -> dict:
        """Running timers and closed keys as plain JSON-able data, to outlive a restart."""
        return {
            "timers": [{"violation": tm.violation.to_state(), "since_t": tm.since_t, "warned": tm.warned,
                        "escalated": tm.escalated} for tm in self.timers.values()],
            "closed": [list(key) for key in self.closed],
        }

    def restore(self, state: dict) -> None:
        """Take up a ``snapshot``: each timer goes on from its own ``since_t``, a warned one never warns again."""
        for item in state["timers"]:
            violation = Violation.from_state(item["violation"])
            self.timers[violation.key] = _Timer(violation, item["since_t"], item["warned"], item["escalated"])
        self.closed |= {tuple(key) for key in state["closed"]}

    def forget(self, object_ids: set[str]) -> None:
        """Objects that ended in the memory can never come back: their closed keys are no longer needed."""
        self.closed = {k for k in self.closed if k[2] not in object_ids}

    def _window_start(self, t: float, wall: datetime | None) -> float | None:
        """Media time at which the current active window began; -inf if always on; None if the rule is off."""
        if wall is None or self.schedule.always_on:
            return float("-inf")
        begin = self.schedule.window_start(wall)
        return None if begin is None else t - (wall - begin).total_seconds()

    def _fire(self, timer: _Timer, t: float) -> list[StateChange]:
        violation = timer.violation
        if violation.absent_s > PRESENT_WITHIN or not violation.in_view:
            return []
        dwell = t - timer.since_t
        if not timer.warned and dwell >= self.settings.warn_after:
            timer.warned = True
            return [self._change("warn", timer, t)]
        escalate_after = self.settings.escalate_after
        if timer.warned and not timer.escalated and escalate_after is not None and dwell >= escalate_after:
            timer.escalated = True
            return [self._change("escalate", timer, t)]
        return []

    def _close(self, key: tuple, timer: _Timer, t: float) -> StateChange:
        del self.timers[key]
        if not timer.warned:
            return self._change("drop", timer, t)
        self.closed.add(key)
        return self._change("clear", timer, timer.violation.last_seen_t)

    @staticmethod
    def _change(kind: ChangeKind, timer: _Timer, t: float) -> StateChange:
        v = timer.violation
        box = tuple(float(x) for x in np.asarray(v.xyxy).reshape(4))
        return StateChange(kind, v.rule, v.zone_id, v.object_id, v.class_name, t, timer.since_t, box, v.score)
