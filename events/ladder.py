"""The ladder of graded enforcement (DESIGN.md, "Plates and repeat offences"): a warn of a read plate is the
plate's how-many-th offence within ``enforcement.lookback``, and that decides its action (advise, educate,
enforce: the seeds' "一规劝、二教育、三暂扣" and "首违不罚", a first offence is advised, not fined).

Exempt plates and plates with a permit valid on the warn's day get the action ``exempt``; their offence is still
counted and written, and they count as earlier warns of that plate later: the history is the vehicle's, the
exemption is about what is done now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from events.record import Event
from events.store import EventStore, store_time
from zones.config_enforcement import EXEMPT_ACTION, EnforcementSettings


class Ladder:
    """Grades the warns of one store's plates with one config's ``enforcement:`` settings."""

    def __init__(self, settings: EnforcementSettings, store: EventStore) -> None:
        self.settings = settings
        self.store = store

    def grade(self, event: Event) -> Event:
        """``event`` with its ``offence`` and ``action``, if it is a warn with a plate; else as it is. Its time is
        its ``ts`` (the footage's wall time), else now."""
        if event.type != "warn" or event.plate is None:
            return event
        when = store_time(event.ts) if event.ts is not None else datetime.now(UTC)
        since = when - timedelta(seconds=self.settings.lookback)
        offence = 1 + self.store.earlier_warns(event.plate, since, when, event.event_id)
        exempt = self.settings.is_exempt(event.plate, when.date())  # the date where the camera is (ts's offset)
        action = EXEMPT_ACTION if exempt else self.settings.action(offence)
        return event.model_copy(update={"offence": offence, "action": action})
