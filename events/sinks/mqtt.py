"""The MQTT sink: each event published on ``topic`` (QoS 1 by default: delivered once the broker sent PUBACK).

With ``status_topics`` it also keeps Frigate-style retained topics:

- ``<prefix>/<camera>/status``: ``online`` for each camera of the process at every connect, ``offline`` when the sink
  closes cleanly;
- ``<prefix>/availability``: ``online`` at connect and ``offline`` at a clean close, and the connection's last will,
  so a process that dies is marked ``offline`` by the broker (a will holds one topic: the per-camera topics keep
  their last value, read them together with this one);
- ``<prefix>/<camera>/timers``: a JSON list of the camera's open warns (warned, not yet cleared), kept from the
  events this sink delivered: ``[{"object_id", "zone_id", "rule", "since_t", "since_ts"}, ...]``.

The client connects at the first delivery and paho's network thread reconnects after a drop; while it is not
connected every delivery fails at once (the outbox retries it). User and password come from the settings or the
URL and are never logged; URLs in messages are masked.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from contracts.urls import mask_credentials
from events.sinks import DeliveryError
from zones.config_sinks import MqttSinkSettings

log = logging.getLogger(__name__)

KEEPALIVE = 30  # seconds between pings: a dead broker is noticed within 1.5 times this
RECONNECT_DELAYS = (1, 10)  # seconds: paho's first and longest wait between reconnection attempts


class MqttSink:
    """Publish events to the broker of ``settings.url``; ``cameras`` get the status topics."""

    def __init__(self, settings: MqttSinkSettings, cameras: Sequence[str] = ()):
        self.name = settings.name or "mqtt"
        self.settings = settings
        self.label = mask_credentials(settings.url)
        parts = urlsplit(settings.url)
        self.tls = parts.scheme == "mqtts"
        self.host, self.port = parts.hostname, parts.port or (8883 if self.tls else 1883)
        self._username = settings.username or (unquote(parts.username) if parts.username else None)
        self._password = (settings.password.get_secret_value() if settings.password is not None
                          else unquote(parts.password) if parts.password else None)
        self.cameras: list[str] = list(dict.fromkeys(cameras))
        self._timers: dict[str, dict[tuple[str, str], dict]] = {}  # camera -> (zone, object) -> open warn
        self._lock = threading.Lock()  # cameras and timers: read by paho's thread at connect
        self._connected = threading.Event()
        self._problem = "not connected yet"
        self._client: mqtt.Client | None = None

    def deliver(self, camera_id: str, event_id: str, body: bytes) -> None:
        """Publish ``body`` and wait for the broker's acknowledgement (QoS 0: until it is sent)."""
        client = self._connect()
        self._add_camera(client, camera_id)
        topic = self.settings.topic_of(json.loads(body)) if "{" in self.settings.topic else self.settings.topic
        info = client.publish(topic, body, qos=self.settings.qos)
        self._wait(info, f"event {event_id}")
        if self.settings.status_topics:
            self._track(client, body)

    def close(self) -> None:
        """Mark the cameras and the process offline (retained), then disconnect."""
        client, self._client = self._client, None
        if client is None:
            return
        if self._connected.is_set() and self.settings.status_topics:
            with self._lock:
                cameras = list(self.cameras)
            try:
                for topic in [self._topic(c, "status") for c in cameras] + [self._availability]:
                    self._wait(client.publish(topic, "offline", qos=1, retain=True), f"{topic} offline")
            except DeliveryError as exc:
                log.warning("%s", exc)
        client.disconnect()
        client.loop_stop()
        self._connected.clear()

    @property
    def _availability(self) -> str:
        return f"{self.settings.prefix}/availability"

    def _topic(self, camera_id: str, leaf: str) -> str:
        return f"{self.settings.prefix}/{camera_id}/{leaf}"

    def _connect(self) -> mqtt.Client:
        """The connected client, connecting the first time (or after a failed first attempt)."""
        if self._client is None:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                 client_id=f"streetorder-{self.name}-{uuid.uuid4().hex[:8]}")
            if self.tls:
                client.tls_set(ca_certs=self.settings.ca_file)
            if self._username is not None:
                client.username_pw_set(self._username, self._password)
            if self.settings.status_topics:
                client.will_set(self._availability, "offline", qos=1, retain=True)
            client.reconnect_delay_set(*RECONNECT_DELAYS)
            client.on_connect, client.on_disconnect = self._on_connect, self._on_disconnect
            try:
                client.connect(self.host, self.port, keepalive=KEEPALIVE)
            except (OSError, ValueError) as exc:  # refused, unknown host, TLS handshake
                raise DeliveryError(f"sink {self.name!r}: {self.label} cannot be reached "
                                    f"({mask_credentials(exc)})") from None
            client.loop_start()  # from here on paho's thread reconnects by itself
            self._client = client
            self._connected.wait(self.settings.timeout)  # the broker's CONNACK
        if not self._connected.is_set():  # reconnecting: fail at once, the outbox retries later
            raise DeliveryError(f"sink {self.name!r}: not connected to {self.label} ({self._problem})")
        return self._client

    def _wait(self, info: mqtt.MQTTMessageInfo, what: str) -> None:
        try:
            info.wait_for_publish(self.settings.timeout)
            done = info.is_published()
        except (RuntimeError, ValueError) as exc:  # not connected any more, or paho's queue full
            raise DeliveryError(f"sink {self.name!r}: {what} not published to {self.label} ({exc})") from None
        if not done:
            state = "still connected" if self._connected.is_set() else self._problem
            raise DeliveryError(f"sink {self.name!r}: {self.label} did not acknowledge {what} within "
                                f"{self.settings.timeout:g} s ({state})")

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._problem = f"the broker refused the connection: {reason_code}"
            log.warning("sink %r: %s refused the connection: %s", self.name, self.label, reason_code)
            return
        log.info("sink %r: connected to %s", self.name, self.label)
        if self.settings.status_topics:
            with self._lock:
                cameras = list(self.cameras)
                timers = {camera: self._timers_json(camera) for camera in self._timers}
            client.publish(self._availability, "online", qos=1, retain=True)
            for camera in cameras:
                client.publish(self._topic(camera, "status"), "online", qos=1, retain=True)
            for camera, payload in timers.items():  # a broker without persistence forgot them
                client.publish(self._topic(camera, "timers"), payload, qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        self._problem = f"connection lost: {reason_code}; reconnecting"
        if self._client is not None:  # not our own close()
            log.warning("sink %r: %s: connection lost (%s); reconnecting", self.name, self.label, reason_code)

    def _add_camera(self, client: mqtt.Client, camera_id: str) -> None:
        """A camera first seen in an event (not given at start) gets its status topic too."""
        with self._lock:
            if camera_id in self.cameras:
                return
            self.cameras.append(camera_id)
        if self.settings.status_topics:
            client.publish(self._topic(camera_id, "status"), "online", qos=1, retain=True)

    def _track(self, client: mqtt.Client, body: bytes) -> None:
        """Open a timer at a warn, close it at its clear, and publish the camera's open timers when they changed."""
        try:
            event = json.loads(body)
            camera, kind, key = event["camera_id"], event["type"], (event["zone_id"], event["object_id"])
        except (ValueError, TypeError, KeyError):
            return  # not an event of ours: nothing to track
        with self._lock:
            timers = self._timers.setdefault(camera, {})
            if kind == "warn":
                timers[key] = {"object_id": key[1], "zone_id": key[0], "rule": event.get("rule"),
                               "since_t": event.get("since_t"), "since_ts": event.get("since_ts")}
            elif kind == "clear" and key in timers:
                del timers[key]
            else:
                return
            payload = self._timers_json(camera)
        try:  # the event is delivered: a lost timers message is sent again at the next connect
            self._wait(client.publish(self._topic(camera, "timers"), payload, qos=1, retain=True), f"{camera} timers")
        except DeliveryError as exc:
            log.warning("%s", exc)

    def _timers_json(self, camera: str) -> str:
        timers = sorted(self._timers.get(camera, {}).values(), key=lambda t: (t["since_t"] is None, t["since_t"] or 0))
        return json.dumps(timers)
