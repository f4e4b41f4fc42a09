"""``streetorder sinks status / retry-dead / send`` on a real store and a real webhook receiver."""

from __future__ import annotations

import yaml

from events.store import EventStore
from streetorder.cli import main
from tests.outbox_writer import event_ids, replayed_events
from tests.webhook_receiver import WebhookReceiver

SECRET = "cmd-secret"


def test_status_retry_dead_and_send(tmp_path, capsys, monkeypatch):
    receiver = WebhookReceiver(SECRET.encode(), status=403)
    try:
        store_path = tmp_path / "events.db"
        events = replayed_events(20, 2)
        store = EventStore(store_path, sinks=["city"])
        for event in events:
            store.add(event)
        store.db.close()
        monkeypatch.setenv("HOOK_SECRET", SECRET)
        config = tmp_path / "cameras.yaml"
        url = receiver.url.replace("http://", "http://user:pa55word@")
        config.write_text(yaml.safe_dump({
            "cameras": [{"id": f"cam-{i}", "source": "video.mp4", "zones": [
                {"id": "walk", "type": "sidewalk", "polygon": [[0, 0], [100, 0], [100, 100], [0, 100]]}]}
                for i in range(2)],
            "sinks": [{"type": "webhook", "name": "city", "url": url, "secret": "${HOOK_SECRET}",
                       "retry_after": 0.1}]}))
        assert main(["sinks", "send", "--config", str(config), "--store", str(store_path), "--wait", "5"]) == 0
        assert main(["sinks", "status", "--store", str(store_path)]) == 0
        out = capsys.readouterr().out
        assert "20 dead" in out and "answered 403" in out  # refused for good: each is parked, the camera goes on
        assert "pa55word" not in out and SECRET not in out
        receiver.status = 200
        assert main(["sinks", "retry-dead", "--store", str(store_path), "--sink", "city"]) == 0
        assert "20 dead row(s) of city" in capsys.readouterr().out
        assert main(["sinks", "send", "--config", str(config), "--store", str(store_path), "--wait", "30"]) == 0
        assert "sink city: 20 delivered" in capsys.readouterr().out
        assert main(["sinks", "purge", "--store", str(store_path), "--days", "1"]) == 0
        assert "0 delivered row(s) older than 1 days" in capsys.readouterr().out
        assert main(["sinks", "purge", "--store", str(store_path), "--days", "-1"]) == 0  # every delivered row
        assert "20 delivered row(s)" in capsys.readouterr().out
        assert receiver.authorization == "Basic dXNlcjpwYTU1d29yZA=="  # user:pa55word of the URL
        counts = receiver.tally(event_ids(events))
        assert counts["lost"] == 0 and counts["out_of_order"] == 0 and counts["duplicated"] == 0
    finally:
        receiver.stop()


def test_process_stores_events_with_their_outbox_rows_and_drains_the_senders(tmp_path, capsys, monkeypatch):
    """`process` wiring: events stored by the batch reach the webhook before the command ends."""
    import streetorder.process_cmd as process_cmd
    receiver = WebhookReceiver(SECRET.encode())
    events = replayed_events(30, 2)

    def fake_batch(config, out, detector_for, store, **_kwargs):
        assert [sink.name for sink in store.sinks] == ["city"]
        for event in events:
            store.add(event)
        return []

    monkeypatch.setattr(process_cmd, "process_recorded", fake_batch)
    monkeypatch.setattr(process_cmd.DetectorCache, "for_camera", lambda self, camera: None)
    monkeypatch.setattr(process_cmd, "print_summary", lambda *args: None)
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump({
        "cameras": [{"id": f"cam-{i}", "source": "video.mp4"} for i in range(2)],
        "sinks": [{"type": "webhook", "name": "city", "url": receiver.url, "secret": SECRET}]}))
    try:
        assert main(["process", "--config", str(config), "--out", str(tmp_path / "out"), "--sink-wait", "30"]) == 0
    finally:
        receiver.stop()
    assert "sink city: 30 delivered" in capsys.readouterr().out
    counts = receiver.tally(event_ids(events))
    assert counts["lost"] == 0 and counts["out_of_order"] == 0 and counts["received"] == 30

