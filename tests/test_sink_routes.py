"""Which sink gets which event: a notify sink takes warns only, a unit's sink its unit's events; on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.outbox import Outbox
from events.record import Event
from events.store import EventStore
from zones.config import ConfigError, config_from_text

SINKS = """
cameras: [{id: cam-01, source: v.mp4}]
sinks:
  - {type: webhook, name: sms, url: "https://sms.internal/send", secret: s, events: [warn]}
  - {type: webhook, name: lucheng, url: "https://lucheng.internal/x", secret: s, units: [{district: Lucheng}]}
  - {type: webhook, name: grid-9-bikes, url: "https://g9.internal/x", secret: s,
     units: [{district: Ouhai, grid: OH-9}], rules: [misparked_bike]}
  - {type: mqtt, name: platform, url: "mqtt://broker.internal"}
"""


def event(n: int, kind: str, rule: str, unit: dict | None) -> Event:
    return Event(event_id=f"cam-01/z/{n}/{kind}", type=kind, rule=rule, camera_id="cam-01", zone_id="z",
                 object_id=str(n), class_name="car", t=480.0, ts=None, since_t=0.0, dwell_s=480.0,
                 bbox=[0, 0, 1, 1], score=0.9, evidence={}, unit=unit)


def test_each_sink_gets_the_events_it_takes(store_target, tmp_path: Path):
    config = config_from_text(SINKS, tmp_path / "c.yaml")
    store = EventStore(store_target, sinks=config.sinks)
    lucheng = {"district": "Lucheng", "grid": "LC-1", "road": None}
    grid9 = {"district": "Ouhai", "grid": "OH-9", "road": "Wenzhou Ave"}
    for e in (event(1, "warn", "sidewalk_parking", lucheng), event(1, "clear", "sidewalk_parking", lucheng),
              event(2, "warn", "misparked_bike", grid9), event(3, "warn", "sidewalk_parking", grid9),
              event(4, "warn", "misparked_bike", None)):
        assert store.add(e)
    outbox = Outbox(store.db)
    got = {sink: [row.event_id for row in outbox.due(sink, per_camera=10)] for sink in
           ("sms", "lucheng", "grid-9-bikes", "platform")}
    assert got == {
        "sms": ["cam-01/z/1/warn", "cam-01/z/2/warn", "cam-01/z/3/warn", "cam-01/z/4/warn"],
        "lucheng": ["cam-01/z/1/warn", "cam-01/z/1/clear"],
        "grid-9-bikes": ["cam-01/z/2/warn"],
        "platform": ["cam-01/z/1/warn", "cam-01/z/1/clear", "cam-01/z/2/warn", "cam-01/z/3/warn", "cam-01/z/4/warn"],
    }
    store.close()


@pytest.mark.parametrize("sink, words", [
    ("{type: webhook, url: 'https://x/y', secret: s, events: [warned]}", r"sinks\[0\].*events"),
    ("{type: webhook, url: 'https://x/y', secret: s, units: [{area: x}]}",
     r"unknown key 'sinks\[0\]\.webhook\.units\[0\]\.area'"),
    ("{type: mqtt, url: 'mqtt://b', topic: 'city/{plate}'}", r"names \{plate\}; a topic may name camera_id"),
])
def test_a_bad_route_is_one_sentence(tmp_path, sink, words):
    with pytest.raises(ConfigError, match=words):
        config_from_text(f"cameras: [{{id: c, source: v.mp4}}]\nsinks: [{sink}]", tmp_path / "c.yaml")


def test_a_dispatch_sink_gets_nothing_when_events_are_recorded(tmp_path: Path):
    config = config_from_text(SINKS + '  - {type: webhook, name: officers, url: "https://o.internal/x", secret: s, '
                                      'when: confirmed}\n', tmp_path / "c.yaml")
    store = EventStore(tmp_path / "events.db", sinks=config.sinks)
    assert store.add(event(1, "warn", "sidewalk_parking", None))
    assert Outbox(store.db).due("officers") == [] and len(Outbox(store.db).due("platform")) == 1
    store.close()
