"""Sinks: where the outbox delivers events (``mqtt``, ``webhook``). Each is a small class with one job.

A sink's ``deliver`` returns once the receiver has acknowledged the event (the broker's PUBACK, a 2xx answer) and
raises ``DeliveryError`` otherwise; ``permanent=True`` says a retry cannot help (a 4xx other than 408/429), so the
outbox parks the row as dead at once instead of retrying it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class DeliveryError(Exception):
    """One delivery failed; the message names the sink and the cause (credentials masked)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Sink(Protocol):
    name: str

    def deliver(self, camera_id: str, event_id: str, body: bytes) -> None:
        """Hand one event's JSON to the receiver; raise ``DeliveryError`` unless it acknowledged."""

    def close(self) -> None:
        """Let go of connections (an MQTT sink also marks its cameras offline)."""


def make_sink(settings, cameras: Sequence[str] = ()) -> Sink:
    """The sink that ``settings`` (one item of ``sinks:``) describes; ``cameras`` are the ones this process runs."""
    if settings.type == "webhook":
        from events.sinks.webhook import WebhookSink
        return WebhookSink(settings)
    if settings.type == "mqtt":
        from events.sinks.mqtt import MqttSink
        return MqttSink(settings, list(cameras))
    raise ValueError(f"sink {settings.name!r}: unknown type {settings.type!r}; use mqtt or webhook")
