"""`opskit backup listen`: back a device up when its own syslog says its config changed.

Messages arrive over UDP (and TCP, optional: newline or octet-counted frames, RFC 6587)
into a bounded queue; a full queue drops and counts. Each message is parsed
(`opskit.notify.syslog`), its device found by source address, else by HOSTNAME, and
checked against that platform's "configured" messages. A device is backed up once it has
been quiet for `quiet` seconds (ten quick edits make one backup), but no later than
`max_delay` after its first message. Backups run one batch at a time in a worker thread,
through the `backup` callable the caller gives (the listener knows nothing of git).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opskit.errors import DeviceError, InputError, OpskitError
from opskit.inventory import settings_section
from opskit.notify.config import parse_duration
from opskit.notify.syslog import DeviceFinder, load_patterns, match_change, parse_syslog

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory

log = logging.getLogger(__name__)

DEFAULT_SYSLOG = "0.0.0.0:514"
DEFAULT_QUIET = 30.0
DEFAULT_QUEUE = 10_000
MAX_TCP_FRAME = 65_536
RECEIVE_BUFFER = 4 * 2**20  # bytes asked for; the kernel caps it (net.core.rmem_max)
LISTEN_KEYS = ("syslog", "tcp", "quiet", "max_delay", "queue")

BackupFn = Callable[[list[Any], dict[str, str]], Mapping[str, Any]]
# On SIGHUP: read the inventory again and return the devices to listen for (raising an
# OpskitError keeps the old ones).
ReloadFn = Callable[[], Awaitable[Sequence["Device"]]]


@dataclass(frozen=True, slots=True)
class ListenSettings:
    """Where and how to listen (`settings.listen`, overridden by the command line)."""

    host: str
    port: int
    tcp: bool = False
    quiet: float = DEFAULT_QUIET
    max_delay: float = 10 * DEFAULT_QUIET
    queue: int = DEFAULT_QUEUE


def split_address(value: str, what: str) -> tuple[str, int]:
    """`HOST:PORT` (`[v6]:PORT`) as a pair.

    Raises:
        InputError: not HOST:PORT with a port 0-65535.
    """
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InputError(f"{what} '{value}' is not HOST:PORT")
    return host, int(port)


def listen_settings(
    inventory: Inventory,
    *,
    syslog: str | None = None,
    quiet: float | None = None,
    tcp: bool | None = None,
) -> ListenSettings:
    """`settings.listen` of the inventory, with the command line's values on top.

    Raises:
        InputError: an unknown key or a bad value (named as settings.listen.KEY).
    """
    raw, where = settings_section(inventory, "listen", LISTEN_KEYS)
    address = syslog or str(raw.get("syslog") or DEFAULT_SYSLOG)
    host, port = split_address(address, "--syslog" if syslog else f"{where}.syslog")
    quiet_s = quiet if quiet is not None else parse_duration(raw.get("quiet", DEFAULT_QUIET))
    if quiet_s is None or quiet_s < 0:
        raise InputError(f"{where}.quiet must be a duration (30s)")
    max_delay = parse_duration(raw.get("max_delay", max(10 * quiet_s, 1.0)))
    if max_delay is None or max_delay < quiet_s:
        raise InputError(f"{where}.max_delay must be a duration no shorter than quiet")
    size = raw.get("queue", DEFAULT_QUEUE)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InputError(f"{where}.queue must be a positive number of messages")
    use_tcp = bool(raw.get("tcp", False)) if tcp is None else tcp
    return ListenSettings(host, port, use_tcp, quiet_s, max_delay, size)


@dataclass
class ListenStats:
    """Counters: what arrived and what came of it."""

    received: int = 0
    config_changes: int = 0
    other_messages: int = 0
    unknown_source: int = 0
    not_syslog: int = 0
    queue_full: int = 0
    backups: int = 0
    backup_errors: int = 0

    def to_dict(self) -> dict[str, int]:
        """JSON shape."""
        return dict(self.__dict__)


@dataclass(frozen=True, slots=True)
class ListenEvent:
    """Something worth a line: a change seen, a backup done, an unknown sender (first time)."""

    kind: str  # "change" | "backup" | "unknown" | "error" | "reload"
    devices: tuple[str, ...] = ()
    source: str = ""
    changed_by: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""

    def line(self) -> str:
        """One human line."""
        names = ", ".join(self.devices)
        if self.kind == "change":
            who = f" by {self.changed_by}" if self.changed_by else ""
            return f"{names}: config changed{who} (syslog from {self.source}); {self.message}"
        if self.kind == "unknown":
            return f"syslog from {self.source}: {self.message}"
        if self.kind == "backup":
            return f"backup of {names}: {self.message}"
        if self.kind == "reload":
            return f"listen: {self.message}"
        return f"{names or 'listen'}: {self.message}"


@dataclass
class _Pending:
    first: float
    last: float
    changed_by: str | None = None


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[tuple[bytes, str]], stats: ListenStats) -> None:
        self.queue = queue
        self.stats = stats

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.stats.received += 1
        try:
            self.queue.put_nowait((data, str(addr[0])))
        except asyncio.QueueFull:
            self.stats.queue_full += 1


class Listener:
    """The running listener: receive, match, wait for quiet, back up."""

    def __init__(
        self,
        devices: Sequence[Device],
        settings: ListenSettings,
        backup: BackupFn,
        on_event: Callable[[ListenEvent], None] | None = None,
    ) -> None:
        self.settings = settings
        self.backup = backup
        self.emit = on_event or (lambda _e: None)
        self.finder = DeviceFinder(devices)
        self.patterns = load_patterns()
        self.stats = ListenStats()
        self.pending: dict[str, _Pending] = {}
        self.devices = {d.name: d for d in devices}
        self.queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue(settings.queue)
        self.wake = asyncio.Event()
        self.unknown_seen: set[str] = set()
        self.tcp_clients: set[asyncio.Task[None]] = set()
        self.reloading = asyncio.Lock()  # one SIGHUP's reload at a time, in order

    def replace_devices(self, devices: Sequence[Device]) -> list[str]:
        """Listen for `devices` from now on; the names of pending devices that are gone
        (their backups are dropped: they are no longer in the inventory)."""
        self.finder = DeviceFinder(devices)
        self.devices = {d.name: d for d in devices}
        gone = [name for name in self.pending if name not in self.devices]
        for name in gone:
            del self.pending[name]
        self.unknown_seen.clear()  # a stranger may be a device now, or stop being one
        return gone

    async def reload(self, load: ReloadFn) -> None:
        """Swap in the devices `load` returns; emit a "reload" event either way."""
        async with self.reloading:
            try:
                devices = await load()
            except OpskitError as exc:
                detail = {"reloaded": False, "devices": len(self.devices), "error": str(exc)}
                message = f"inventory not reloaded (the old one stays): {exc}"
                self.emit(ListenEvent("reload", detail=detail, message=message))
                return
            gone = self.replace_devices(devices)
            message = f"inventory reloaded: {len(devices)} devices"
            if gone:
                message += f"; pending backups dropped (no longer in it): {', '.join(gone)}"
            detail = {"reloaded": True, "devices": len(devices), "error": None}
            self.emit(ListenEvent("reload", tuple(gone), detail=detail, message=message))

    # --- receiving ----------------------------------------------------------------------
    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str((writer.get_extra_info("peername") or ("?",))[0])
        try:
            while True:
                first = await reader.read(1)
                if not first:
                    break
                if first.isdigit():  # octet counting: "LEN SP MSG"
                    digits = first + await reader.readuntil(b" ")
                    size = int(digits[:-1])
                    if size > MAX_TCP_FRAME:
                        break
                    frame = await reader.readexactly(size)
                else:
                    frame = first + await reader.readuntil(b"\n")
                self.stats.received += 1
                try:
                    self.queue.put_nowait((frame, peer))
                except asyncio.QueueFull:
                    self.stats.queue_full += 1
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
            pass
        finally:
            writer.close()

    async def _consume(self) -> None:
        while True:
            data, source = await self.queue.get()
            now = time.monotonic()
            self.handle(data, source, now)
            # a burst is handled in one go (up to 500), not one event-loop turn per message
            for _ in range(min(self.queue.qsize(), 500)):
                data, source = self.queue.get_nowait()
                self.handle(data, source, now)

    def handle(self, data: bytes, source: str, now: float) -> None:
        """Look at one message (from `source`) received at `now` (monotonic)."""
        msg = parse_syslog(data)
        if msg is None:
            self.stats.not_syslog += 1
            return
        if self.patterns.anything.search(msg.text) is None:
            self.stats.other_messages += 1  # the common case, ruled out by one search
            return
        device = self.finder.find(source, msg.hostname)
        if device is None:
            self.stats.unknown_source += 1
            key = f"{source}/{msg.hostname}"
            if key not in self.unknown_seen and len(self.unknown_seen) < 1000:
                self.unknown_seen.add(key)
                self.emit(
                    ListenEvent(
                        "unknown",
                        source=source,
                        message=f"no inventory device at this address or named "
                        f"'{msg.hostname or '-'}'; dropped (told once)",
                    )
                )
            return
        change = match_change(msg.text, self.patterns.for_platform(device.platform))
        if change is None:
            self.stats.other_messages += 1
            return
        self.stats.config_changes += 1
        entry = self.pending.get(device.name)
        if entry is None:
            entry = self.pending[device.name] = _Pending(first=now, last=now)
            # only a new device can make the earliest due time earlier: wake the scheduler
            # then, not for every message (it scans the pending devices)
            self.wake.set()
        entry.last = now
        entry.changed_by = change.changed_by() or entry.changed_by
        due = min(entry.last + self.settings.quiet, entry.first + self.settings.max_delay)
        self.emit(
            ListenEvent(
                "change",
                (device.name,),
                source=source,
                changed_by=change.changed_by(),
                message=f"backup in {max(0.0, due - now):.0f} s unless it changes again",
            )
        )

    # --- backing up ---------------------------------------------------------------------
    def _due(self, now: float) -> tuple[list[str], float | None]:
        ready, next_due = [], None
        for name, p in self.pending.items():
            due = min(p.last + self.settings.quiet, p.first + self.settings.max_delay)
            if due <= now:
                ready.append(name)
            else:
                next_due = due if next_due is None else min(next_due, due)
        return ready, next_due

    async def _run_backup(self, names: list[str]) -> None:
        who = {n: p.changed_by for n in names if (p := self.pending.pop(n)).changed_by}
        devices = [self.devices[n] for n in names]
        self.stats.backups += 1
        try:
            result = await asyncio.to_thread(self.backup, devices, dict(who))
        except Exception as exc:  # a failed backup must not stop the listener
            self.stats.backup_errors += 1
            log.debug("backup after syslog failed", exc_info=True)
            self.emit(ListenEvent("error", tuple(names), message=f"backup failed: {exc}"))
            return
        self.emit(
            ListenEvent(
                "backup", tuple(names), detail=result, message=str(result.get("summary", ""))
            )
        )

    async def _schedule(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            ready, next_due = self._due(time.monotonic())
            if ready:
                await self._run_backup(ready)
                continue
            self.wake.clear()
            timeout = None if next_due is None else max(0.0, next_due - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    async def run(
        self, stop: asyncio.Event, on_ready: Callable[[str], None] | None = None
    ) -> ListenStats:
        """Listen until `stop` is set; pending backups are done before returning.

        Raises:
            DeviceError: the address cannot be bound.
        """
        loop = asyncio.get_running_loop()
        s = self.settings
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self.queue, self.stats), local_addr=(s.host, s.port)
            )
            server = await asyncio.start_server(self._tcp_client, s.host, s.port) if s.tcp else None
        except OSError as exc:
            raise DeviceError(
                f"cannot listen for syslog on {s.host}:{s.port}: {exc.strerror or exc}"
                " (port 514 needs root; another syslog daemon may hold it)"
            ) from None
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):  # a burst waits in the kernel, not dropped there
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        if on_ready is not None:
            bound = transport.get_extra_info("sockname")
            on_ready(f"{bound[0]}:{bound[1]} (udp{'+tcp' if server else ''})")
        consumer = asyncio.create_task(self._consume())
        scheduler = asyncio.create_task(self._schedule(stop))
        try:
            await stop.wait()
        finally:
            transport.close()
            if server is not None:
                server.close()
            self.wake.set()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler
            # drain what arrived, then back up every device still waiting (nothing lost)
            while not self.queue.empty():
                data, source = self.queue.get_nowait()
                self.handle(data, source, time.monotonic())
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
            if self.pending:
                await self._run_backup(list(self.pending))
        return self.stats


def listen(
    devices: Sequence[Device],
    settings: ListenSettings,
    backup: BackupFn,
    *,
    on_event: Callable[[ListenEvent], None] | None = None,
    on_ready: Callable[[str], None] | None = None,
    alongside: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = (),
    reload: ReloadFn | None = None,
) -> ListenStats:
    """Run the listener until SIGTERM/SIGINT (main thread); returns the counters.

    `alongside` are other servers (e.g. the TFTP receiver) run in the same event loop
    until the same stop. With `reload`, SIGHUP awaits it and listens for the devices it
    returns (an OpskitError keeps the old ones); either way a "reload" event tells how it
    went. The address, TCP and the queue stay as they are until a restart.

    Raises:
        DeviceError: the address cannot be bound.
    """

    async def main() -> ListenStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        listener = Listener(devices, settings, backup, on_event)
        others = [asyncio.create_task(serve(stop)) for serve in alongside]
        reloads: set[asyncio.Task[None]] = set()
        if reload is not None:

            def reload_soon() -> None:
                task = loop.create_task(listener.reload(reload))
                reloads.add(task)  # held until done (the loop keeps only weak references)
                task.add_done_callback(reloads.discard)

            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGHUP, reload_soon)
        try:
            return await listener.run(stop, on_ready)
        finally:
            stop.set()
            for task in others:
                await task

    return asyncio.run(main())
