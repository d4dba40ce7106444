"""The web tests' server: `opskit web` as a real process on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opskit.lab import Peer, free_port, wait_until
from tests.web.shop import Shop, make_shop


@dataclass
class Server:
    """A running `opskit web` and its shop."""

    url: str
    shop: Shop
    peer: Peer

    def log(self) -> str:
        """What the server printed (stderr and stdout)."""
        return self.peer.log_text()


def _ready(url: str) -> bool:
    with urllib.request.urlopen(url + "static/opskit.css", timeout=2) as resp:
        return bool(resp.status == 200)


def start_server(shop: Shop, port: int, log: Path, *args: str) -> Server:
    """Start `opskit -i INV web --listen 127.0.0.1:PORT` and wait until it answers."""
    argv = [sys.executable, "-m", "opskit", "-v", "-i", str(shop.inventory), "web",
            "--listen", f"127.0.0.1:{port}", *args]  # fmt: skip
    env = {**shop.env(), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    peer = Peer(argv, log, env=env, cwd=shop.directory)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: _ready(url), timeout=30, what="opskit web")
    except TimeoutError:
        peer.stop()
        raise AssertionError(f"opskit web did not start:\n{peer.log_text()[-3000:]}") from None
    return Server(url, shop, peer)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shop with users (admin ada, technician tom), served."""
    where = tmp_path_factory.mktemp("web")
    port = free_port()
    shop = make_shop(where / "shop", f"http://127.0.0.1:{port}")
    server = start_server(shop, port, where / "web.log")
    yield server
    server.peer.stop()


@pytest.fixture(scope="module")
def open_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shop without users (open pages, loopback only), served."""
    where = tmp_path_factory.mktemp("open-web")
    port = free_port()
    shop = make_shop(where / "shop", f"http://127.0.0.1:{port}", users=False)
    server = start_server(shop, port, where / "web.log")
    yield server
    server.peer.stop()
