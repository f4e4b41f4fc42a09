"""Precision per camera and rule, and reviewer agreement, from a verdict set worked out by hand."""

from __future__ import annotations

import pytest

from review.stats import Stats, cohen_kappa, wilson_interval
from tests.review import verdict_set


def test_precision_per_camera_and_rule(site):
    db = site.database()
    verdict_set.apply(db)
    report = Stats(db).report()
    cameras = {row.key: row for row in report.by_camera}
    assert (cameras["cam-a"].confirmed, cameras["cam-a"].rejected, cameras["cam-a"].disputed) == (1, 1, 1)
    assert cameras["cam-a"].precision == 0.5 and cameras["cam-b"].precision == 0.5
    assert cameras["cam-a"].reasons == {"wrong_object": 1} and cameras["cam-b"].reasons == {"permitted": 1}
    assert cameras["cam-a"].interval == pytest.approx(wilson_interval(1, 2))
    rules = {row.key: row for row in report.by_rule}
    assert rules["sidewalk_parking"].precision == pytest.approx(2 / 3)
    assert rules["misparked_bike"].precision == 0.0
    assert all(row.pending == 0 for row in report.by_camera)


def test_reviewer_agreement(site):
    db = site.database()
    verdict_set.apply(db)
    agreement = Stats(db).agreement()
    [pair] = agreement.pairs
    assert (pair.first, pair.second, pair.shared) == ("rita", "rob", 4)
    assert pair.agreement == 0.75 and pair.kappa == pytest.approx(0.5)
    assert (agreement.events_seen_twice, agreement.unanimous) == (4, 3)


def test_unjudged_alarms_count_as_awaiting_review(site):
    report = Stats(site.database()).report()
    assert {row.key: row.pending for row in report.by_camera} == {"cam-a": 3, "cam-b": 2}
    assert all(row.precision is None and row.interval is None for row in report.by_camera)


def test_the_admin_page_and_api_show_the_figures(site, as_user):
    verdict_set.apply(site.database())
    ada = as_user("ada")
    page = ada.get("/admin").text
    assert "50%" in page and "67%" in page and "0.50" in page and "wrong object 1" in page
    stats = ada.get("/api/admin/stats").json()
    assert [r["precision"] for r in stats["by_camera"]] == [0.5, 0.5]
    assert stats["agreement"]["pairs"][0]["kappa"] == pytest.approx(0.5)


def test_kappa_and_interval_edge_cases():
    assert cohen_kappa([]) is None
    assert cohen_kappa([("confirm", "confirm")] * 3) is None  # chance agreement is total: kappa is undefined
    assert cohen_kappa([("confirm", "reject"), ("reject", "confirm")]) == -1.0
    low, high = wilson_interval(0, 5)
    assert low == 0.0 and 0.4 < high < 0.5
    assert wilson_interval(0, 0) is None
