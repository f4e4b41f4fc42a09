"""A patrol camera's chalked warn on the case page: both sightings side by side (photo, wall time, position), the
distance and time between them, the drawn map; fixed cameras' pages as before (with their position when known)."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from pyproj import Geod

from contracts.urls import mask_credentials
from events.drawing import format_dwell
from events.record import Event, SightingRecord, event_from_change
from events.store import EventStore
from tests.review.site import CAMERA_PASSWORD, DRIVEWAY_CAR
from zones.dwell import StateChange

CAMERA = "patrol-07"
ZONE = "binhai-rd-east-pavement"
PATROL_PASSWORD = "dashcam-pass-4"
FOLDER = f"evidence/{CAMERA}/{ZONE}"
CHALK = (120.67213, 28.00104)  # lon, lat of the first sighting
APART_M = 2.73  # how far the second sighting's position lies from the first, to the north-east
LON2, LAT2, _ = Geod(ellps="WGS84").fwd(*CHALK, 63.0, APART_M)
CHALK_TS, WARN_TS = "2026-11-22T08:09:02+08:00", "2026-11-22T08:19:47+08:00"
DWELL_S = 645.0  # 08:09:02 to 08:19:47
WARN_ID = f"{CAMERA}/{ZONE}/7/warn"


def write_jpeg(out: Path, relative: str, colour: tuple[int, int, int]) -> bytes:
    """A small JPEG of one colour with a stripe (distinct bytes per photo), written where the evidence lives."""
    image = np.full((120, 160, 3), colour, np.uint8)
    image[50:70] = 255 - np.array(colour, np.uint8)
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path.read_bytes()


def patrol_event(object_id: str, sightings: list[SightingRecord], evidence: dict[str, str],
                 kind: str = "warn") -> Event:
    last = sightings[-1] if sightings else SightingRecord(t=31.5, ts=WARN_TS, lon=LON2, lat=LAT2)
    return Event(event_id=f"{CAMERA}/{ZONE}/{object_id}/{kind}", type=kind, rule="sidewalk_parking",
                 camera_id=CAMERA, zone_id=ZONE, object_id=object_id, class_name="car", t=31.5, ts=WARN_TS,
                 since_t=None, dwell_s=DWELL_S, bbox=[410.0, 220.0, 590.0, 330.0], score=0.87, evidence=evidence,
                 since_ts=CHALK_TS, lon=last.lon, lat=last.lat, sightings=sightings)


@pytest.fixture
def patrol(site):
    """The site's store with a patrol camera's events added as the pipeline adds them; returns the photos' bytes."""
    photos = {key: write_jpeg(site.out, f"{FOLDER}/7-{key}.jpg", colour) for key, colour in
              (("first", (40, 90, 200)), ("snapshot", (200, 60, 40)), ("crop", (30, 160, 60)),
               ("map", (230, 230, 230)), ("empty", (90, 90, 90)))}
    evidence = {key: f"{FOLDER}/7-{key}.jpg" for key in photos if key != "empty"}
    empty = f"{FOLDER}/7-empty.jpg"
    chalk = SightingRecord(t=None, ts=CHALK_TS, lon=CHALK[0], lat=CHALK[1], snapshot=evidence["first"])
    warn = SightingRecord(t=31.5, ts=WARN_TS, lon=LON2, lat=LAT2, snapshot=evidence["snapshot"])
    (site.root / "outside.jpg").write_bytes(photos["crop"])  # a photo outside the evidence folder
    hostile = SightingRecord(t=3.0, ts=WARN_TS, lon=LON2, lat=LAT2, snapshot="../outside.jpg")
    store = EventStore(site.db_path)
    store.save_camera(CAMERA, mask_credentials(f"rtsp://patrol:{PATROL_PASSWORD}@10.0.0.9/live"),
                      [{"id": ZONE, "type": "sidewalk", "geo_polygon": [[120.6712, 28.0011], [120.6735, 28.0013],
                                                                          [120.6735, 28.0010]]}],
                      str(site.out.resolve()), "Patrol car 07")
    store.add(patrol_event("7", [chalk, warn], evidence))
    store.add(patrol_event("7", [chalk, warn], {"snapshot": empty, "first": evidence["first"],
                                                "map": evidence["map"]}, kind="clear"))
    store.add(patrol_event("8", [], {}))
    store.add(patrol_event("9", [chalk], {"first": evidence["first"]}))
    store.add(patrol_event("10", [chalk.model_copy(update={"snapshot": None}),
                                  warn.model_copy(update={"snapshot": None})], evidence))  # photos in evidence only
    store.add(patrol_event("11", [chalk, hostile], {}))
    store.add(event_from_change(StateChange("warn", "sidewalk_parking", "walk", "12", "car", 490.0, 10.0,
                                            DRIVEWAY_CAR, 0.8), "cam-a", None, {}, where=(121.4737, 31.2304)))
    store.close()
    return photos


def section(html: str, name: str) -> str:
    found = re.search(rf'<section class="{name}">(.*?)</section>', html, re.S)
    assert found, f"no {name} section"
    return found[1]


