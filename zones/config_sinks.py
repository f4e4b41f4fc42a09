"""Where events go besides the store (DESIGN.md, "Responsibility units, stores and sinks"): the ``sinks:`` list.

Every event reaches every sink at least once, in order per camera, through the store's outbox (``events/outbox.py``);
``event_id`` is the idempotency key.

>>> sinks = SinkList.validate_python([{"type": "webhook", "url": "https://platform.internal/api/events",
...                                     "secret": "s3cret"}])
>>> name_sinks(sinks); sinks[0].name, sinks[0].secret
('webhook-1', SecretStr('**********'))
>>> MqttSinkSettings(type="mqtt", url="mqtt://broker.internal:1883").topic
'streetorder/events'
"""

from __future__ import annotations

import re
from string import Formatter
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, TypeAdapter, field_validator

from contracts.names import ID_PATTERN, EventType, Rule
from zones.config_geo import StrictModel
from zones.schedule import Seconds
from zones.units import Unit

TOPIC_FIELDS = ("camera_id", "zone_id", "rule", "type", "district", "grid", "road")


class NotifySettings(StrictModel):
    """A notify sink's notice (docs/SINKS.md, "Notify: warn the driver")."""

    leave_within: Seconds = Field(420.0, gt=0, description="How long the driver is given after the notice to move "
                                                            "on (Hangzhou: 7 minutes); the notice's leave_by is the "
                                                            "warn's wall time plus this.")


class DeliverySettings(StrictModel):
    """How the outbox retries one sink."""

    name: str | None = Field(None, pattern=ID_PATTERN, description="The sink's name in the outbox, /healthz, "
                                                                   "/metrics and logs; unique. Unset: its type and "
                                                                   "position (webhook-1, mqtt-2).")
    max_attempts: int = Field(12, ge=1, le=1000, description="Deliveries tried per event before it is parked as "
                                                             "dead (shown in /healthz and /metrics; `streetorder "
                                                             "sinks retry-dead` sends it again).")
    retry_after: Seconds = Field(1.0, gt=0, description="Wait before the first retry; it doubles with each "
                                                        "failure (plus up to 25 % jitter) up to max_retry_after.")
    max_retry_after: Seconds = Field(300.0, gt=0, description="The longest wait between two retries.")
    timeout: Seconds = Field(10.0, gt=0, le=300, description="How long one delivery may take before it counts "
                                                             "as failed.")
    when: Literal["recorded", "confirmed"] = Field(
        "recorded", description="recorded: each event as it is stored; confirmed: each warn or escalate once the "
                                "reviewers confirm it (the dispatch to a unit's officers; written by the reviewers' "
                                "app, delivered by the senders of `run` or `streetorder sinks send`), its JSON "
                                "with a case: {status, confirmed_at, reviewers}.")
    events: list[EventType] | None = Field(None, description="Only events of these types (warn, escalate, "
                                                              "clear); unset: all. A notify sink (a loudspeaker, "
                                                              "an SMS gateway) takes [warn].")
    rules: list[Rule] | None = Field(None, description="Only events of these rules; unset: all.")
    units: list[Unit] | None = Field(None, description="Only events whose unit matches one of these: every part a "
                                                       "listed unit gives is equal (e.g. {district: Lucheng}); "
                                                       "unset: all, events without a unit included.")

    notify: NotifySettings | None = Field(None, description="Add a notice to each message for a loudspeaker or "
                                                             "an SMS gateway: {plate, place, rule, leave_by, text}; "
                                                             "with events: [warn]. Unset: the event's JSON only.")

    def accepts(self, event: dict) -> bool:
        """Whether the event (its JSON object) goes to this sink."""
        if self.events is not None and event.get("type") not in self.events:
            return False
        if self.rules is not None and event.get("rule") not in self.rules:
            return False
        if self.units is None:
            return True
        unit = event.get("unit") or {}
        return any(all(unit.get(k) == v for k, v in u.to_json().items() if v is not None) for u in self.units)


