"""The admin's sinks page: what each sink got, what is pending, the dead deliveries and their retry."""

from __future__ import annotations

from events.outbox import Outbox, enqueue
from tests.review.conftest import csrf_of
from zones.config_sinks import WebhookSinkSettings

SETTINGS = WebhookSinkSettings(type="webhook", url="https://platform.internal/x", secret="s", max_attempts=2)


def outbox_with_one_dead_row(site) -> Outbox:
    db = site.database()
    with db.transaction() as tx:
        for n in range(3):
            enqueue(tx, "cam-a", f"cam-a/walk/{n}/warn", "{}", ["platform"])
    outbox = Outbox(db)
    first, second, _ = outbox.due("platform", per_camera=3)
    outbox.delivered(first)
    outbox.failed(second, "HTTP 403 from https://platform.internal/x: Forbidden", SETTINGS, permanent=True)
    return outbox


def test_the_admin_sees_each_sink_and_retries_its_dead_deliveries(site, as_user):
    outbox = outbox_with_one_dead_row(site)
    ada = as_user("ada")
    page = ada.get("/admin/sinks").text
    assert "platform" in page and "cam-a/walk/1/warn" in page and "HTTP 403" in page
    sinks = ada.get("/api/admin/sinks").json()
    assert sinks["sinks"]["platform"] | {"oldest_pending_s": 0} == {"pending": 1, "delivered": 1, "dead": 1,
                                                                    "oldest_pending_s": 0}
    assert [row["event_id"] for row in sinks["dead"]] == ["cam-a/walk/1/warn"]
    response = ada.post("/admin/sinks/retry", data={"csrf": csrf_of(ada, "/admin/sinks")})
    assert response.status_code == 303
    assert outbox.counts()["platform"] == {"pending": 2, "delivered": 1, "dead": 0}
    audit = ada.get("/admin/audit").text
    assert "retry dead" in audit and "1 dead event(s) of every sink made pending" in audit


def test_a_retry_without_the_session_token_changes_nothing(site, as_user):
    outbox = outbox_with_one_dead_row(site)
    ada = as_user("ada")
    assert ada.post("/admin/sinks/retry", data={"csrf": "forged"}).status_code == 403
    assert outbox.counts()["platform"]["dead"] == 1
