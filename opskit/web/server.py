"""Run the web pages: read the inventory's settings, check the address, serve with uvicorn
until SIGTERM or Ctrl-C.

The listening socket is bound here, before uvicorn starts, so "address in use" is a
one-line error; the server is one process (no workers, no reloader), and whatever it
started (a `git commit-graph` run) is waited for before it returns.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from opskit.errors import InputError
from opskit.web.settings import WebSettings, check_listen, load_web_settings, split_listen

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class Started:
    """Where the server listens, for the startup line (or its JSON)."""

    url: str
    host: str
    port: int
    users: int
    open: bool
    inventory: str

    def to_dict(self) -> dict[str, object]:
        """JSON shape."""
        return {
            "url": self.url,
            "listen": f"{self.host}:{self.port}",
            "users": self.users,
            "open": self.open,
            "inventory": self.inventory,
        }


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port.

    Raises:
        InputError: the address cannot be used (in use, not ours, no permission).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, _, _, _, address = infos[0]
    # proto IPPROTO_TCP (not 0): asyncio then sets TCP_NODELAY on every accepted
    # connection, so a response's headers and body go out at once (without it, Nagle and
    # delayed ACKs add 40 ms to every keep-alive request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            + (" (is another opskit web running there?)" if exc.errno == 98 else "")
        ) from None
    sock.set_inheritable(False)
    return sock


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, with a stop signal as the normal end of a run: it shuts down
        gracefully and `serve` returns (exit 0, after its own clean-up), where uvicorn
        would raise the signal again and end the process by it."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


def serve(
    inventory_path: Path,
    listen: str | None = None,
    on_start: Callable[[Started], None] | None = None,
) -> None:
    """Serve the pages of an inventory until a signal stops the server.

    Raises:
        InputError: bad settings.web, a non-loopback address without users, an
            inventory with errors, an address that cannot be used.
    """
    import uvicorn

    from opskit.inventory import load_inventory
    from opskit.web.app import create_app
    from opskit.web.service import WebService

    inventory = load_inventory(inventory_path)
    settings: WebSettings = load_web_settings(inventory)
    host, port = split_listen(listen or settings.listen)
    check_listen(host, settings)
    service = WebService(
        inventory_path,
        backup_repo=inventory.settings.backup_repo,
        state_dir=inventory.settings.state_dir,
        base_url=settings.base_url,
    )
    del inventory  # the pages read the index; the full model is not kept
    service.index.get()  # open (or build) the index now, not on the first request
    app = create_app(service, settings, host)
    sock = bind(host, port)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if settings.tls else "http"
    started = Started(
        url=f"{scheme}://{shown}:{port}/",
        host=host,
        port=port,
        users=len(settings.users),
        open=settings.open,
        inventory=str(inventory_path),
    )
    service.refresh_graph_later()
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=True,
        proxy_headers=False,  # the client address is the TCP peer (trusted_proxies decide)
        server_header=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
        ssl_certfile=str(settings.tls[0]) if settings.tls else None,
        ssl_keyfile=str(settings.tls[1]) if settings.tls else None,
    )
    server = _server_class()(config)
    if on_start is not None:
        on_start(started)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        service.join_background(timeout=35.0)
