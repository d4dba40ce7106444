"""Fixtures: a real HTTP server (stdlib http.server in a thread) receiving webhook POSTs.

`webhook_receiver(status=200)` returns a `WebhookReceiver` with `.url(path)`, `.requests`
(each with `path`, `headers`, `body`) and `.status` (the answer code, changeable).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from opskit.lab import free_port


@dataclass
class Request:
    """One POST as the server received it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A running receiver."""

    port: int
    status: int = 200
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        """The URL of `path` on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self) -> list[Request]:
        """The requests so far."""
        with self.lock:
            return list(self.requests)


@pytest.fixture
def webhook_receiver() -> Iterator[Callable[..., WebhookReceiver]]:
    """Factory: `webhook_receiver(status=200)`; servers stop after the test."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(status: int = 200) -> WebhookReceiver:
        receiver = WebhookReceiver(free_port(), status)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(Request(self.path, dict(self.headers), body))
                answer = b"ok" if receiver.status < 300 else b"invalid_token"
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass  # quiet

        server = http.server.ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