def image_urls(html: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', html)


def test_a_chalked_warn_shows_both_sightings_side_by_side_with_distance_time_and_map(as_user, patrol):
    rita = as_user("rita")
    page = rita.get(f"/events/{WARN_ID}")
    assert page.status_code == 200
    sightings = section(page.text, "sightings")
    figures = re.findall(r'<figure class="sighting">(.*?)</figure>', sightings, re.S)
    assert len(figures) == 2
    (first_url,), (warn_url,) = image_urls(figures[0]), image_urls(figures[1])
    for url, key in ((first_url, "first"), (warn_url, "snapshot")):
        photo = rita.get(url)
        assert photo.status_code == 200 and photo.content == patrol[key]
    assert "2026-11-22 08:09:02" in figures[0] and "2026-11-22 08:19:47" in figures[1]
    assert f"lon {CHALK[0]:.6f}, lat {CHALK[1]:.6f}" in figures[0]
    assert f"lon {LON2:.6f}, lat {LAT2:.6f}" in figures[1]
    distance = float(re.search(r'class="distance">([\d.]+) m', sightings)[1])
    assert distance == pytest.approx(APART_M, abs=0.05)
    assert re.search(r"Time between</dt><dd[^>]*>" + re.escape(format_dwell(DWELL_S)), sightings)
    (map_url,) = image_urls(re.search(r'<figure class="map">(.*?)</figure>', sightings, re.S)[1])
    assert rita.get(map_url).content == patrol["map"]
    head = section(page.text, "case-head")
    assert f"lon {LON2:.6f}, lat {LAT2:.6f}" in head and "ground position" in head
    photos = image_urls(section(page.text, "photos"))  # the sightings' photos are not shown twice
    assert [rita.get(url).content for url in photos] == [patrol["crop"]]


def test_sightings_without_their_own_photo_show_the_events_first_and_warn_photos(as_user, patrol):
    rita = as_user("rita")
    page = rita.get(f"/events/{CAMERA}/{ZONE}/10/warn")
    urls = image_urls(section(page.text, "sightings"))
    assert [rita.get(url).content for url in urls] == [patrol["first"], patrol["snapshot"], patrol["map"]]


@pytest.mark.parametrize(("object_id", "photos", "says"), [
    ("8", 0, "No sightings were recorded with this event."),
    ("9", 1, "Sighting"),
])
def test_an_event_with_no_or_one_sighting_is_shown_without_a_distance(as_user, patrol, object_id, photos, says):
    rita = as_user("rita")
    page = rita.get(f"/events/{CAMERA}/{ZONE}/{object_id}/warn")
    assert page.status_code == 200 and "Traceback" not in page.text
    sightings = section(page.text, "sightings")
    assert says in sightings and "Distance" not in sightings
    urls = image_urls(sightings)
    assert len(urls) == photos and all(rita.get(url).content == patrol["first"] for url in urls)
    assert format_dwell(DWELL_S) in sightings


def test_a_patrol_clear_shows_the_sightings_and_the_empty_spot(as_user, patrol):
    rita = as_user("rita")
    page = rita.get(f"/events/{CAMERA}/{ZONE}/7/clear").text
    sightings = section(page, "sightings")
    assert "2. Last seen" in sightings and "Warned" not in sightings
    assert [rita.get(url).content for url in image_urls(sightings)] == [patrol["first"], patrol["snapshot"],
                                                                        patrol["map"]]
    spot = section(page, "photos")
    assert "The spot after it left" in spot and [rita.get(u).content for u in image_urls(spot)] == [patrol["empty"]]


def test_a_sighting_photo_outside_the_evidence_folder_is_not_served(as_user, patrol):
    rita = as_user("rita")
    page = rita.get(f"/events/{CAMERA}/{ZONE}/11/warn")
    assert page.status_code == 200
    hostile = image_urls(section(page.text, "sightings"))[1]
    answer = rita.get(hostile, follow_redirects=True)
    assert answer.status_code in (400, 404) and answer.content != patrol["crop"]


def test_a_fixed_cameras_page_has_no_sightings_and_shows_its_position_when_known(as_user, patrol, site):
    rita = as_user("rita")
    page = rita.get("/events/" + site.event_ids[0]).text
    assert 'class="sightings"' not in page and "Camera at" not in page and "Where" not in page
    assert re.findall(r"<figcaption>([^<]+)</figcaption>", section(page, "photos")) == [
        "At rest start", "At warn", "Close-up", "Close-up at rest start"]
    assert "at rest from t = 0.0 s to t = 10.0 s" in page
    placed = rita.get("/events/cam-a/walk/12/warn").text
    assert 'class="sightings"' not in placed
    assert re.search(r"Camera at</dt><dd[^>]*>lon 121\.473700, lat 31\.230400", placed)


def test_the_queue_marks_patrol_events_and_no_page_shows_a_camera_password(as_user, patrol):
    rita = as_user("rita")
    queue = rita.get("/queue?type=all&status=all").text
    rows = re.findall(r"<tr data-href=\"([^\"]+)\">(.*?)</tr>", queue, re.S)
    marked = {href.partition("?")[0] for href, row in rows if 'class="badge patrol"' in row}
    assert marked == {f"/events/{CAMERA}/{ZONE}/{o}" for o in ("7/warn", "7/clear", "9/warn", "10/warn", "11/warn")}
    for page in [queue] + [rita.get(f"/events/{CAMERA}/{ZONE}/{o}/warn").text for o in ("7", "8", "9", "10", "11")]:
        assert CAMERA_PASSWORD not in page and PATROL_PASSWORD not in page
