"""Durations ("90s", "8m", "1h30m") and active hours ("08:00-21:00") as they are written in the config."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

_DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
MAX_DURATION = 100 * 365.25 * 86400.0  # longer is a typo (and beyond what clocks and timedelta add up safely)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(value: str | float | int) -> float:
    """Seconds from ``90``, ``"90s"``, ``"8m"``, ``"1h30m"`` or ``"1.5h"``.

    >>> parse_duration("1h30m"), parse_duration("8m"), parse_duration(45)
    (5400.0, 480.0, 45.0)
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write seconds or a text such as '90s', '8m', '1h30m'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        match = _DURATION.match(text)
        if not text or not match or not any(match.groupdict().values()):
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not a duration; write seconds or a text such as '90s', '8m', '1h30m'"
                ) from None
        else:
            parts = {k: float(v) for k, v in match.groupdict().items() if v}
            seconds = parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite duration; write seconds or a text such as '90s', '8m', '1h30m'")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative; durations are zero or more")
    if seconds > MAX_DURATION:
        raise ValueError(f"{value!r} is more than 100 years; write a shorter duration")
    return seconds


def parse_signed_duration(value: Any) -> float:
    """A duration that may be negative (one clock behind another): ``"-2s"``, ``"1m"``, ``-0.5``.

    >>> parse_signed_duration("-2s"), parse_signed_duration("1m")
    (-2.0, 60.0)
    """
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration(value.strip()[1:])
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0 and math.isfinite(value):
        return -parse_duration(-value)
    return parse_duration(value)


Seconds = Annotated[float, BeforeValidator(parse_duration)]  # a config duration: 90, "90s", "8m", "1h30m"
SignedSeconds = Annotated[float, BeforeValidator(parse_signed_duration)]


@dataclass(frozen=True)
class ActiveWindow:
    """One daily window, such as 08:00-21:00; a window whose end is before its start runs past midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> ActiveWindow:
        match = _WINDOW.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a time window; write it as 'HH:MM-HH:MM', for example '08:00-21:00'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise ValueError(f"{text!r} has an impossible time of day")
        return cls(_clock(h1, m1), _clock(h2, m2))

    def start_on_or_before(self, moment: datetime) -> datetime | None:
        """Start of the occurrence of this window that contains ``moment``, or None if outside."""
        for day_offset in (0, -1):
            day = moment.date() + timedelta(days=day_offset)
            begin = datetime.combine(day, self.start, tzinfo=moment.tzinfo)
            finish = datetime.combine(day, self.end, tzinfo=moment.tzinfo)
            if finish <= begin:
                finish += timedelta(days=1)
            if begin <= moment < finish:
                return begin
        return None


def _clock(hour: int, minute: int) -> time:
    return time.max if hour == 24 else time(hour, minute)


@dataclass(frozen=True)
class Schedule:
    """When a rule is on: daily windows on some days of the week. No windows and all days means always on."""

    windows: tuple[ActiveWindow, ...] = ()
    days: tuple[str, ...] = DAYS

    @property
    def always_on(self) -> bool:
        return not self.windows and set(self.days) == set(DAYS)

    def window_start(self, moment: datetime) -> datetime | None:
        """Start of the active window that contains ``moment``, or None if the rule is off then."""
        for window in self.windows or (ActiveWindow(time(0, 0), time.max),):
            begin = window.start_on_or_before(moment)
            if begin is not None and DAYS[begin.weekday()] in self.days:
                return begin
        return None
