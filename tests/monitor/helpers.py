"""Inventories for monitor tests: devices pointing at the lab SNMP agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opskit.lab import Peer, free_port
from opskit.lab.snmp import V3_AUTH, V3_PRIV, V3_USER

SECRETS = (V3_AUTH, V3_PRIV)


def write_inventory(
    directory: Path,
    devices: dict[str, dict[str, Any]],
    *,
    communities: tuple[str, ...] = (),
    settings: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write inventory.yaml (JSON is YAML) with one credential set per community
    (named like the community) and the lab v3 user as `v3` (and `v3-wrong`)."""
    creds: dict[str, Any] = {c: {"community": c} for c in communities}
    creds["v3"] = {
        "username": V3_USER,
        "auth_password": V3_AUTH,
        "priv_password": V3_PRIV,
        "auth_protocol": "sha",
        "priv_protocol": "aes",
    }
    creds["v3-wrong"] = {**creds["v3"], "auth_password": "not-the-password-1"}
    creds["public"] = {"community": "public"}
    doc: dict[str, Any] = {
        "settings": {"state_dir": "state", **(settings or {})},
        "credentials": creds,
        "sites": {"hq": {}, "branch": {}},
        "devices": {
            name: {"site": "hq", "platform": "cisco_ios", **d} for name, d in devices.items()
        },
        **(extra or {}),
    }
    path = directory / "inventory.yaml"
    path.write_text(json.dumps(doc, indent=1))
    return path


def snmp_device(community: str, port: int, **snmp: Any) -> dict[str, Any]:
    """A device entry polled over v2c on the lab agent."""
    return {
        "host": "127.0.0.1",
        "snmp": {"credentials": community, "port": port, "timeout": 2, "retries": 1, **snmp},
    }


def start_prometheus(binary: str, directory: Path, config: str) -> tuple[Peer, int]:
    """A real Prometheus with `config` (its prometheus.yml text) on a free port."""
    port = free_port()
    path = directory / "prometheus.yml"
    path.write_text(config)
    peer = Peer(
        [binary, f"--config.file={path}", f"--storage.tsdb.path={directory / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        directory / "prometheus.log",
    )  # fmt: skip
    return peer, port


class UdpGate:
    """A UDP relay in front of a real agent that holds every request until `open()`:
    the test sees which requests a client sent at once, then lets them through.

    One client (the server's one SNMP socket); answers go back to where the last request
    came from. Started by `start()`, stopped by `stop()`; `held` counts held requests.
    """

    def __init__(self, agent_port: int) -> None:
        import socket
        import threading

        self.agent = ("127.0.0.1", agent_port)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.client: tuple[str, int] | None = None
        self.queue: list[bytes] = []
        self.held = 0
        self.closed = True
        self._lock = threading.Lock()
        self._running = True
        self._threads = [
            threading.Thread(target=self._pump_front, daemon=True),
            threading.Thread(target=self._pump_back, daemon=True),
        ]

    def start(self) -> UdpGate:
        for t in self._threads:
            t.start()
        return self

    def open(self) -> None:
        """Let the held requests through, and every later one."""
        with self._lock:
            self.closed = False
            queue, self.queue = self.queue, []
        for data in queue:
            self.back.sendto(data, self.agent)

    def stop(self) -> None:
        self._running = False
        self.front.close()
        self.back.close()
        for t in self._threads:
            t.join(2)

    def _pump_front(self) -> None:
        self.front.settimeout(0.1)
        while self._running:
            try:
                data, addr = self.front.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.client = addr
                if self.closed:
                    self.queue.append(data)
                    self.held += 1
                    continue
            self.back.sendto(data, self.agent)

    def _pump_back(self) -> None:
        self.back.settimeout(0.1)
        while self._running:
            try:
                data, _addr = self.back.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if self.client is not None:
                self.front.sendto(data, self.client)
