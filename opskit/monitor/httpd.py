"""`monitor serve`: an HTTP endpoint for Prometheus, polling on scrape like
snmp_exporter, with a short cache so several scrapers (or a fast scrape interval) do not
multiply the SNMP load.

Stdlib `http.server` only: one poll runs at a time (a lock), other scrapes wait for it
and share its result.

Connections are bounded (`_BoundedHTTPServer`): each socket has a read/write timeout
(a silent client is dropped, not kept forever), at most `max_connections` are served at
once (one thread each; more are answered 503 and closed at once), and a client that
goes away early is one log line, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
IO_TIMEOUT = 10.0  # seconds a client may keep a socket read or write waiting
MAX_CONNECTIONS = 32  # connections served at once (a thread each)
_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _BoundedHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a cap on connections served at once and one log line
    (no traceback) per client dropped: over the cap, timed out, or gone early."""

    daemon_threads = True
    request_queue_size = 128  # a burst of scrapers is accepted (or refused) at once

    def __init__(self, address: tuple[str, int], handler: Any, max_connections: int) -> None:
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning(
                "client %s: refused, %d connections open already", _peer(client_address),
                self.max_connections,
            )  # fmt: skip
            with contextlib.suppress(OSError):
                request.setblocking(False)  # never wait on this client in the accept loop
                request.send(_BUSY)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # reset, broken pipe, timeout: the client's doing
            log.warning("client %s: dropped, %s", _peer(client_address), _why(exc))
        else:
            log.error("request from %s failed", _peer(client_address), exc_info=True)


def _peer(address: Any) -> str:
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)


def _why(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or type(exc).__name__


class MetricsServer:
    """Serve /metrics and /healthz for a set of devices.

    Args:
        inventory: the loaded inventory.
        devices: the devices /metrics polls (a `?device=NAME` query picks one of them).
        host, port: where to listen (port 0: any free port; see `.port`).
        cache_seconds: how long a poll's result is served again.
        labels: added to every sample (`{"shard": "east"}`).
        io_timeout: seconds a client may keep one socket read or write waiting.
        max_connections: connections served at once; more are answered 503.
    """

    def __init__(
        self,
        inventory: Inventory,
        devices: Sequence[Device],
        host: str,
        port: int,
        *,
        cache_seconds: float = 10.0,
        labels: Mapping[str, str] | None = None,
        io_timeout: float = IO_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.inventory = inventory
        self.devices = list(devices)
        self.cache_seconds = cache_seconds
        self.labels = dict(labels or {})  # on every sample: {"shard": S} for a poller
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, str]] = {}
        self.polls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            timeout = io_timeout  # on the socket: every read and write

            def do_GET(self) -> None:
                outer._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s " + format, self.address_string(), *args)

            def log_error(self, format: str, *args: Any) -> None:
                # a timed-out or malformed request: one line naming the client
                log.warning("client %s: " + format, _peer(self.client_address), *args)

        self.httpd = _BoundedHTTPServer((host, port), Handler, max_connections)
        addr = self.httpd.server_address
        self.host, self.port = str(addr[0]), int(addr[1])

    def metrics(self, device: str | None = None) -> str:
        """The exposition text for all devices (or one), from the cache when fresh."""
        from opskit.monitor.render import render_prometheus
        from opskit.monitor.service import check_devices

        key = device or ""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.cache_seconds:
                return hit[1]
            chosen = [d for d in self.devices if device is None or d.name == device]
            report = check_devices(self.inventory, chosen)
            self.polls += 1
            text = render_prometheus(report, self.labels)
            self._cache[key] = (time.monotonic(), text)
            return text

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        url = urlsplit(req.path)
        if url.path == "/healthz":
            self._reply(req, 200, "ok\n")
            return
        if url.path != "/metrics":
            self._reply(req, 404, "not found: try /metrics or /healthz\n")
            return
        wanted = parse_qs(url.query).get("device")
        device = wanted[0] if wanted else None
        if device is not None and device not in {d.name for d in self.devices}:
            self._reply(req, 404, f"no monitored device '{device}'\n")
            return
        try:
            body = self.metrics(device)
        except Exception as exc:  # one bad poll must not kill the server
            log.exception("poll failed")
            self._reply(req, 500, f"poll failed: {type(exc).__name__}: {exc}\n")
            return
        self._reply(req, 200, body, CONTENT_TYPE)

    @staticmethod
    def _reply(
        req: BaseHTTPRequestHandler, code: int, body: str, ctype: str = "text/plain"
    ) -> None:
        data = body.encode("utf-8")
        req.send_response(code)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def serve_until_signalled(self) -> None:
        """Serve until SIGTERM or SIGINT, then close the socket."""

        def stop(signum: int, frame: object) -> None:
            # shutdown() waits for serve_forever to return: call it from another thread.
            threading.Thread(target=self.httpd.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            self.httpd.serve_forever(poll_interval=0.5)
        finally:
            self.httpd.server_close()
