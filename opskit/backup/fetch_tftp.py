"""The `tftp` fetch method: the runbook's `copy running-config tftp:` done by opskit.

`backup: {method: tftp, via: telnet|ssh, ping: true}`: log in over Telnet or SSH (netmiko),
optionally check that the router can ping the TFTP server, send the profile's `tftp_push`
command, answer its host and file name questions, and wait until opskit's own TFTP server
(`opskit.transport.tftp`) has the whole upload under a one-time name, from the device's
address only (`opskit.transport.tftp`). The text goes back to the shared pipeline
(checks, clean, scrub, git).

Settings (`settings.tftp`): `listen` (where the server binds, `ADDR:PORT`), `address`
(what the router is told; defaults to the listen address when that is not a wildcard),
`root` (staging directory; default `<state_dir>/tftp`), `max_size` (bytes), `timeout`
(seconds per packet). One server serves the whole process (every device of a `backup
run`); it starts on first use and stops at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opskit.backup.fetch import FetchRequest
from opskit.errors import DeviceError, DeviceTimeout, InputError
from opskit.inventory import Device, Settings
from opskit.platforms import Profile, not_supported
from opskit.transport.cli import dialog_error, open_cli, run_dialog
from opskit.transport.tftp import (
    DEFAULT_MAX_SIZE,
    DEFAULT_TIMEOUT,
    BackgroundTftpServer,
    ReceivedFile,
    TftpError,
    parse_listen,
)

log = logging.getLogger(__name__)

_NAME_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_DOTS = re.compile(r"\.{2,}")


@dataclass(frozen=True, slots=True)
class TftpSettings:
    """`settings.tftp` resolved: where the server binds and what the router is told."""

    host: str
    port: int
    address: str
    root: Path
    max_size: int = DEFAULT_MAX_SIZE
    timeout: float = DEFAULT_TIMEOUT


def tftp_settings(settings: Settings, listen: str | None = None) -> TftpSettings:
    """Resolve `settings.tftp` (and an optional `--listen` override).

    Raises:
        InputError: a bad listen address, or no address to tell the router.
    """
    raw = settings.raw.get("tftp") or {}
    try:
        host, port = parse_listen(listen or settings.tftp_listen)
    except ValueError as exc:
        raise InputError(f"settings.tftp.listen: {exc}") from None
    address = settings.tftp_address or raw.get("address")
    if not address:
        if ipaddress.ip_address(host).is_unspecified:
            raise InputError(
                "settings.tftp.address is required when the server listens on a wildcard "
                f"address ({host}): it is the address the routers are told"
            )
        address = host
    root = Path(raw["root"]) if raw.get("root") else settings.state_dir / "tftp"
    if not root.is_absolute():
        root = settings.base_dir / root
    return TftpSettings(
        host=host,
        port=port,
        address=str(address),
        root=root,
        # the TFTP server's own cap, else the one every fetched config has
        max_size=int(raw.get("max_size") or settings.max_config_size or DEFAULT_MAX_SIZE),
        timeout=float(raw.get("timeout") or DEFAULT_TIMEOUT),
    )


_servers: dict[tuple[str, int, str], BackgroundTftpServer] = {}
_servers_lock = threading.Lock()


def shared_server(cfg: TftpSettings) -> BackgroundTftpServer:
    """The process's TFTP server for these settings, started on first use.

    Raises:
        DeviceError: the listen address cannot be bound (in use: is `opskit backup
            tftp-serve` running there?, or port 69 without root).
    """
    key = (cfg.host, cfg.port, str(cfg.root))
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = BackgroundTftpServer(
                cfg.root, cfg.host, cfg.port, max_size=cfg.max_size, timeout=cfg.timeout
            )
            try:
                server.start()
            except OSError as exc:
                server.close(drain=0)
                raise DeviceError(
                    f"cannot start the TFTP server on {cfg.host}:{cfg.port}: {exc.strerror or exc}"
                    " (is `opskit backup tftp-serve` running there? port 69 needs root)"
                ) from None
            _servers[key] = server
            if len(_servers) == 1:
                atexit.register(close_shared_servers)
        return server


def close_shared_servers() -> None:
    """Stop every server `shared_server` started (finishing transfers in flight)."""
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.close(drain=5)


def upload_name(device: Device) -> str:
    """A one-time file name for one backup job: `<device>-<random>.cfg`.

    >>> from opskit.transport.tftp import check_name
    >>> check_name(upload_name(Device(name="branch r1/..", site="s", host=None,
    ...                               platform="cisco_ios"))) is None
    True
    """
    # plain characters, no `..` (a name like `branch r1/..` must not make the server
    # refuse its own upload); the random part keeps names apart
    base = _DOTS.sub("_", _NAME_SAFE.sub("_", device.name)).lstrip(".-_") or "device"
    return f"{base[:60]}-{secrets.token_hex(6)}.cfg"


def device_address(device: Device, options: Mapping[str, Any] | None) -> str | None:
    """The address the device's TFTP packets come from, or None to accept any.

    `backup.tftp_source` overrides it (a router behind NAT, or one that sources TFTP from
    another interface); `tftp_source: any` turns the check off. Otherwise the device's
    `host`, resolved when it is a name.
    """
    source = (options or {}).get("tftp_source")
    if source is not None:
        return None if str(source).lower() in ("any", "") else str(source)
    if not device.host:
        return None
    try:
        ipaddress.ip_address(device.host)
        return device.host
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(device.host, None, type=socket.SOCK_DGRAM)[0][4][0])
    except OSError:
        return None


def preflight_ping(conn: Any, profile: Profile, address: str, timeout: float) -> None:
    """The runbook's `ping <tftp server>` from the router.

    Raises:
        DeviceError: the router cannot reach the TFTP server.
    """
    if profile.ping is None:
        raise InputError(f"platform {profile.name} has no ping command in its profile")
    output = run_dialog(conn, profile.ping, address, "", timeout)
    if profile.ping.success and not re.search(profile.ping.success, output):
        lines = [ln.strip() for ln in output.replace("\r", "\n").split("\n") if ln.strip()]
        last = lines[-1][:120] if lines else ""
        raise DeviceError(
            f"preflight failed: the router cannot ping the TFTP server {address}"
            f" ({last!r}); check its route/ACL to {address}"
        )


def fetch_tftp(request: FetchRequest) -> str:
    """Fetch a config by having the device push it to opskit's TFTP server.

    Raises:
        DeviceError: login, preflight, the device's copy or the upload failed.
        DeviceTimeout: the upload did not arrive within the device's timeout.
    """
    device, profile, options = request.device, request.profile, request.options or {}
    refused = not_supported(profile, "tftp_push")
    if refused or profile.tftp_push is None:
        raise InputError(refused or "no tftp_push")
    cfg = tftp_settings(request.settings)
    server = shared_server(cfg)
    name = upload_name(device)
    peer = device_address(device, options)
    deadline = time.monotonic() + request.timeout
    upload = server.expect_upload(name, peer=peer, max_size=cfg.max_size)
    received: ReceivedFile | None = None
    try:
        with open_cli(request.target) as conn:
            if options.get("ping"):
                preflight_ping(conn, profile, cfg.address, 30.0)
            remaining = max(deadline - time.monotonic(), 5.0)
            output = run_dialog(conn, profile.tftp_push, cfg.address, name, remaining)
        error = dialog_error(profile.tftp_push, output)
        # The device's copy may report success before our server saw the last ACK go out,
        # or fail after a partial upload: its own word decides only when it names an error.
        try:
            received = upload.result(
                timeout=2.0 if error else max(deadline - time.monotonic(), 1.0)
            )
        except TimeoutError:
            if error:
                raise DeviceError(f"copy to tftp failed: {error}") from None
            raise DeviceTimeout(
                f"no TFTP upload of {name} reached {cfg.address}:{cfg.port}"
                f" within {request.timeout:.0f}s"
            ) from None
        except TftpError as exc:
            raise DeviceError(str(exc)) from None
    finally:
        # Withdraw the one-time name; an upload that landed after we gave up is dropped.
        if not upload.cancel() and received is None:
            with contextlib.suppress(Exception):
                upload.result(0).discard()
    try:
        data = received.read_bytes()
    finally:
        received.discard()
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n")
