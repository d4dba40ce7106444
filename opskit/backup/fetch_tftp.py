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

import asyncio
import atexit
import concurrent.futures
import contextlib
import ipaddress
import logging
import re
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opskit.backup.fetch import FetchRequest
from opskit.backup.profiles import Profile, load_profile
from opskit.errors import DeviceError, DeviceTimeout, InputError, OpskitError
from opskit.inventory import Device, Inventory, Settings
from opskit.transport.cli import dialog_error, open_cli, run_dialog
from opskit.transport.tftp import (
    DEFAULT_MAX_SIZE,
    DEFAULT_TIMEOUT,
    BackgroundTftpServer,
    ReceivedFile,
    TftpError,
    TftpServer,
    TransferRecord,
    check_name,
    parse_listen,
)

log = logging.getLogger(__name__)

_NAME_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


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
        max_size=int(raw.get("max_size") or DEFAULT_MAX_SIZE),
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
    """A one-time file name for one backup job: `<device>-<random>.cfg`."""
    base = _NAME_SAFE.sub("_", device.name).lstrip(".-_") or "device"
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
    if profile.tftp_push is None:
        raise InputError(f"platform {profile.name} has no tftp_push in its profile")
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


# --- tftp-serve: configs the routers push on their own schedule --------------------------


@dataclass(frozen=True, slots=True)
class PushEvent:
    """One transfer seen by `tftp-serve`: a refused/failed transfer, or a stored upload."""

    name: str
    peer: str
    status: str  # "ok" (stored/unchanged) | "failed" (pipeline refused it) | "refused"
    device: str | None = None
    reason: str | None = None
    changed: bool = False
    commit: str | None = None
    bytes: int = 0

    def line(self) -> str:
        """One log line."""
        who = f"{self.device} " if self.device else ""
        if self.status == "ok":
            what = f"committed {self.commit[:10]}" if self.changed and self.commit else "unchanged"
            return f"{who}{self.name!r} from {self.peer}: ok, {self.bytes} bytes, {what}"
        return f"{who}{self.name!r} from {self.peer}: {self.status}: {self.reason}"


def push_names(device: Device) -> tuple[str, ...]:
    """The file names a device may push under: `<dev>`, `<dev>.cfg`, `<dev>-confg`.

    >>> push_names(Device(name="core-r1", site="s", host=None, platform="cisco_ios"))
    ('core-r1', 'core-r1.cfg', 'core-r1-confg')
    """
    return (device.name, f"{device.name}.cfg", f"{device.name}-confg")


def receive_pushes(
    inventory: Inventory,
    *,
    listen: str | None = None,
    on_event: Callable[[PushEvent], None] | None = None,
    on_ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
    drain: float = 30.0,
) -> None:
    """Run a TFTP receiver until `stop` is set (or SIGTERM/SIGINT when run in the main thread).

    Every inventory device with a backup profile (or those listed in `settings.tftp.allow`)
    may push `<dev>`, `<dev>.cfg` or `<dev>-confg`, from its own address only
    (`backup.tftp_source` overrides it). A complete
    upload goes through `store_fetched` (checks, clean, scrub, commit) in one worker thread;
    anything else is refused by the server. `on_event` gets one `PushEvent` per transfer.
    On stop, transfers in flight finish (up to `drain` seconds) and stored uploads are
    committed before this returns.

    Raises:
        InputError: bad listen address.
        DeviceError: the address cannot be bound.
    """
    asyncio.run(_receive(inventory, listen, on_event, on_ready, stop, drain))


def _push_allow_list(inventory: Inventory) -> set[str] | None:
    """`settings.tftp.allow`: the devices that may push (default: every device)."""
    raw = (inventory.settings.raw.get("tftp") or {}).get("allow")
    if raw is None:
        return None
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError("settings.tftp.allow must be a list of device names")
    unknown = [n for n in names if n not in inventory.devices]
    if unknown:
        raise InputError(f"settings.tftp.allow names unknown device(s): {', '.join(unknown)}")
    return set(names)


async def _receive(
    inventory: Inventory,
    listen: str | None,
    on_event: Callable[[PushEvent], None] | None,
    on_ready: Callable[[str], None] | None,
    stop: asyncio.Event | None,
    drain: float,
) -> None:
    from opskit.backup.service import store_fetched  # the service imports the fetchers

    cfg = tftp_settings(inventory.settings, listen)
    allowed = _push_allow_list(inventory)
    loop = asyncio.get_running_loop()
    emit = on_event or (lambda _e: None)

    def record(rec: TransferRecord) -> None:
        if rec.status != "ok" or rec.direction != "write":
            emit(PushEvent(rec.name, rec.peer, rec.status, reason=rec.reason))

    server = TftpServer(
        cfg.root,
        cfg.host,
        cfg.port,
        max_size=cfg.max_size,
        timeout=cfg.timeout,
        on_transfer=record,
    )
    try:
        await server.start()
    except OSError as exc:
        raise DeviceError(
            f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}"
            " (port 69 needs root; another TFTP server may hold it)"
        ) from None
    # Git writes happen one at a time, off the event loop.
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tftp-store")
    pending: set[concurrent.futures.Future[None]] = set()

    def store(device: Device, received: ReceivedFile) -> None:
        try:
            text = received.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n")
        finally:
            received.discard()
        try:
            result = store_fetched(inventory, device, text, method="tftp")
            event = PushEvent(
                received.name,
                received.peer,
                result.status,
                device.name,
                result.reason,
                result.changed,
                result.commit,
                received.size,
            )
        except OpskitError as exc:
            event = PushEvent(received.name, received.peer, "failed", device.name, str(exc))
        emit(event)

    def handler_for(device: Device) -> Callable[[ReceivedFile], None]:
        def handle(received: ReceivedFile) -> None:
            future = pool.submit(store, device, received)
            pending.add(future)
            future.add_done_callback(pending.discard)

        return handle

    for device in inventory.devices.values():
        if allowed is not None and device.name not in allowed:
            continue
        try:
            load_profile(device.platform)
        except OpskitError:
            continue  # patch panels, UPSes, servers without a profile: nothing to push
        peer = device_address(device, device.backup)
        for name in push_names(device):
            if check_name(name) is None:
                server.allow_uploads(name, handler_for(device), peer=peer)
    stop = stop or asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready(server.address)
    try:
        await stop.wait()
    finally:
        await server.close(drain)
        pool.shutdown(wait=True)


# `receive_pushes` as a coroutine, for a process serving TFTP beside other servers
# (`backup listen --tftp`): serve_pushes(inventory, listen, on_event, on_ready, stop, drain)
serve_pushes = _receive
