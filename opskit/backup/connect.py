"""`open_cli(inventory, device)`: a logged-in netmiko connection for other capabilities.

Used by firmware (`show version`) and restore. Same login, timeouts, legacy SSH settings
and one-line errors as the backup fetch; enable mode is entered when the platform's profile
says so (or always with `enable=True`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from opskit.inventory import Device, Inventory


@contextlib.contextmanager
def open_cli(
    inventory: Inventory,
    device: Device,
    *,
    method: str | None = None,
    timeout: float | None = None,
    enable: bool | None = None,
) -> Iterator[Any]:
    """Yield a logged-in netmiko connection to `device` (enable done); closed on exit.

    `method` is `ssh` or `telnet` (default: the device's backup method, telnet for
    `*_telnet` platforms, else ssh). `timeout` bounds the whole session (default:
    connect + command timeouts from settings); when it passes the connection is closed.

    Raises:
        DeviceError / DeviceTimeout: login failed (one line, no secret in it).
        InputError: no host, unknown platform, missing credentials.
    """
    from opskit.backup.fetch import fetch_method
    from opskit.backup.fetch_ssh import connect
    from opskit.backup.profiles import load_profile
    from opskit.backup.service import device_credentials

    profile = load_profile(device.platform)
    chosen = method or fetch_method(device)
    if chosen not in ("ssh", "telnet"):
        chosen = "telnet" if device.platform.endswith("_telnet") else "ssh"
    s = inventory.settings
    with connect(
        device,
        device_credentials(inventory, device),
        profile,
        s,
        method=chosen,
        timeout=timeout or (s.connect_timeout + s.command_timeout),
        enable=enable,
    ) as (conn, _watchdog):
        yield conn
