"""What a fetcher gets (`FetchRequest`), and which method fetches a device.

A fetcher takes a `FetchRequest` and returns the raw text the device printed (the pipeline
then checks, cleans, scrubs and stores it), or raises `DeviceError` with a one-line reason
that names no secret. The fetchers by method name are in `opskit.backup.fetchers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opskit.errors import InputError
from opskit.inventory import Device, Inventory, Settings
from opskit.platforms import Profile
from opskit.targets import CLI_METHODS, cli_target

if TYPE_CHECKING:
    from opskit.transport.cli import CliTarget


@dataclass(frozen=True)
class FetchRequest:
    """Everything a fetcher needs for one device.

    `target` is the CLI session (for `tftp`, the one the copy command is sent over);
    `options` the device's merged `backup:` section (method, files, ...); `timeout` the
    seconds this fetch may take (the runner's deadline; the session enforces it);
    `inventory` the whole inventory, for fetchers that need more. Credentials stay
    `Secret`s inside the target until the login.
    """

    device: Device
    profile: Profile
    target: CliTarget
    settings: Settings
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 120.0
    method: str = "ssh"
    inventory: Inventory | None = field(default=None, repr=False)


def fetch_method(device: Device) -> str:
    """The method a device is backed up with: `backup.method`, else telnet for `*_telnet`
    platforms, else ssh."""
    method = device.backup.get("method") if device.backup else None
    if method:
        return str(method)
    return "telnet" if device.platform.endswith("_telnet") else "ssh"


def session_method(device: Device, method: str) -> str:
    """The CLI method a fetch by `method` logs in with: itself for ssh/telnet, else
    `backup.via` (telnet by default: the runbook's `copy running-config tftp:`).

    Raises:
        InputError: a `via` that is not ssh or telnet.
    """
    if method in CLI_METHODS:
        return method
    via = str((device.backup or {}).get("via") or "telnet")
    if via not in CLI_METHODS:
        raise InputError(f"backup.via must be ssh or telnet, not {via!r}")
    return via


def fetch_request(
    inventory: Inventory,
    device: Device,
    profile: Profile,
    *,
    timeout: float,
    method: str | None = None,
    session: str | None = None,
) -> FetchRequest:
    """The request for one device's fetch (`method` defaults to `fetch_method`; `session`
    overrides the CLI method the fetch logs in with).

    Raises:
        InputError: a bad `backup.via`, `ssh:` section or credential set.
    """
    chosen = method or fetch_method(device)
    target = cli_target(
        inventory, device, method=session or session_method(device, chosen), timeout=timeout
    )
    return FetchRequest(
        device=device,
        profile=profile,
        target=target,
        settings=inventory.settings,
        options=dict(device.backup or {}),
        timeout=timeout,
        method=chosen,
        inventory=inventory,
    )
