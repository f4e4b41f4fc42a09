"""Hostile and broken configs (issue 17): each is refused with one sentence naming the file, the key and the line,
quickly, never with a traceback; and a fuzzer finds nothing else."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zones.config import Config, ConfigError, config_from_text, load_config
from zones.config_errors import MAX_ALIASES, MAX_DEPTH
from zones.config_geo import MAX_VERTICES
from zones.schedule import parse_duration, parse_signed_duration

CONFIG = Path("/site/cameras.yaml")
ZONE = """\
cameras:
  - id: cam-01
    source: video.mp4
    zones:
      - id: walk
        type: sidewalk
        polygon: [[0, 0], [100, 0], [100, 100], [0, 100]]
"""


def refusal(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        config_from_text(text, CONFIG)
    return str(info.value)


# -- non-finite numbers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1e309", "'nan'", "'inf'", "'1e309'", f"'{'9' * 400}s'",
                                   "'9999999999999h'"])
def test_a_duration_that_is_not_finite_is_refused_with_its_key_and_line(value: str) -> None:
    message = refusal(ZONE + f"        warn_after: {value}\n")
    assert "cameras.yaml: camera 'cam-01', zone 'walk': warn_after:" in message
    assert "(line 8)" in message and ("finite" in message or "100 years" in message)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "nan", "-inf", "1e309", "-" + "9" * 400 + "m"])
def test_parse_duration_refuses_what_is_not_finite(value: object) -> None:
    with pytest.raises(ValueError, match="finite"):
        parse_signed_duration(value)
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize(("key", "where"), [
    ("analysis_fps: .nan", "analysis_fps"), ("detect: {confidence: .nan}", "detect.confidence"),
    ("resting: {radius: .nan}", "resting.radius"), ("patrol: {match_radius: .inf}", "patrol.match_radius"),
    ("plates: {min_score: .nan}", "plates.min_score"), ("enforcement: {lookback: .inf}", "enforcement.lookback"),
    ("live: {open_timeout: .nan}", "live.open_timeout"), ("defaults: {clear_after: 1e309}", "defaults.clear_after"),
])
def test_every_number_of_every_section_must_be_finite(key: str, where: str) -> None:
    message = refusal(ZONE + key + "\n")
    assert f"cameras.yaml: {where}:" in message and "finite" in message and "(line 8)" in message


@pytest.mark.parametrize("point", ["[.nan, 0]", "[0, .inf]", "[1e309, 5]"])
def test_a_polygon_corner_that_is_not_finite_is_refused_not_a_geos_error(point: str) -> None:
    message = refusal(ZONE.replace("[0, 100]]", f"[0, 100], {point}]"))
    assert "zone 'walk': polygon[4]" in message and "not a finite number" in message and "(line 7)" in message


@pytest.mark.parametrize("section", ["geo: [.nan, 30]", "mount: {height: .nan, hfov: 90}"])
def test_camera_numbers_must_be_finite(section: str) -> None:
    message = refusal(ZONE.replace("    source: video.mp4\n", f"    source: video.mp4\n    {section}\n"))
    assert "camera 'cam-01'" in message and "finite" in message and "(line 4)" in message


def test_a_geo_polygon_corner_that_is_not_finite_is_refused() -> None:
    text = ZONE.replace("polygon: [[0, 0], [100, 0], [100, 100], [0, 100]]",
                        "geo_polygon: [[120.67, 28.0], [120.68, .nan], [120.68, 28.01]]")
    text = text.replace("    source: video.mp4\n", "    source: video.mp4\n    kind: vehicle\n    gps: t.gpx\n"
                        "    mount: {height: 1.6, hfov: 90}\n")
    message = refusal(text)
    assert "geo_polygon[1][1]" in message and "finite" in message


# -- silent surprises ------------------------------------------------------------------------------------------------

def test_a_key_given_twice_is_refused_with_both_lines() -> None:
    message = refusal(ZONE + "        warn_after: 10s\n        clear_after: 5s\n        warn_after: 8m\n")
    assert message == ("/site/cameras.yaml: key 'warn_after' is given twice in one mapping (lines 8 and 10); keep "
                       "one (the last would silently win)")


def test_the_same_key_in_different_mappings_and_merge_keys_are_fine() -> None:
    text = "defaults: &d {warn_after: 10s, clear_after: 5s}\n" + ZONE.replace(
        "    source: video.mp4\n", "    source: video.mp4\n    <<: *d\n    warn_after: 20s\n")
    dwell = config_from_text(text, CONFIG).cameras[0].zones[0].dwell
    assert (dwell.warn_after, dwell.clear_after) == (20, 5)


@pytest.mark.parametrize("size", ["[-640, 0]", "[0, 360]", "[640, -360]", "[1000000, 360]"])
def test_a_frame_size_that_is_not_a_frame_is_refused(size: str) -> None:
    message = refusal(ZONE.replace("    source: video.mp4\n", f"    source: video.mp4\n    frame_size: {size}\n"))
    assert "camera 'cam-01': frame_size[" in message and "(line 4)" in message


# -- denial of service ----------------------------------------------------------------------------------------------

def bomb(levels: int, width: int) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join(f'*a{level - 1}' for _ in range(width))}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_under_the_alias_budget_is_refused_by_its_expanded_size() -> None:
    text = bomb(9, 9)  # 72 aliases, 9^8 values once expanded
    assert text.count("*") < MAX_ALIASES
    assert "expands to more than" in refusal(text)


def test_more_aliases_than_the_budget_are_refused() -> None:
    text = "x: &x 1\nlist: [" + ", ".join("*x" for _ in range(MAX_ALIASES + 1)) + "]\n"
    message = refusal(text)
    assert message.startswith("/site/cameras.yaml: has more than 100 aliases (*name) at line 2")


def test_an_alias_that_contains_itself_is_refused() -> None:
    assert "cannot contain itself" in refusal("a: &a [1, *a]\n")


@pytest.mark.parametrize("text", ["[" * 500 + "]" * 500, "a:\n" + "".join(" " * i + "- \n" for i in range(400)),
                                  "{a: " * 600 + "1" + "}" * 600])
def test_deep_nesting_is_refused_not_a_recursion_error(text: str) -> None:
    assert f"more than {MAX_DEPTH} deep" in refusal(text)


def test_nesting_deeper_than_the_parser_goes_is_a_sentence_too() -> None:
    message = refusal("[" * 20000 + "]" * 20000)
    assert message.startswith("/site/cameras.yaml: ") and ("deep" in message or "nesting depth" in message)


def test_aliases_cannot_nest_deeper_than_the_limit_either() -> None:
    lines = ["l0: &l0 [1]"] + [f"l{i}: &l{i} [[[[*l{i - 1}]]]]" for i in range(1, 20)]
    assert f"more than {MAX_DEPTH} deep through its aliases" in refusal("\n".join(lines))


def test_a_polygon_with_too_many_corners_is_refused_before_it_is_built() -> None:
    corners = ", ".join(f"[{i}, {i % 7}]" for i in range(MAX_VERTICES + 1))
    message = refusal(ZONE.replace("[[0, 0], [100, 0], [100, 100], [0, 100]]", f"[{corners}]"))
    assert f"has {MAX_VERTICES + 1} points; a zone has at most {MAX_VERTICES} corners (line 7)" in message


def test_a_huge_document_is_refused_unread() -> None:
    assert "MB; a config has at most" in refusal("# " + "x" * 5_000_000 + "\n" + ZONE)


@pytest.mark.parametrize(("value", "problem"), [("2026-13-45", "month must be in 1..12"),
                                              ("2026-02-30", "day is out of range for month"),
                                              ("2026-01-01 25:00:00", "hour must be in 0..23"),
                                              ("1" * 5000, "Exceeds the limit (4300 digits)")])
def test_a_date_or_number_yaml_cannot_make_is_one_sentence_with_its_line(value: str, problem: str) -> None:
    message = refusal(ZONE + f"enforcement:\n  permits: [{{plate: A1, from: {value}, until: 2027-01-01}}]\n")
    assert message.startswith("/site/cameras.yaml: ") and f"at line 9 cannot be read ({problem}" in message


# -- files that are not configs --------------------------------------------------------------------------------------

def test_a_config_that_is_not_utf8_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_bytes(ZONE.replace("walk", "w\xe4lk").encode("latin-1"))
    with pytest.raises(ConfigError, match=r"cameras.yaml: is not UTF-8 text \(byte \d+ cannot be read\); save it"):
        load_config(path)


def test_a_config_that_is_a_folder_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a config file; give the path of the YAML file"):
        load_config(tmp_path)


def test_a_config_with_control_characters_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        config_from_text(ZONE + "\x00\x07", CONFIG)


# -- the fuzzer -------------------------------------------------------------------------------------------------------

NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10**30, max_value=10**30),
                    st.sampled_from([".nan", ".inf", "-.inf", "1e309", "-0", "0x1f", "1_000", "90s", "8m", "-2s"]))
TEXTS = st.one_of(st.text(max_size=12), st.sampled_from(["", ".", "..", "cam-01", "walk", "sidewalk", "../x",
                                                         "${HOME}", "${UNSET_VAR_X}", "rtsp://a:b@h/x", "08:00-21:00",
                                                         "mon", "fixed", "vehicle", "point", "band", "yolo11n"]))
KEYS = st.sampled_from(["cameras", "id", "source", "zones", "type", "polygon", "geo_polygon", "warn_after",
                        "clear_after", "escalate_after", "active_hours", "active_days", "frame_size", "kind", "gps",
                        "mount", "height", "hfov", "geo", "analysis_fps", "detect", "confidence", "imgsz", "plates",
                        "patrol", "enforcement", "ladder", "permits", "from", "until", "exempt", "store", "taxonomy",
                        "defaults", "resting", "live", "start_time", "gps_offset", "ground_points", "anchor"])
LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS)
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                      st.dictionaries(KEYS, inner, max_size=5)), max_leaves=30)


def camera_like() -> st.SearchStrategy:
    point = st.tuples(NUMBERS, NUMBERS).map(list)
    zone = st.fixed_dictionaries({"id": TEXTS, "type": st.sampled_from(["sidewalk", "no_parking", "x", 3]),
                                  "polygon": st.lists(point, max_size=6)},
                                 optional={"warn_after": NUMBERS, "clear_after": NUMBERS, "escalate_after": NUMBERS,
                                           "geo_polygon": st.lists(point, max_size=5), "extra": VALUES})
    camera = st.fixed_dictionaries({"id": TEXTS, "source": st.one_of(TEXTS, st.integers())},
                                   optional={"zones": st.lists(zone, max_size=3), "frame_size": st.lists(NUMBERS),
                                             "kind": TEXTS, "geo": st.lists(NUMBERS, max_size=3),
                                             "analysis_fps": NUMBERS, "detect": VALUES, "mount": VALUES})
    return st.fixed_dictionaries({"cameras": st.lists(camera, min_size=0, max_size=3)},
                                 optional={"analysis_fps": NUMBERS, "defaults": VALUES, "plates": VALUES,
                                           "enforcement": VALUES, "patrol": VALUES, "live": VALUES})


def loads_or_refuses(text: str) -> None:
    try:
        assert isinstance(config_from_text(text, CONFIG), Config)
    except ConfigError as exc:
        assert str(exc).startswith(str(CONFIG)) and "Traceback" not in str(exc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(camera_like(), VALUES))
def test_fuzzed_config_shapes_load_or_get_a_sentence(raw: object) -> None:
    loads_or_refuses(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc:-[]{}&*!|>'\"#%@`,? \n\t.019", max_size=80))
def test_fuzzed_yaml_text_loads_or_gets_a_sentence(text: str) -> None:
    loads_or_refuses(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([ZONE, "        warn_after: ", "1e309", ".nan", "-5", "&a ", "*a", "[", "]",
                                 "\n", "  ", "x: ", "- ", "cameras: ", "{", "}", ", ", "<<: ", "2026-13-45",
                                 "2026-02-28 24:61:00", "9" * 5000, "!!binary ", "!!set ", "!!str ", "? ", "%TAG",
                                 "enforcement: {permits: [{plate: A, from: ", "start_time: "]), max_size=12))
def test_fuzzed_edits_of_a_good_config_load_or_get_a_sentence(parts: list[str]) -> None:
    loads_or_refuses("".join(parts))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=120).map(lambda noise: ZONE.encode() + noise))
def test_fuzzed_bytes_of_a_file_load_or_get_a_sentence(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "cameras.yaml"
    path.write_bytes(data)
    try:
        assert isinstance(load_config(path), Config)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))
