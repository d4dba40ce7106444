"""Fixtures: the scriptable IOS-like test device (opskit.lab.testdevice) on loopback.

`test_device` starts one device (SSH + Telnet) whose behaviour tests switch with
`dev.set_mode("drop")` (a control file the device re-reads per login and command);
`test_device_factory(legacy=True, ...)` starts more (e.g. a legacy-algorithms SSH one).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from opskit.lab import Peer, free_port, wait_until
from opskit.lab.testdevice import (
    CANNED_SECRETS,
    DEFAULT_ENABLE,
    DEFAULT_PASSWORD,
    DEFAULT_USER,
)


@dataclass
class TestDevice:
    """A running test device: ports, credentials, and its control file."""

    __test__ = False  # not a test class

    hostname: str
    ssh_port: int
    telnet_port: int
    control: Path
    peer: Peer
    username: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    enable_secret: str = DEFAULT_ENABLE
    secrets: tuple[str, ...] = field(default=CANNED_SECRETS)
    auth_log: Path | None = None

    def host_key(self) -> tuple[str, str]:
        """The SSH host key as the device printed it: (`TYPE BASE64`, `SHA256:...`)."""
        for line in self.peer.log_text().splitlines():
            if line.startswith("HOSTKEY "):
                _, key_type, blob, fp = line.split()
                return f"{key_type} {blob}", fp
        raise AssertionError("the test device printed no HOSTKEY line")

    def secrets_received(self) -> list[str]:
        """The lines of the auth log: one per password or enable secret received."""
        if self.auth_log is None or not self.auth_log.exists():
            return []
        return self.auth_log.read_text().splitlines()

    def set_mode(self, mode: str = "ok", **extra: Any) -> None:
        """Switch behaviour (`ok`, `drop`, `hang`, ...) for the next logins/commands."""
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(json.dumps({"mode": mode, **extra}))
        os.replace(tmp, self.control)


@pytest.fixture
def test_device_factory(tmp_path: Path) -> Iterator[Callable[..., TestDevice]]:
    """Factory: `test_device_factory(mode="ok", hostname="core-r1", legacy=False,
    linux_root=None, ports=None, log_lines=False)` (`linux_root`: answer like a Linux
    server, files from that dir; `ports`: (ssh, telnet) of a device stopped before, to come
    back there with a new SSH host key; `log_lines`: the device logs every line it is sent,
    secrets masked). Every device logs the secrets it receives (`secrets_received`)."""
    started: list[TestDevice] = []

    def start(
        mode: str = "ok",
        hostname: str = "core-r1",
        legacy: bool = False,
        linux_root: Path | None = None,
        ports: tuple[int, int] | None = None,
        log_lines: bool = False,
    ) -> TestDevice:
        n = len(started)
        ssh, telnet = ports or (free_port(), free_port())
        control = tmp_path / f"testdevice-{n}.json"
        log = tmp_path / f"testdevice-{n}.log"
        auth_log = tmp_path / f"testdevice-{n}.auth"
        argv = [
            sys.executable,
            "-m",
            "opskit.lab.testdevice",
            "--ssh-port",
            str(ssh),
            "--telnet-port",
            str(telnet),
            "--hostname",
            hostname,
            "--control",
            str(control),
            "--auth-log",
            str(auth_log),
        ]
        if legacy:
            argv.append("--legacy")
        if linux_root is not None:
            argv += ["--shell", "linux", "--root", str(linux_root)]
        if log_lines:
            argv.append("--log-lines")
        peer = Peer(argv, log)
        dev = TestDevice(hostname, ssh, telnet, control, peer, auth_log=auth_log)
        dev.set_mode(mode)
        started.append(dev)
        wait_until(lambda: "READY" in peer.log_text() or not peer.alive(), what="test device")
        if not peer.alive():
            pytest.fail(f"test device exited: {peer.log_text()[-400:]}")
        return dev

    yield start
    for dev in started:
        dev.peer.stop()


@pytest.fixture
def test_device(test_device_factory: Callable[..., TestDevice]) -> TestDevice:
    """One test device `core-r1` in mode `ok`."""
    return test_device_factory()
