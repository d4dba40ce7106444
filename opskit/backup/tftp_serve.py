"""`opskit backup tftp-serve`: configs the routers push on their own schedule.

Every inventory device with a backup model may upload `<dev>`, `<dev>.cfg` or
`<dev>-confg` to opskit's TFTP server (`opskit.transport.tftp`), from its own address; a
complete upload goes through the same pipeline as `backup run` (`store_fetched`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from opskit.backup.fetch_tftp import device_address, tftp_settings
from opskit.backup.service import BackupReport, ValueInspector, store_fetched
from opskit.errors import DeviceError, InputError, OpskitError
from opskit.inventory import Device, Inventory
from opskit.platforms import load_profile
from opskit.store import open_store
from opskit.transport.tftp import ReceivedFile, TftpServer, TransferRecord, check_name

log = logging.getLogger(__name__)


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
    inspector: ValueInspector | None = None,
    on_stored: Callable[[BackupReport], None] | None = None,
    on_reload: Callable[[Reload], None] | None = None,
) -> None:
    """Run a TFTP receiver until `stop` is set (or SIGTERM/SIGINT when run in the main thread).

    Every inventory device with a backup profile (or those listed in `settings.tftp.allow`)
    may push `<dev>`, `<dev>.cfg` or `<dev>-confg`, from its own address only
    (`backup.tftp_source` overrides it). A complete
    upload goes through `store_fetched` (checks, clean, scrub, commit) in one worker thread;
    anything else is refused by the server. `on_event` gets one `PushEvent` per transfer.
    On stop, transfers in flight finish (up to `drain` seconds) and stored uploads are
    committed before this returns. `inspector` sees each upload before it is scrubbed
    (`store_fetched`). `on_stored` gets each upload's outcome (stored, unchanged or
    refused by the pipeline) as a one-device `BackupReport`, in the worker thread after
    the commit: the commands send change notifications with it. With `on_reload`, SIGHUP
    reads the inventory again (off the event loop) and, when it loads, swaps the devices
    that may push (`settings.tftp.listen` and the like need a restart); a bad inventory
    leaves the old one in force. `on_reload` hears how it went (`Reload`).

    Raises:
        InputError: bad listen address.
        DeviceError: the address cannot be bound.
    """
    asyncio.run(
        _receive(
            inventory, listen, on_event, on_ready, stop, drain, inspector, on_stored, on_reload
        )
    )


@dataclass(frozen=True, slots=True)
class Reload:
    """How a SIGHUP's reload went: the new inventory and how many devices may push, or
    the one-line reason the old inventory stays."""

    inventory: Inventory | None
    devices: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON shape (without the inventory)."""
        return {"reloaded": self.error is None, "devices": self.devices, "error": self.error}


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
    inspector: ValueInspector | None = None,
    on_stored: Callable[[BackupReport], None] | None = None,
    on_reload: Callable[[Reload], None] | None = None,
    share_apply: Callable[[Callable[[Inventory], Reload]], None] | None = None,
) -> None:
    cfg = tftp_settings(inventory.settings, listen)
    _push_allow_list(inventory)  # a bad allow list stops here, before listening
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
        report: BackupReport | None = None
        try:
            started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
            current = inventory  # the one in force (a reload swaps it)
            result = store_fetched(current, device, text, method="tftp", inspector=inspector)
            commit = result.commit if result.changed else None
            root = open_store(current).root
            report = BackupReport(root, (result,), commit, result.duration, started)
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
        if on_stored is not None and report is not None:
            try:
                on_stored(report)
            except Exception:  # a notification must not stop the receiver
                log.exception("tftp-serve: after storing %s", device.name)

    def handler_for(device: Device) -> Callable[[ReceivedFile], None]:
        def handle(received: ReceivedFile) -> None:
            future = pool.submit(store, device, received)
            pending.add(future)
            future.add_done_callback(pending.discard)

        return handle

    withdraws: list[Callable[[], None]] = []

    def register(inv: Inventory) -> int:
        """Let each device of `inv` push; how many may."""
        allowed = _push_allow_list(inv)
        count = 0
        for device in inv.devices.values():
            if allowed is not None and device.name not in allowed:
                continue
            try:
                load_profile(device.platform)
            except OpskitError:
                continue  # patch panels, UPSes, servers without a profile: nothing to push
            peer = device_address(device, device.backup)
            count += 1
            for name in push_names(device):
                if check_name(name) is None:
                    withdraws.append(server.allow_uploads(name, handler_for(device), peer=peer))
        return count

    register(inventory)

    def apply(new: Inventory) -> Reload:
        """Let the devices of `new` push instead (in the loop's thread); a bad allow list
        keeps the old ones."""
        nonlocal inventory
        try:
            _push_allow_list(new)
        except OpskitError as exc:
            return Reload(None, error=str(exc))
        for withdraw in withdraws:
            withdraw()
        withdraws.clear()
        inventory = new
        return Reload(new, register(new))

    async def reload() -> None:
        assert on_reload is not None
        from opskit.inventory import load_inventory

        try:
            new = await loop.run_in_executor(None, load_inventory, inventory.path)
        except OpskitError as exc:
            on_reload(Reload(None, error=str(exc)))
            return
        on_reload(apply(new))

    reloads: set[asyncio.Task[None]] = set()

    def reload_soon() -> None:
        task = loop.create_task(reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    stop = stop or asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if on_reload is not None and share_apply is None:
            loop.add_signal_handler(signal.SIGHUP, reload_soon)
    if share_apply is not None:
        share_apply(apply)
    if on_ready is not None:
        on_ready(server.address)
    try:
        await stop.wait()
    finally:
        await server.close(drain)
        pool.shutdown(wait=True)


# `receive_pushes` as a coroutine, for a process serving TFTP beside other servers
# (`backup listen --tftp`): serve_pushes(inventory, listen, on_event, on_ready, stop, drain,
# inspector, on_stored, on_reload, share_apply). With `share_apply`, the receiver hands
# over its `apply(inventory) -> Reload` (to be called in the loop's thread) to a process
# that reads the inventory once on its own SIGHUP, instead of handling SIGHUP itself.
serve_pushes = _receive
