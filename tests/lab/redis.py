"""Fixture: Debian's redis-server on a free loopback port, nothing saved to disk."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opskit.lab import Peer, free_port, wait_until


@dataclass(frozen=True)
class RedisServer:
    """A running redis-server: its port and `redis://` URL."""

    port: int
    peer: Peer

    @property
    def url(self) -> str:
        """`redis://127.0.0.1:PORT/0`."""
        return f"redis://127.0.0.1:{self.port}/0"


def _pong(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"PING\r\n")
        return s.recv(64).startswith(b"+PONG")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """`redis-server --port P --bind 127.0.0.1 --save "" --appendonly no` in the foreground."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (bash install.sh --test installs it)")
    port = free_port()
    peer = Peer(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        tmp_path / "redis.log",
    )  # fmt: skip
    try:
        wait_until(lambda: _pong(port), timeout=15, what="redis-server")
        yield RedisServer(port, peer)
    finally:
        peer.stop()
