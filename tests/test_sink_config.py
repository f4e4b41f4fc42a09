"""The sinks: section: each mistake is one sentence naming the sink and the fix; secrets never appear in one."""

from __future__ import annotations

from pathlib import Path

import pytest

from zones.config import ConfigError, config_from_text

HEAD = "cameras: [{id: cam-01, source: v.mp4}]\nsinks:\n"


def load(sinks: str, tmp_path: Path):
    return config_from_text(HEAD + sinks, tmp_path / "cameras.yaml")


@pytest.mark.parametrize("sinks, words", [
    ("  - {type: kafka, url: 'kafka://x'}", r"sinks\[0\]: unknown type 'kafka'; use one of 'mqtt', 'webhook'"),
    ("  - {url: 'https://x'}", r"sinks\[0\]: its type is missing; add type:"),
    ("  - {type: webhook, url: 'ftp://platform/x', secret: s}", r"'ftp://platform/x' is not a http:// or https:// URL"),
    ("  - {type: webhook, url: 'https://platform/x'}", r"'sinks\[0\]\.webhook\.secret' is missing; add it"),
    ("  - {type: webhook, url: 'https://platform/x', secret: '  '}", r"the webhook secret is empty"),
    ("  - {type: mqtt, url: 'mqtt://broker', topic: 'a/#'}", r"has an MQTT wildcard"),
    ("  - {type: mqtt, url: 'mqtt://broker', qos: 3}", r"qos"),
    ("  - {type: mqtt, url: 'mqtt://a'}\n  - {type: mqtt, url: 'mqtt://b', name: mqtt-1}", r"'mqtt-1' is used twice"),
])
def test_a_bad_sink_is_one_sentence_naming_it(tmp_path, sinks, words):
    with pytest.raises(ConfigError, match=words):
        load(sinks, tmp_path)


def test_a_secret_from_an_unset_variable_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET is used but not set"):
        load("  - {type: webhook, url: 'https://platform/x', secret: '${WEBHOOK_SECRET}'}", tmp_path)
    monkeypatch.setenv("WEBHOOK_SECRET", "hunter2-secret")
    sink = load("  - {type: webhook, url: 'https://platform/x', secret: '${WEBHOOK_SECRET}'}", tmp_path).sinks[0]
    assert sink.secret.get_secret_value() == "hunter2-secret"
    assert "hunter2" not in repr(sink) and "hunter2" not in str(sink)


def test_a_password_in_a_bad_sink_url_is_masked_in_the_sentence(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load("  - {type: mqtt, url: 'mqtt://ops:s3cretpw@:1883'}", tmp_path)
    assert "s3cretpw" not in str(caught.value) and "is not a mqtt:// or mqtts:// URL" in str(caught.value)


def test_unnamed_sinks_are_named_by_type_and_position(tmp_path):
    sinks = load("  - {type: webhook, url: 'https://p/x', secret: s}\n  - {type: mqtt, url: 'mqtt://b'}",
                 tmp_path).sinks
    assert [s.name for s in sinks] == ["webhook-1", "mqtt-2"] and sinks[1].qos == 1
