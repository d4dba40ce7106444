"""Fixture: the NetBox / LibreNMS API of `opskit.lab.netbox`, started on loopback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opskit.lab import Peer, free_port, wait_until

NETBOX_TOKEN = "0123456789abcdef-not-a-real-token"
LIBRENMS_TOKEN = "librenms-not-a-real-token"
SHOP = Path(__file__).resolve().parents[1] / "interop" / "data" / "netbox" / "shop.json"


@pytest.fixture
def netbox_api(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start a NetBox API: `start(version="4.5", *extra_args) -> base URL`."""
    peers: list[Peer] = []

    def start(version: str = "4.5", *extra: str, shop: Path = SHOP) -> str:
        port = free_port()
        log = tmp_path / f"netbox-{port}.log"
        peer = Peer(
            [
                sys.executable,
                "-m",
                "opskit.lab.netbox",
                "--port",
                str(port),
                "--shop",
                str(shop),
                "--version",
                version,
                "--token",
                NETBOX_TOKEN,
                "--librenms-token",
                LIBRENMS_TOKEN,
                *extra,
            ],
            log,
        )
        peers.append(peer)
        wait_until(lambda: "READY" in peer.log_text(), timeout=60, what="NetBox API")
        return f"http://127.0.0.1:{port}"

    yield start
    for peer in peers:
        peer.stop()
