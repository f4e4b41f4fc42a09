"""A real HTTP receiver of webhooks on loopback that checks every signature and counts what it got."""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from events.sinks.webhook import EVENT_ID_HEADER, SIGNATURE_HEADER, signature


class WebhookReceiver:
    """Answers ``status`` (settable) to every POST; keeps the accepted events in arrival order."""

    def __init__(self, secret: bytes, status: int = 200):
        self.secret, self.status = secret, status
        self.received: list[dict] = []  # accepted bodies, in arrival order
        self.refused = 0
        self.bad_signatures = 0
        self.authorization: str | None = None  # the last Authorization header
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/events"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def tally(self, sent: dict[str, list[str]]) -> dict[str, int]:
        """(sent, received, lost, duplicated, out of order) against ``sent``: camera -> event ids in order."""
        with self._lock:
            got = list(self.received)
        first: dict[str, list[str]] = defaultdict(list)
        seen: set[str] = set()
        duplicated = 0
        for body in got:
            if body["event_id"] in seen:
                duplicated += 1
                continue
            seen.add(body["event_id"])
            first[body["camera_id"]].append(body["event_id"])
        out_of_order = 0
        for camera, ids in first.items():
            position = {e: i for i, e in enumerate(sent[camera])}
            out_of_order += sum(1 for a, b in itertools.pairwise(ids) if position[b] < position[a])
        every = {e for ids in sent.values() for e in ids}
        return {"sent": len(every), "received": len(got), "lost": len(every - seen), "duplicated": duplicated,
                "out_of_order": out_of_order, "bad_signatures": self.bad_signatures}

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = receiver.status
                receiver.authorization = self.headers["Authorization"]
                if self.headers[SIGNATURE_HEADER] != signature(receiver.secret, body):
                    receiver.bad_signatures += 1
                    code = 401
                elif code == 200:
                    event = json.loads(body)
                    assert self.headers[EVENT_ID_HEADER] == event["event_id"]
                    assert self.headers["Content-Type"] == "application/json"
                    with receiver._lock:
                        receiver.received.append(event)
                else:
                    receiver.refused += 1
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        return Handler