class MqttSinkSettings(DeliverySettings):
    """Events published to an MQTT broker (QoS 1 by default: delivered once the broker acknowledges)."""

    type: Literal["mqtt"] = Field(description="mqtt")
    url: str = Field(description="mqtt://host[:1883] or mqtts://host[:8883] (TLS); a user and password may be "
                                 "given as ${VARIABLES} of the environment, in the URL or below.")
    topic: str = Field("streetorder/events", min_length=1, description="The topic of the event messages; may name "
                                                                       "the event's {camera_id}, {zone_id}, {rule}, "
                                                                       "{type}, {district}, {grid} or {road} (a "
                                                                       "unit's missing part: 'none'), e.g. "
                                                                       "streetorder/{district}/{grid}/events.")
    qos: Literal[0, 1, 2] = Field(1, description="MQTT quality of service of the event messages (1: at least "
                                                 "once; 0 loses messages when the broker drops).")
    status_topics: bool = Field(True, description="Also keep retained per-camera topics, Frigate-style: "
                                                  "<prefix>/<camera>/status (online/offline) and "
                                                  "<prefix>/<camera>/timers (open dwell timers).")
    prefix: str = Field("streetorder", min_length=1, description="The first level of the status topics.")
    username: str | None = Field(None, description="Broker user (e.g. ${MQTT_USER}); overrides the URL's.")
    password: SecretStr | None = Field(None, description="Broker password (e.g. ${MQTT_PASSWORD}); never "
                                                         "printed nor stored.")
    ca_file: str | None = Field(None, description="mqtts: a CA bundle for the broker's certificate. Unset: the "
                                                  "system's.")

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, url: str) -> str:
        return _check_url(url, ("mqtt", "mqtts"), "mqtt://broker.internal:1883")

    @field_validator("topic", "prefix")
    @classmethod
    def _no_wildcards(cls, topic: str) -> str:
        if any(c in topic for c in "#+\0"):
            raise ValueError(f"{topic!r} has an MQTT wildcard (# or +); publish to a plain topic such as "
                             "streetorder/events")
        unknown = [name for _, name, _, _ in Formatter().parse(topic) if name is not None and name not in
                   TOPIC_FIELDS]
        if unknown:
            raise ValueError(f"{topic!r} names {{{unknown[0]}}}; a topic may name {', '.join(TOPIC_FIELDS)}")
        return topic

    def topic_of(self, event: dict) -> str:
        """The event's topic: ``topic`` with its placeholders filled (a missing value: ``none``; ``/`` in a value
        becomes ``_``, so a value never adds a level).

        >>> MqttSinkSettings(type="mqtt", url="mqtt://b", topic="so/{district}/{grid}").topic_of(
        ...     {"unit": {"district": "Lucheng", "grid": None}})
        'so/Lucheng/none'
        """
        unit = event.get("unit") or {}
        values = {k: event.get(k) for k in TOPIC_FIELDS[:4]} | {k: unit.get(k) for k in TOPIC_FIELDS[4:]}
        return self.topic.format(**{k: re.sub(r"[/#+\0]", "_", str(v)) if v else "none"
                                    for k, v in values.items()})


class WebhookSinkSettings(DeliverySettings):
    """Events POSTed as JSON, signed: ``X-Streetorder-Signature: sha256=<hex HMAC-SHA256 of the body>``."""

    type: Literal["webhook"] = Field(description="webhook")
    url: str = Field(description="http:// or https:// address that takes the POST; 2xx means delivered, 4xx "
                                 "other than 408 and 429 parks the event as dead at once, anything else is retried.")
    secret: SecretStr = Field(description="The HMAC key, normally ${WEBHOOK_SECRET} from the environment; never "
                                          "printed nor stored.")
    headers: dict[str, str] = Field({}, description="Extra request headers (e.g. an API key as ${PLATFORM_KEY}).")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return _check_url(url, ("http", "https"), "https://platform.internal/api/events")

    @field_validator("secret")
    @classmethod
    def _secret_given(cls, secret: SecretStr) -> SecretStr:
        if not secret.get_secret_value().strip():
            raise ValueError("the webhook secret is empty; set it, e.g. secret: ${WEBHOOK_SECRET} with that "
                             "variable exported")
        return secret


class DispatchSettings(StrictModel):
    """What happens to a confirmed alarm's case after it is dispatched (docs/UNITS.md, "After the dispatch").

    >>> DispatchSettings.model_validate({"deadlines": {"street_vending": "10m"}}).deadline("street_vending")
    600.0
    >>> DispatchSettings().deadline("sidewalk_parking")
    1800.0
    """

    deadlines: dict[Rule, Annotated[Seconds, Field(gt=0)]] = Field(
        {}, description="How long the unit's officers have to handle a case of this rule after it is dispatched, "
                        "e.g. {sidewalk_parking: 30m}; a case not handled by then is overdue. Rules not listed: "
                        "default_deadline.")
    default_deadline: Seconds = Field(1800.0, gt=0, description="The deadline of rules deadlines does not list "
                                                                "(30 minutes).")

    def deadline(self, rule: str) -> float:
        """Seconds from dispatch to the deadline of a case of ``rule``."""
        return self.deadlines.get(rule, self.default_deadline)


SinkSettings = Annotated[MqttSinkSettings | WebhookSinkSettings, Field(discriminator="type")]
SinkList = TypeAdapter(list[SinkSettings])


def name_sinks(sinks: list[MqttSinkSettings | WebhookSinkSettings]) -> None:
    """Give unnamed sinks their default names and refuse a name used twice."""
    seen: set[str] = set()
    for position, sink in enumerate(sinks, start=1):
        if sink.name is None:
            sink.name = f"{sink.type}-{position}"
        if sink.name in seen:
            raise ValueError(f"sink name {sink.name!r} is used twice; give each sink its own name")
        seen.add(sink.name)


def _check_url(url: str, schemes: tuple[str, ...], example: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in schemes or not parts.hostname:
        from contracts.urls import mask_credentials
        raise ValueError(f"{mask_credentials(url)!r} is not a {' or '.join(s + '://' for s in schemes)} URL with a "
                         f"host; write it like {example}")
    return url
