"""`monitor serve`: an HTTP endpoint for Prometheus, polling on scrape like
snmp_exporter, with a short cache so several scrapers (or a fast scrape interval) do not
multiply the SNMP load.

One asyncio event loop serves HTTP and runs every poll (`opskit.monitor.scrape`) on one
SNMP engine and socket: scrapes of different devices run at once, scrapes of one device
share a poll. The threaded stdlib server of old spent more CPU on its threads than on the
poll and left the second core idle behind the GIL (docs/notes/issue-19.md).

The server is bounded:

* at most `max_scrapes` scrapes wait for polls at once; one more gets a 503 that says so
  (with `Retry-After`);
* a scrape waits no longer than its scraper does (Prometheus's
  `X-Prometheus-Scrape-Timeout-Seconds` header, less a margin) or the devices' poll
  deadline: then a 504, and the poll goes on for the next scrape;
* at most `max_connections` connections at once (one more is answered 503 and closed);
  a connection that sends no complete request within `read_timeout` seconds (an idle
  keep-alive one too) is closed, and so is one that does not take its answer within
  `write_timeout`; request heads are capped at 16 KiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from opskit.errors import OpskitError

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory
    from opskit.monitor.scrape import Scrapes

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_SCRAPES = 64  # scrapes waiting for polls at once; more get a 503
MAX_CONNECTIONS = 256  # open connections; more are answered 503 and closed
READ_TIMEOUT = 30.0  # seconds to send a whole request head (idle keep-alive included)
WRITE_TIMEOUT = 30.0  # seconds for a client to take its answer
MAX_HEAD = 16 * 1024  # bytes of request line + headers
SCRAPE_MARGIN = 0.25  # seconds kept from the scraper's timeout to send the answer in

REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request head."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    keep_alive: bool


@dataclass(frozen=True, slots=True)
class Reply:
    """What goes back: status, body, content type, extra headers."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def parse_head(head: bytes) -> Request:
    """A request head (request line + headers, up to the blank line).

    >>> r = parse_head(b"GET /metrics?device=sw1 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    >>> (r.method, r.path, r.query, r.keep_alive)
    ('GET', '/metrics', {'device': ['sw1']}, True)

    Raises:
        ValueError: not an HTTP/1.x request line.
    """
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ValueError("not an HTTP/1.x request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError("malformed header line")
        headers[name.lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    url = urlsplit(target)
    return Request(method, url.path, parse_qs(url.query), headers, keep_alive)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket made with proto IPPROTO_TCP: asyncio sets TCP_NODELAY only
    on connections whose socket says so, and without it a keep-alive scrape waits ~40 ms
    for Nagle and the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(512)
    except BaseException:
        sock.close()
        raise
    return sock


class MetricsServer:
    """Serve /metrics and /healthz for a set of devices.

    The listening socket is bound here (so `.port` is known at once); `serve()` (or
    `serve_until_signalled()`) runs the server in an event loop.

    Args:
        inventory: the loaded inventory.
        devices: the devices /metrics polls (a `?device=NAME` query picks one of them).
        host, port: where to listen (port 0: any free port; see `.port`).
        cache_seconds: how long a poll's result is served again.
        labels: added to every sample (`{"shard": "east"}`).
        max_scrapes: scrapes waiting for polls at once (more get a 503).
        max_connections: connections at once (more are answered 503 and closed).
        read_timeout, write_timeout: seconds a client may take to send a request (or to
            stay idle between two) and to take an answer.
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
        max_scrapes: int = MAX_SCRAPES,
        max_connections: int = MAX_CONNECTIONS,
        read_timeout: float = READ_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self.inventory = inventory
        self.devices = list(devices)
        self.names = {d.name for d in self.devices}
        self.cache_seconds = cache_seconds
        self.labels = dict(labels or {})  # on every sample: {"shard": S} for a poller
        self.max_scrapes = max(1, max_scrapes)
        self.max_connections = max(1, max_connections)
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.sock = _listen(host, port)
        addr = self.sock.getsockname()
        self.host, self.port = str(addr[0]), int(addr[1])
        self.scrapes: Scrapes | None = None
        self.wait_seconds = 30.0  # a scrape without a timeout header (set by serve())
        self.scraping = 0  # scrapes waiting for a poll now
        self.connections = 0
        self.refused = 0  # scrapes and connections turned away (503)
        self._retiring: set[asyncio.Future[None]] = set()  # reloads, and what they replaced

    @property
    def polls(self) -> int:
        """Device polls so far (scrapes that shared a poll add none)."""
        return self.scrapes.polls if self.scrapes is not None else 0

    async def serve(self, stop: asyncio.Event, started: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set; then close the socket, stop the polls and write
        the state file. `started` is set once requests are answered."""
        from opskit.monitor.scrape import Scrapes

        self.scrapes = Scrapes(
            self.inventory, self.devices, cache_seconds=self.cache_seconds, labels=self.labels
        )
        self.wait_seconds = self.scrapes.max_seconds() + 2  # a scrape without a timeout header
        server = await asyncio.start_server(self._connection, sock=self.sock, limit=MAX_HEAD)
        try:
            if started is not None:
                started.set()
            await stop.wait()
        finally:
            server.close()
            for task in list(self._retiring):  # a reload under way, old scrapes closing
                task.cancel()
            await asyncio.gather(*self._retiring, return_exceptions=True)
            await self.scrapes.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def reload(self, inventory: Inventory, devices: Sequence[Device]) -> None:
        """Poll `devices` of `inventory` from now on (the scrapes in progress end on the
        old ones). Rates and reboot detection go on: the state is handed over."""
        from opskit.monitor.scrape import Scrapes

        old = self.scrapes
        assert old is not None  # set by serve()
        await old.hand_over()
        self.scrapes = Scrapes(
            inventory, devices, cache_seconds=self.cache_seconds, labels=self.labels
        )
        self.inventory, self.devices = inventory, list(devices)
        self.names = {d.name for d in self.devices}
        self.wait_seconds = self.scrapes.max_seconds() + 2
        retiring = asyncio.ensure_future(old.retire())
        self._retiring.add(retiring)  # held until done (the loop keeps weak references)
        retiring.add_done_callback(self._retiring.discard)

    def serve_until_signalled(
        self,
        reload: Callable[[], tuple[Inventory, Sequence[Device]]] | None = None,
        on_reload: Callable[[Sequence[Device] | None, str | None], None] | None = None,
    ) -> None:
        """Serve until SIGTERM or SIGINT. With `reload`, SIGHUP calls it (in a worker
        thread) for a new inventory and its devices, and serves those; an OpskitError
        keeps the old ones. `on_reload(devices, None)` or `(None, error)` hears how it went.
        """
        from opskit.runner import run_edge

        async def reload_now(lock: asyncio.Lock) -> None:
            assert reload is not None
            async with lock:  # two quick SIGHUPs: one after the other, in order
                try:
                    inventory, devices = await asyncio.to_thread(reload)
                except OpskitError as exc:
                    if on_reload is not None:
                        on_reload(None, str(exc))
                    return
                await self.reload(inventory, devices)
                if on_reload is not None:
                    on_reload(devices, None)

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            if reload is not None:
                lock = asyncio.Lock()

                def reload_soon() -> None:
                    task = asyncio.ensure_future(reload_now(lock))
                    self._retiring.add(task)
                    task.add_done_callback(self._retiring.discard)

                loop.add_signal_handler(signal.SIGHUP, reload_soon)
            await self.serve(stop)

        try:
            run_edge(main())
        finally:
            self.sock.close()

    # ---------------------------------------------------------------- connections

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self.connections >= self.max_connections:
            self.refused += 1
            log.warning("%s: connection refused: %d open (the cap)", peer, self.connections)
            reply = Reply(503, f"too many connections ({self.max_connections}, the cap)\n")
            await self._send(writer, reply, keep_alive=False, quiet=True)
            writer.close()
            return
        self.connections += 1
        try:
            while True:
                try:
                    async with asyncio.timeout(self.read_timeout):
                        head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    if exc.partial.strip():
                        log.info("%s: dropped: hung up in the middle of a request", peer)
                    return
                except TimeoutError:
                    log.info("%s: dropped: no request within %g s", peer, self.read_timeout)
                    return
                except asyncio.LimitOverrunError:
                    await self._send(writer, Reply(400, "request head too long\n"), False)
                    return
                try:
                    request = parse_head(head)
                except ValueError as exc:
                    await self._send(writer, Reply(400, f"bad request: {exc}\n"), False)
                    return
                if "content-length" in request.headers or "transfer-encoding" in request.headers:
                    await self._send(writer, Reply(400, "a request body is not expected\n"), False)
                    return
                reply = await self._answer(request)
                if not await self._send(writer, reply, request.keep_alive, request.method):
                    return
                if not request.keep_alive:
                    return
        except ConnectionError:
            log.info("%s: dropped: connection reset", peer)
        finally:
            self.connections -= 1
            writer.close()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        reply: Reply,
        keep_alive: bool,
        method: str = "GET",
        quiet: bool = False,
    ) -> bool:
        """Write the reply; False when the client did not take it in time (or left).

        `quiet`: the client already has its log line (a refused one): say nothing more.
        """
        body = reply.body.encode("utf-8")
        head = [
            f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Error')}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{k}: {v}" for k, v in reply.headers),
        ]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        writer.write(data + body if method != "HEAD" else data)  # one write, one segment
        try:
            async with asyncio.timeout(self.write_timeout):
                await writer.drain()
        except TimeoutError:
            if not quiet:
                log.info("%s: dropped: did not take its answer within %g s",
                         writer.get_extra_info("peername"), self.write_timeout)  # fmt: skip
            return False
        except ConnectionError:
            if not quiet:
                peer = writer.get_extra_info("peername")
                log.info("%s: dropped: hung up before its answer", peer)
            return False
        return True

    # ---------------------------------------------------------------- requests

    async def _answer(self, request: Request) -> Reply:
        if request.method not in ("GET", "HEAD"):
            return Reply(405, "only GET and HEAD\n", headers=(("Allow", "GET, HEAD"),))
        if request.path == "/healthz":
            return Reply(200, "ok\n")
        if request.path != "/metrics":
            return Reply(404, "not found: try /metrics or /healthz\n")
        wanted = request.query.get("device")
        device = wanted[0] if wanted else None
        if device is not None and device not in self.names:
            return Reply(404, f"no monitored device '{device}'\n")
        if self.scraping >= self.max_scrapes:
            self.refused += 1
            log.warning("scrape of %s refused: %d in progress (the cap)",
                        device or "all devices", self.scraping)  # fmt: skip
            return Reply(
                503,
                f"too many scrapes in progress ({self.max_scrapes}, the server's cap); "
                "try again later\n",
                headers=(("Retry-After", "1"),),
            )
        scrapes = self.scrapes
        assert scrapes is not None  # set before the socket is served
        wait = self._wait_for(request)
        self.scraping += 1
        try:
            body = await asyncio.wait_for(scrapes.scrape(device), wait)
        except TimeoutError:
            what = device or "all devices"
            return Reply(504, f"poll of {what} still running after {wait:.1f} s\n")
        except Exception as exc:  # one bad poll must not kill the server
            log.exception("poll failed")
            return Reply(500, f"poll failed: {type(exc).__name__}: {exc}\n")
        finally:
            self.scraping -= 1
        return Reply(200, body, CONTENT_TYPE)

    def _wait_for(self, request: Request) -> float:
        """How long a scrape waits for its poll: the scraper's own timeout less a margin
        to send the answer in, never longer than the devices' poll deadline."""
        header = request.headers.get("x-prometheus-scrape-timeout-seconds")
        try:
            scraper = float(header) - SCRAPE_MARGIN if header else None
        except ValueError:
            scraper = None
        if scraper is None or scraper != scraper:  # absent or NaN
            return self.wait_seconds
        return max(0.5, min(scraper, self.wait_seconds))
