"""GPS files written here, small and exact: GPX 1.1, NMEA 0183 (RMC + GGA, damaged lines) and CSV."""

from datetime import UTC, datetime
from functools import reduce

import pytest

from geo import TrackError, read_fixes, read_track

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC).timestamp()
KNOT = 1852 / 3600


def one_sentence(error, *words):
    message = str(error.value)
    assert message.endswith(".") and ". " not in message, message
    for word in words:
        assert word in message, message


def gpx(points: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
            f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{points}</trkseg></trk></gpx>\n')


def trkpt(lat, lon, when=None, ele=None):
    inner = (f"<ele>{ele}</ele>" if ele is not None else "") + (f"<time>{when}</time>" if when else "")
    return f'<trkpt lat="{lat}" lon="{lon}">{inner}</trkpt>'


def nmea(body: str) -> str:
    """A sentence with its checksum (XOR of the characters between $ and *)."""
    return f"${body}*{reduce(lambda acc, char: acc ^ ord(char), body, 0):02X}"


def test_gpx_track_points_give_times_positions_and_elevations(tmp_path):
    path = tmp_path / "drive.gpx"
    path.write_text(gpx(trkpt(28.0011, 120.6712, "2026-11-22T10:00:00Z", 4.5)
                        + trkpt(28.0011, 120.6713, "2026-11-22T10:00:01Z", 5.5)
                        + trkpt(28.5, 121.0)  # no time: skipped, not placed
                        + trkpt(28.0011, 120.6714, "2026-11-22T10:00:02Z", 6.5)))
    fixes = read_fixes(path)
    assert fixes.skipped == 1
    assert fixes.absolute and [(f.t, f.lon, f.lat, f.alt) for f in fixes.fixes] == [
        (T0, 120.6712, 28.0011, 4.5), (T0 + 1, 120.6713, 28.0011, 5.5), (T0 + 2, 120.6714, 28.0011, 6.5)]
    pose = read_track(path).pose_at(datetime(2026, 11, 22, 10, 0, 0, 500_000, tzinfo=UTC))
    assert pose.lon == pytest.approx(120.67125) and pose.alt == pytest.approx(5.0)
    assert pose.heading == pytest.approx(90, abs=0.1)


def test_gpx_without_times_or_points_or_well_formed_xml_is_an_error(tmp_path):
    cases = {
        "untimed.gpx": (gpx(trkpt(28.0, 120.0) + trkpt(28.001, 120.0)), "no timestamps"),
        "empty.gpx": (gpx(""), "no track points"),
        "broken.gpx": ("<gpx><trk><trkseg><trkpt lat=", "not readable GPX"),
    }
    for name, (text, words) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(TrackError) as error:
            read_track(tmp_path / name)
        one_sentence(error, name, words)


def test_nmea_rmc_and_gga_of_one_time_merge_and_damaged_lines_are_skipped_and_counted(tmp_path):
    rmc = nmea("GPRMC,100000.00,A,2800.0660,N,12040.2720,E,10.0,045.0,221126,,,A")
    bad_checksum = rmc[:-2] + ("00" if rmc[-2:] != "00" else "01")
    lines = [
        nmea("GPGGA,100000.00,2800.0660,N,12040.2720,E,1,08,0.9,12.5,M,0.0,M,,"),
        rmc,
        nmea("GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00"),  # satellites: not a fix
        bad_checksum.replace("100000.00", "100000.50"),
        "\x00\x17garbage from a serial line",
        nmea("GNRMC,100001.00,A,2800.0670,N,12040.2730,E,12.0,050.0,221126,,,A"),
        nmea("GPRMC,100002.00,V,,,,,,,221126,,,N"),  # void: no fix
        nmea("GPRMC,100002.00,A,,,,,10.0,045.0,221126,,,A"),  # no position: no fix either
        nmea("GPGGA,100002.00,2800.0680,N,12040.2740,E,1,08,0.9,13.5,M,0.0,M,,"),
        nmea("GPRMC,100003.00,A,2800.0690,N,12040.2750,E,12.0,050.0,221126,,,A")[:-3],  # no checksum: accepted
    ]
    path = tmp_path / "drive.nmea"
    path.write_text("\n".join(lines) + "\n")
    fixes = read_fixes(path)
    assert fixes.skipped == 2
    assert [f.t - T0 for f in fixes.fixes] == [0, 1, 2, 3]
    first, second, third, _ = fixes.fixes
    assert (first.lat, first.lon) == pytest.approx((28 + 0.066 / 60, 120 + 40.272 / 60))
    assert (first.speed, first.heading, first.alt) == pytest.approx((10 * KNOT, 45.0, 12.5))
    assert (second.speed, second.heading, second.alt) == (pytest.approx(12 * KNOT), 50.0, None)
    assert (third.speed, third.heading, third.alt) == (None, None, 13.5)
    assert read_track(path).skipped == 2


def test_a_gga_after_midnight_takes_the_next_day(tmp_path):
    path = tmp_path / "night.log"
    path.write_text("\n".join([
        nmea("GPRMC,235959.00,A,2800.0660,N,12040.2720,E,10.0,045.0,221126,,,A"),
        nmea("GPGGA,000000.00,2800.0670,N,12040.2730,E,1,08,0.9,12.5,M,0.0,M,,"),
    ]))
    midnight = datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    assert [f.t for f in read_fixes(path).fixes] == [midnight - 1, midnight]


def test_nmea_without_dated_fixes_is_an_error(tmp_path):
    cases = {
        "gga.nmea": ([nmea("GPGGA,100000.00,2800.0660,N,12040.2720,E,1,08,0.9,12.5,M,0.0,M,,")], "log RMC too"),
        "void.nmea": ([nmea("GPRMC,100002.00,V,,,,,,,221126,,,N"), "noise"], "no valid RMC or GGA fix (1 unreadable"),
    }
    for name, (lines, words) in cases.items():
        (tmp_path / name).write_text("\n".join(lines))
        with pytest.raises(TrackError) as error:
            read_track(tmp_path / name)
        one_sentence(error, name, words)


def test_csv_with_seconds_iso_times_or_unix_seconds(tmp_path):
    relative = tmp_path / "walk.csv"
    relative.write_text("t,lat,lon,heading,speed,alt\n0,28.0,120.0,90,1.4,\n1.5, 28.0, 120.00002 ,,,3\n")
    fixes = read_fixes(relative)
    assert not fixes.absolute
    assert [(f.t, f.lon, f.lat, f.heading, f.speed, f.alt) for f in fixes.fixes] == [
        (0.0, 120.0, 28.0, 90.0, 1.4, None), (1.5, 120.00002, 28.0, None, None, 3.0)]
    iso = tmp_path / "iso.csv"
    iso.write_text("\ufeffTime,Lat,Lon\n2026-11-22T10:00:00Z,28.0,120.0\n2026-11-22T18:00:01+08:00,28.0,120.0001\n")
    assert read_fixes(iso).absolute and [f.t for f in read_fixes(iso).fixes] == [T0, T0 + 1]
    unix = tmp_path / "unix.csv"
    unix.write_text(f"lat,lon,t\n28.0,120.0,{T0:.0f}\n28.0,120.0001,{T0 + 1:.0f}\n")
    track = read_track(unix)
    assert track.absolute and track.pose_at(datetime(2026, 11, 22, 10, 0, 1)).lon == pytest.approx(120.0001)


def test_csv_errors_name_the_file_the_line_and_the_fix(tmp_path):
    cases = {
        "nolat.csv": ("t,latitude,lon\n0,28,120\n", "`lat` and `lon` columns"),
        "notime.csv": ("lat,lon\n28,120\n28,120.001\n", "no timestamps"),
        "badnum.csv": ("t,lat,lon\n0,28,120\n1,28.0x,120\n", "line 3: lat '28.0x' is not a number"),
        "nan.csv": ("t,lat,lon,speed\n0,28,120,nan\n", "line 2: speed 'nan' is not a number"),
        "badtime.csv": ("time,lat,lon\nyesterday,28,120\n", "line 2: time 'yesterday' is not ISO-8601"),
    }
    for name, (text, words) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(TrackError) as error:
            read_track(tmp_path / name)
        one_sentence(error, name, words)


def test_an_unreadable_file_says_so(tmp_path):
    with pytest.raises(TrackError) as error:
        read_track(tmp_path / "missing.gpx")
    one_sentence(error, "missing.gpx", "cannot read GPS track", "`gps` path")


def test_the_format_of_a_file_without_a_known_suffix_is_told_by_its_content(tmp_path):
    (tmp_path / "track").write_text(gpx(trkpt(28.0, 120.0, "2026-11-22T10:00:00Z")
                                        + trkpt(28.0, 120.0001, "2026-11-22T10:00:01Z")))
    (tmp_path / "log.dat").write_text(nmea("GPRMC,100000.00,A,2800.0000,N,12000.0000,E,10.0,045.0,221126,,,A"))
    assert [f.t for f in read_fixes(tmp_path / "track").fixes] == [T0, T0 + 1]
    assert [f.t for f in read_fixes(tmp_path / "log.dat").fixes] == [T0]
