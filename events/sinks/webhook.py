"""The webhook sink: each event POSTed as its JSON, signed with HMAC-SHA256 of the body.

Headers: ``Content-Type: application/json``, ``X-Streetorder-Signature: sha256=<hex>`` (the key is the sink's
``secret``) and ``X-Streetorder-Event-Id`` (the idempotency key: a receiver keeps the first copy of an event).
A 2xx answer means delivered; a 4xx other than 408 and 429 cannot get better by retrying (the row is dead at once);
anything else (5xx, 3xx, timeouts, refused connections) is retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import urllib.error
import urllib.parse
import urllib.request

from contracts.urls import mask_credentials
from events.sinks import DeliveryError
from zones.config_sinks import WebhookSinkSettings

SIGNATURE_HEADER = "X-Streetorder-Signature"
EVENT_ID_HEADER = "X-Streetorder-Event-Id"
RETRIED_4XX = (408, 429)


def signature(secret: bytes, body: bytes) -> str:
    """The signature header's value for ``body``.

    >>> signature(b"s3cret", b'{"event_id": "e1"}')[:15]
    'sha256=fb639f1c'
    """
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its ``user:password@`` (urllib would take it for the host) and the Basic header it means."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    if ":" in parts.hostname:
        netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), {"Authorization": f"Basic {token}"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a POST turned into a GET elsewhere would look delivered
        return None


class WebhookSink:
    """POST events to ``settings.url``."""

    def __init__(self, settings: WebhookSinkSettings):
        self.name = settings.name or "webhook"
        self.label = mask_credentials(settings.url)
        self.url, self.headers = _split_credentials(settings.url)
        self.timeout = settings.timeout
        self.headers.update(settings.headers)
        self._secret = settings.secret.get_secret_value().encode()
        self._opener = urllib.request.build_opener(_NoRedirect)

    def deliver(self, camera_id: str, event_id: str, body: bytes) -> None:
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            **self.headers, "Content-Type": "application/json", "User-Agent": "streetorder",
            SIGNATURE_HEADER: signature(self._secret, body), EVENT_ID_HEADER: event_id})
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"sink {self.name!r}: {self.label} cannot be reached "
                                f"({mask_credentials(reason)})") from None
        if 200 <= status < 300:
            return
        permanent = 400 <= status < 500 and status not in RETRIED_4XX
        hint = " (redirects are not followed: give the final URL)" if 300 <= status < 400 else ""
        raise DeliveryError(f"sink {self.name!r}: {self.label} answered {status}{hint}", permanent=permanent)

    def close(self) -> None:
        """Nothing held between deliveries."""
