"""No camera password survives ``mask_credentials`` (issue 17): any reserved character, percent-encoded or not."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.urls import mask_credentials

RESERVED = ":/?#[]@!$&'()*+,;= "


@pytest.mark.parametrize("char", list(RESERVED))
@pytest.mark.parametrize("encode", [False, True])
def test_every_reserved_character_in_a_password_is_masked(char: str, encode: bool) -> None:
    password = f"Pw{char}{char}9x{char}"
    written = quote(password, safe="") if encode else password
    masked = mask_credentials(f"camera 'cam-01': rtsp://admin:{written}@10.0.0.5:554/Streaming/101 refused")
    assert masked == "camera 'cam-01': rtsp://***@10.0.0.5:554/Streaming/101 refused"
    assert password not in masked and written not in masked and unquote(written) not in masked


@pytest.mark.parametrize("host", ["cam.local", "10.0.0.5:554", "[fe80::1]:554", "[::1]"])
def test_hosts_of_every_kind_are_kept(host: str) -> None:
    assert mask_credentials(f"rtsp://u:p@ss@{host}/live") == f"rtsp://***@{host}/live"


def test_several_urls_in_one_text_are_each_masked_and_their_hosts_kept() -> None:
    text = ("main rtsp://admin:a/b@c@10.0.0.5/main, sub rtsp://view:x?y#z@10.0.0.5/sub; "
            "log http://u:p@cam2:80/x\nthen rtsps://k:l m@cam3/y")
    assert mask_credentials(text) == ("main rtsp://***@10.0.0.5/main, sub rtsp://***@10.0.0.5/sub; "
                                      "log http://***@cam2:80/x\nthen rtsps://***@cam3/y")


def test_a_password_holding_a_scheme_is_masked_whole() -> None:
    assert mask_credentials("rtsp://admin:x://y@cam/live") == "rtsp://***@cam/live"


@pytest.mark.parametrize("name", ["password", "passwd", "pwd", "token", "secret", "api_key", "PASSWORD"])
def test_query_string_secrets_are_masked(name: str) -> None:
    masked = mask_credentials(f"rtsp://10.0.0.5/live?user=admin&{name}=Hush%2F42&channel=1")
    assert masked == f"rtsp://10.0.0.5/live?user=admin&{name}=***&channel=1"


@pytest.mark.parametrize("text", ["no url here", "mail bob@city.gov about cam-01", "keyframes_only=true",
                                  "/data/cam@2/video.mp4", "rtsp://10.0.0.5:554/Streaming/101", "", "12"])
def test_text_without_credentials_is_unchanged(text: str) -> None:
    assert mask_credentials(text) == text


def test_anything_is_turned_into_text() -> None:
    assert mask_credentials(0) == "0"
    assert mask_credentials(OSError("rtsp://a:b@h/x")) == "rtsp://***@h/x"


@settings(max_examples=200, deadline=None)
@given(password=st.text(alphabet=RESERVED + "abcXYZ019%-._~é", min_size=1, max_size=24),
       encode=st.booleans(), prefix=st.sampled_from(["", "error: ", "source='", "url=", "("]))
def test_no_password_survives_in_any_form(password: str, encode: bool, prefix: str) -> None:
    written = quote(password, safe="") if encode else password
    masked = mask_credentials(f"{prefix}rtsp://admin:{written}@cam.local:554/live")
    assert masked == f"{prefix}rtsp://***@cam.local:554/live"
