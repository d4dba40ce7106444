"""opskit's own TFTP server (RFC 1350 + 2347/2348/2349 + 7440), safe to leave running.

Why not tftpy: tftpy 0.8.7 maps a request name onto a path under its root and opens it, so a
symlink in the root leads writes outside it, uploads overwrite files in place, and it has no
hook to accept a name only when a job expects it or only from one address. It also runs
every session through per-packet state objects and polls with `select`, which costs about
1.3-1.4x tftpd-hpa's time. This server never opens a path built from a request name:

* a write is accepted only for a name someone registered (`expect_upload` for a one-time
  backup job, `allow_uploads` for tftp-serve's device names), optionally only from one
  address; the data goes into a fresh staging file (`O_EXCL | O_NOFOLLOW`, random name) and
  is handed over as a `ReceivedFile` once complete, never written over anything;
* a read is answered only for bytes a restore job put up with `offer_file` (served once,
  to one address), from memory;
* everything else gets a TFTP ERROR packet and a log line.

Each transfer gets its own UDP socket (its TID), a retransmission timer, a size cap and a
retry budget. Duplicate DATA is re-acknowledged; duplicate ACKs never trigger a resend (the
Sorcerer's Apprentice bug of RFC 1350). Block numbers roll over past 65535 to 0, so files
over 32 MiB at 512-byte blocks arrive whole.

RFC 7440 `windowsize` (up to `MAX_WINDOW` blocks): an upload is acknowledged once per
window (or at the last block), a gap is answered at once with an ACK of the last block in
sequence (the sender goes on from there, and the blocks after the gap are dropped until
it does); a download sends a window, then waits for its ACK, and resends from the first
unacknowledged block on a timeout. Names, addresses, staging and size caps are checked
exactly as without it.

Threads: requests, registrations, futures and hooks live in one asyncio loop
(`TftpServer`); the packets of every transfer are moved by one engine thread on plain
non-blocking sockets and epoll (see `_Engine` for the measurements behind that), and
finished uploads are fsynced in a small pool. `BackgroundTftpServer` runs the loop in a
thread for the threaded backup pipeline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import ipaddress
import logging
import os
import re
import secrets
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from opskit.fileio import make_private_dir

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

# Opcodes (RFC 1350, 2347)
RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
# Error codes
ERR_UNDEFINED = 0
ERR_NOT_FOUND = 1
ERR_ACCESS = 2
ERR_DISK_FULL = 3
ERR_ILLEGAL = 4
ERR_UNKNOWN_TID = 5
ERR_EXISTS = 6
ERR_OPTION = 8

DEFAULT_MAX_SIZE = 16 * 1024 * 1024
DEFAULT_TIMEOUT = 2.0
DEFAULT_RETRIES = 6
MAX_NAME_LEN = 128
MIN_BLKSIZE, MAX_BLKSIZE = 8, 65464
STAGING_DIR = ".staging"
# Packet threads (see _Engine). One: every system call of a packet thread lets go of the
# GIL, and with several threads each `recvfrom`/`sendto` became a hand-over of the GIL
# (200 x 100 KB uploads, `strace -c -f`: 437,531 futex calls with four engines, 10,278
# with one, for 39,800 blocks; server CPU 1.0-1.15 s against 0.67-0.82 s). On a quiet
# machine four took 1.32-1.47x tftpd-hpa's time, one 0.87-1.18x; with two CPU burners
# running, 1.22x and 1.25x (docs/notes/issue-19.md).
ENGINES = 1
# Seconds a finished upload's TID still re-ACKs its last block: the clients' whole retry
# budget after their last block (atftp resends it at 5, 10, 15, 20 and 25 s and gives up at
# 30 s; tftp-hpa gives up after 25 s), so a client gives up only when every resend or
# re-ACK was lost. At 12 s, a final ACK lost three times (10% loss: ~1 upload in 300) left
# the file stored while the client reported a failure.
FINAL_ACK_LINGER = 30.0
MAX_WINDOW = 64  # RFC 7440 windowsize granted at most (a burst of 64 blocks)
# Busy-polling (see _Engine): how long an engine with at most SPIN_SESSIONS transfers polls
# without sleeping after a packet, waiting for the next one of a lock-step transfer.
SPIN_SECONDS = 0.0001
SPIN_SESSIONS = 4

# Names opskit ever expects: one path component of plain characters. Anything else
# (`../`, `/abs`, `a\b`, NUL, control characters, hidden files) is refused before any
# look-up; the name is never used as a path anyway.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


class TftpError(Exception):
    """A transfer failed or a request was refused; `code` is the TFTP error code."""

    def __init__(self, message: str, code: int = ERR_UNDEFINED) -> None:
        super().__init__(message)
        self.code = code


def check_name(name: str, max_len: int = MAX_NAME_LEN) -> str | None:
    """Why a requested file name is unsafe, or None when it is a plain name.

    >>> check_name("core-r1-confg") is None
    True
    >>> check_name("../etc/passwd")
    'name is not a plain file name'
    >>> check_name("/abs")
    'name is not a plain file name'
    """
    if not name:
        return "empty name"
    if len(name) > max_len:
        return f"name longer than {max_len} characters"
    if "\x00" in name:
        return "NUL in name"
    if not _NAME_RE.match(name) or ".." in name:
        return "name is not a plain file name"
    return None


def host_key(host: str) -> str:
    """A canonical text form of an IP address (`::ffff:10.0.0.1` -> `10.0.0.1`)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def parse_listen(text: str, default_port: int = 69) -> tuple[str, int]:
    """`ADDR:PORT`, `[v6]:PORT`, `ADDR` or `:PORT` -> (host, port).

    >>> parse_listen("127.0.0.1:6969")
    ('127.0.0.1', 6969)
    >>> parse_listen("[::1]:69")
    ('::1', 69)
    >>> parse_listen("::1")
    ('::1', 69)
    """
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    host = host or "0.0.0.0"
    try:
        ipaddress.ip_address(host)
        number = int(port) if port else default_port
    except ValueError as exc:
        raise ValueError(f"bad TFTP listen address {text!r} (want ADDR:PORT)") from exc
    if not 0 <= number <= 65535:
        raise ValueError(f"bad TFTP port in {text!r}")
    return host, number


@dataclasses.dataclass(frozen=True, slots=True)
class TransferRecord:
    """One finished (or refused) transfer, for the log and `tftp-serve`'s output."""

    direction: str  # "write" (upload to us) | "read"
    name: str
    peer: str
    status: str  # "ok" | "refused" | "failed"
    bytes: int = 0
    duration: float = 0.0
    reason: str = ""
    blksize: int = 512

    def line(self) -> str:
        """One log line."""
        what = "upload" if self.direction == "write" else "download"
        if self.status == "ok":
            rate = self.bytes / self.duration / 1e6 if self.duration > 0 else 0.0
            return (
                f"tftp {what} {self.name!r} from {self.peer}: ok, {self.bytes} bytes in "
                f"{self.duration:.2f}s ({rate:.1f} MB/s, blksize {self.blksize})"
            )
        return f"tftp {what} {self.name!r} from {self.peer}: {self.status}: {self.reason}"


@dataclasses.dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A complete upload in its staging file. The consumer reads it, then discards it."""

    name: str
    peer: str
    size: int
    sha256: str
    path: Path

    def read_bytes(self) -> bytes:
        """The uploaded bytes."""
        return self.path.read_bytes()

    def read_text(self) -> str:
        """The upload as text (configs are ASCII/UTF-8; undecodable bytes are replaced)."""
        return self.read_bytes().decode("utf-8", errors="replace")

    def discard(self) -> None:
        """Remove the staging file."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


UploadHandler = Callable[[ReceivedFile], None]


@dataclasses.dataclass(slots=True)
class _WriteRule:
    name: str  # lower-cased
    peer: str | None
    once: bool
    max_size: int
    handler: UploadHandler | None = None
    future: asyncio.Future[ReceivedFile] | None = None
    busy: bool = False  # a one-time rule is in use by a running transfer


@dataclasses.dataclass(slots=True)
class _ReadOffer:
    name: str
    data: bytes
    peer: str | None
    future: asyncio.Future[TransferRecord]
    busy: bool = False


_Claim = TypeVar("_Claim", _WriteRule, _ReadOffer)


def _free_for(claims: list[_Claim], host: str) -> _Claim | None:
    """The first upload rule or read offer not in use and open to `host`, if any."""
    return next((c for c in claims if not c.busy and (c.peer is None or c.peer == host)), None)


class TftpServer:
    """An asyncio TFTP server that accepts only registered names.

    Args:
        root: directory for staging files (created; uploads live in `root/.staging` until
            handed over).
        host: address to bind (`127.0.0.1`, `::1`, `0.0.0.0`, `::`).
        port: UDP port (0 picks a free one; see `.port` after `start()`).
        max_size: default size cap of an upload, in bytes.
        timeout: default retransmission timeout in seconds (a client's `timeout` option
            overrides it per transfer).
        retries: retransmissions before a transfer is abandoned.
        engines: threads moving packets (transfers are spread over them).
        on_transfer: called with a `TransferRecord` after each transfer or refusal.
    """

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 69,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        engines: int = ENGINES,
        on_transfer: Callable[[TransferRecord], None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.host = host
        self.port = port
        self.max_size = max_size
        self.timeout = timeout
        self.retries = retries
        self.on_transfer = on_transfer
        self._writes: dict[str, list[_WriteRule]] = {}
        self._reads: dict[str, list[_ReadOffer]] = {}
        self._sessions: dict[tuple[Any, ...], _Session] = {}
        self._abort = threading.Event()  # tells transfers to stop (shutdown)
        self._engine_count = max(1, engines)
        self._engines: list[_Engine] = []
        self._next_engine = 0
        self._finisher = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="tftp-fsync")
        self._transport: asyncio.DatagramTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._staging: Path = self.root / STAGING_DIR
        self._closing = False

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the listening socket and create the staging directory."""
        self._loop = asyncio.get_running_loop()
        make_private_dir(self.root)  # uploads are configs: the owner's only
        # The staging dir must be a real directory, not a symlink planted in the root.
        if self._staging.is_symlink():
            self._staging.unlink()
        self._staging.mkdir(mode=0o700, exist_ok=True)
        for stale in self._staging.glob("*.part"):
            with contextlib.suppress(OSError):
                stale.unlink()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _ListenProtocol(self), local_addr=(self.host, self.port), family=family
        )
        self._transport = transport
        self.port = int(transport.get_extra_info("sockname")[1])
        log.info("tftp server listening on %s", self.address)

    @property
    def address(self) -> str:
        """`host:port` (IPv6 in brackets)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def active_transfers(self) -> int:
        """Transfers in flight."""
        return len(self._sessions)

    async def close(self, drain: float = 30.0) -> None:
        """Stop taking requests; let transfers in flight finish (up to `drain` seconds)."""
        self._closing = True
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        deadline = time.monotonic() + drain
        while self._sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self._abort.set()  # the rest fail with an ERROR to their client; lingerers leave
        deadline = time.monotonic() + 2.0
        while self._sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for engine in self._engines:
            engine.stop()
        self._engines = []
        self._finisher.shutdown(wait=False)
        for rules in self._writes.values():
            for rule in rules:
                if rule.future is not None and not rule.future.done():
                    rule.future.set_exception(TftpError("TFTP server closed"))
        for offers in self._reads.values():
            for offer in offers:
                if not offer.future.done():
                    offer.future.set_exception(TftpError("TFTP server closed"))

    # -- registrations ------------------------------------------------------------------

    def expect_upload(
        self, name: str, peer: str | None = None, max_size: int | None = None
    ) -> asyncio.Future[ReceivedFile]:
        """Accept one upload of `name` (from `peer` only, when given).

        Returns:
            A future that resolves to the `ReceivedFile` when the upload is complete, or
            raises `TftpError` when it failed. Cancel it to withdraw the name.
        """
        if (why := check_name(name)) is not None:
            raise ValueError(f"cannot expect TFTP name {name!r}: {why}")
        assert self._loop is not None, "start() first"
        future: asyncio.Future[ReceivedFile] = self._loop.create_future()
        rule = _WriteRule(
            name.lower(),
            None if peer is None else host_key(peer),
            True,
            max_size or self.max_size,
            future=future,
        )
        self._writes.setdefault(rule.name, []).append(rule)
        future.add_done_callback(lambda _f: self._drop_write(rule))
        return future

    def allow_uploads(
        self,
        name: str,
        handler: UploadHandler,
        peer: str | None = None,
        max_size: int | None = None,
    ) -> Callable[[], None]:
        """Accept uploads of `name` (from `peer` only, when given) again and again.

        `handler` runs in the event loop's thread with each complete upload; it owns the
        staging file (it must `discard()` it, or move it, soon).

        Returns:
            A function that withdraws the name (in the loop's thread; a transfer already
            under way finishes).
        """
        if (why := check_name(name)) is not None:
            raise ValueError(f"cannot allow TFTP name {name!r}: {why}")
        rule = _WriteRule(
            name.lower(),
            None if peer is None else host_key(peer),
            False,
            max_size or self.max_size,
            handler=handler,
        )
        self._writes.setdefault(rule.name, []).append(rule)
        return functools.partial(self._drop_write, rule)

    def offer_file(
        self, name: str, data: bytes, peer: str | None = None
    ) -> asyncio.Future[TransferRecord]:
        """Serve `data` as `name` once, to `peer` only (when given).

        Returns:
            A future resolving to the read's `TransferRecord` when the peer has it all.
        """
        if (why := check_name(name)) is not None:
            raise ValueError(f"cannot offer TFTP name {name!r}: {why}")
        assert self._loop is not None, "start() first"
        future: asyncio.Future[TransferRecord] = self._loop.create_future()
        offer = _ReadOffer(
            name.lower(), bytes(data), None if peer is None else host_key(peer), future
        )
        self._reads.setdefault(offer.name, []).append(offer)
        future.add_done_callback(lambda _f: self._drop_read(offer))
        return future

    def _drop_write(self, rule: _WriteRule) -> None:
        rules = self._writes.get(rule.name, [])
        if rule in rules:
            rules.remove(rule)
        if not rules:
            self._writes.pop(rule.name, None)

    def _drop_read(self, offer: _ReadOffer) -> None:
        offers = self._reads.get(offer.name, [])
        if offer in offers:
            offers.remove(offer)
        if not offers:
            self._reads.pop(offer.name, None)

    # -- requests -----------------------------------------------------------------------

    def _request(self, data: bytes, addr: tuple[Any, ...]) -> None:
        key = (host_key(addr[0]), addr[1])
        existing = self._sessions.get(key)
        if existing is not None and not existing.finished:
            if data == existing.request:
                existing.resend()  # the client sent its request again: our answer was lost
            else:
                busy = "a transfer from this address and port is in progress"
                peer = f"{key[0]}:{key[1]}"
                self._refuse(addr, "?", peer, existing.direction, ERR_ILLEGAL, busy)
            return
        # A finished transfer whose hand-over is still on its way does not hold the
        # client's port: under load a new client often gets the same port from the kernel
        # (answering it with the old transfer's last ACK stalled it until it gave up).
        if self._closing or len(data) < 4:
            return
        opcode = struct.unpack("!H", data[:2])[0]
        peer = f"{key[0]}:{key[1]}"
        if opcode not in (RRQ, WRQ):
            self._refuse(addr, "?", peer, "write", ERR_ILLEGAL, "not a read or write request")
            return
        direction = "read" if opcode == RRQ else "write"
        parts = data[2:].split(b"\x00")
        if len(parts) < 3 or parts[-1] != b"":
            self._refuse(addr, "?", peer, direction, ERR_ILLEGAL, "malformed request")
            return
        raw_name = parts[0]
        name = raw_name.decode("latin-1")
        shown = name[:80]
        mode = parts[1].decode("latin-1").lower()
        if mode not in ("octet", "netascii"):
            self._refuse(addr, shown, peer, direction, ERR_ILLEGAL, f"mode {mode!r} refused")
            return
        options: dict[str, str] = {}
        fields = parts[2:-1]
        for i in range(0, len(fields) - 1, 2):
            options[fields[i].decode("latin-1").lower()] = fields[i + 1].decode("latin-1")
        if (why := check_name(name)) is not None:
            self._refuse(addr, shown, peer, direction, ERR_ACCESS, why)
            return
        if opcode == WRQ:
            self._start_write(addr, key, name, options, data)
        else:
            self._start_read(addr, key, name, options, data)

    def _refuse(
        self, addr: tuple[Any, ...], name: str, peer: str, direction: str, code: int, why: str
    ) -> None:
        if self._transport is not None:
            self._transport.sendto(error_packet(code, why), addr)
        self._record(TransferRecord(direction, name, peer, "refused", reason=why))

    def _record(self, record: TransferRecord) -> None:
        if record.status == "ok":
            log.info("%s", record.line())
        else:
            log.warning("%s", record.line())
        if self.on_transfer is not None:
            try:
                self.on_transfer(record)
            except Exception:  # a reporting hook must not break the server
                log.exception("tftp on_transfer hook failed")

    def _start_write(
        self,
        addr: tuple[Any, ...],
        key: tuple[Any, ...],
        name: str,
        options: dict[str, str],
        request: bytes = b"",
    ) -> None:
        peer = f"{key[0]}:{key[1]}"
        rules = self._writes.get(name.lower(), [])
        rule = _free_for(rules, key[0])
        if rule is None:
            why = "not expected from this address" if rules else "name not expected"
            self._refuse(addr, name, peer, "write", ERR_ACCESS, why)
            return
        if "tsize" in options:
            try:
                announced = int(options["tsize"])
            except ValueError:
                announced = 0
            if announced > rule.max_size:
                why = f"upload of {announced} bytes over the {rule.max_size}-byte limit"
                self._refuse(addr, name, peer, "write", ERR_DISK_FULL, why)
                return
        if rule.once:
            rule.busy = True
        self._open(_WriteSession(self, addr, key, name, options, rule), request)

    def _start_read(
        self,
        addr: tuple[Any, ...],
        key: tuple[Any, ...],
        name: str,
        options: dict[str, str],
        request: bytes = b"",
    ) -> None:
        peer = f"{key[0]}:{key[1]}"
        offers = self._reads.get(name.lower(), [])
        offer = _free_for(offers, key[0])
        if offer is None:
            # Same answer for "no such file" and "not for you": tell a prober nothing.
            self._refuse(addr, name, peer, "read", ERR_NOT_FOUND, "nothing offered under this name")
            return
        offer.busy = True
        self._open(_ReadSession(self, addr, key, name, options, offer), request)

    def _open(self, session: _Session, request: bytes) -> None:
        """Take a new transfer under its client's address and port, and start it."""
        session.request = request  # a repeat of it is answered again (see `_request`)
        self._sessions[session.key] = session
        session.begin()

    def _engine_for_sessions(self) -> _Engine:
        # Round robin: more transfers move while one engine waits for the CPU, or the GIL
        # is free during another's system calls.
        if not self._engines:
            self._engines = [_Engine(self) for _ in range(self._engine_count)]
        self._next_engine = (self._next_engine + 1) % len(self._engines)
        return self._engines[self._next_engine]

    def _session_done(self, session: _Session) -> None:
        if self._sessions.get(session.key) is session:
            del self._sessions[session.key]

    def _new_staging_file(self) -> tuple[Path, int]:
        for _ in range(10):
            path = self._staging / f"{secrets.token_hex(12)}.part"
            try:
                fd = os.open(
                    path,
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                    0o600,
                )
            except FileExistsError:
                continue
            return path, fd
        raise TftpError("cannot create a staging file", ERR_DISK_FULL)


class _ListenProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: TftpServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            self.server._request(data, addr)
        except Exception:  # one bad request must never stop the server
            log.exception("tftp: request from %s failed", addr[0])

    def error_received(self, exc: Exception) -> None:
        log.debug("tftp listen socket: %s", exc)


def error_packet(code: int, message: str) -> bytes:
    """An ERROR packet."""
    return struct.pack("!HH", ERROR, code) + message.encode("ascii", "replace")[:200] + b"\x00"


class _Engine:
    """One thread that drives every transfer socket (epoll, or poll elsewhere).

    Lock-step TFTP is latency-bound: per packet this does one readiness wait, one
    `recvfrom` and one `sendto` (tftpd-hpa makes nine system calls per block), with no
    asyncio pass (handles, transports, callbacks) and no thread switching. Measured on a
    loaded 2-core machine: an asyncio protocol per transfer ran a 512-byte-block put at
    0.25-0.33x tftpd-hpa, a blocking thread per transfer at 0.6-0.87x but with 200
    transfers the threads fought over the GIL (2.4 s of system time for 200 x 100 KB).
    Everything that touches shared state (rules, futures, the session table, the log
    hook) is handed to the asyncio loop's thread.

    With at most `SPIN_SESSIONS` transfers, the engine polls without sleeping for up to
    `SPIN_SECONDS` after a packet: the next block of a lock-step transfer comes within
    tens of microseconds, and a thread that sleeps in epoll_wait pays a wake-up each
    block (one voluntary context switch per block, and on a virtual machine an idle
    vCPU's wake-up), more than the wait itself. Busier engines always sleep: their
    packets come without waiting. So does an engine whose spins mostly come to nothing
    (a slow client, a machine too busy to run the client at once): it tries one spin a
    tick to see whether spinning pays again. (docs/notes/issue-19.md has the figures.)
    """

    TICK = 0.05  # how often timers are checked

    def __init__(self, server: TftpServer) -> None:
        self.server = server
        self.sessions: dict[int, _Session] = {}
        self.pending: list[_Session] = []
        self.lock = threading.Lock()
        self.stopping = False
        self.now = time.monotonic()  # refreshed after each wait; sessions' timers use it
        self.spin_score = 1.0  # how often busy-polling found a packet (see _run)
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        if hasattr(select, "epoll"):
            self.poller: Any = select.epoll()
            self.mask = select.EPOLLIN
            self.scale = 1.0  # epoll.poll takes seconds
        else:  # pragma: no cover - not Linux
            self.poller = select.poll()
            self.mask = select.POLLIN
            self.scale = 1000.0  # poll.poll takes milliseconds
        self.poller.register(self.wake_r.fileno(), self.mask)
        self.thread = threading.Thread(target=self._run, name="opskit-tftp-engine", daemon=True)
        self.thread.start()

    def add(self, session: _Session) -> None:
        """Hand a new session to the engine (from any thread)."""
        with self.lock:
            self.pending.append(session)
        self._wake()

    def stop(self) -> None:
        """End the thread; sessions still open are closed without a word."""
        self.stopping = True
        self._wake()
        self.thread.join(5)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full wake pipe is already awake
            self.wake_w.send(b"x")

    def _run(self) -> None:
        next_tick = 0.0
        spin_until = 0.0
        wake_fd = self.wake_r.fileno()
        poll = self.poller.poll
        sessions = self.sessions
        monotonic = time.monotonic
        while not self.stopping:
            events: list[tuple[int, int]] = []
            if spin_until:  # busy-poll (see the class docstring)
                while not events and monotonic() < spin_until:
                    events = poll(0)
                # How often a spin ends in a packet, on average over the last ~8 spins.
                self.spin_score += ((1.0 if events else 0.0) - self.spin_score) / 8
            if not events:
                events = poll((self.TICK if sessions else 1.0) * self.scale)
            now = self.now = monotonic()
            spin_until = 0.0
            if events and self.spin_score >= 0.5 and len(sessions) <= SPIN_SESSIONS:
                spin_until = now + SPIN_SECONDS
            for fd, _mask in events:
                if fd == wake_fd:
                    self._admit()
                    continue
                session = sessions.get(fd)
                if session is None:
                    continue
                try:
                    session.readable()
                except Exception as exc:  # a bug in one transfer must not stop the others
                    self._failed(session, exc)
                if session.finished and session.linger_end <= now:
                    self._close(session)
            if now >= next_tick:
                next_tick = now + self.TICK
                # Spinning that came to nothing stops; one try a tick to see if it pays again.
                self.spin_score = max(self.spin_score, 0.5)
                for session in list(sessions.values()):
                    self._guard(session, functools.partial(session.tick, now))
                    if session.finished and session.linger_end <= now:
                        self._close(session)
        for session in list(self.sessions.values()):
            self._close(session)
        self.poller.close()
        self.wake_r.close()
        self.wake_w.close()

    def _admit(self) -> None:
        with contextlib.suppress(OSError):
            while self.wake_r.recv(4096):
                pass
        with self.lock:
            new, self.pending = self.pending, []
        for session in new:
            assert session.sock is not None
            session.engine = self
            fd = session.sock.fileno()
            self.sessions[fd] = session
            self.poller.register(fd, self.mask)
            self._guard(session, session.first_packet)
            if session.finished and session.linger_end <= time.monotonic():
                self._close(session)

    def _guard(self, session: _Session, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # a bug in one transfer must not stop the others
            self._failed(session, exc)

    def _failed(self, session: _Session, exc: Exception) -> None:
        log.error("tftp transfer %r from %s failed", session.name, session.peer, exc_info=exc)
        session.fail(f"internal error: {type(exc).__name__}", ERR_UNDEFINED)

    def _close(self, session: _Session) -> None:
        sock = session.sock
        if sock is None:
            return
        fd = sock.fileno()
        self.sessions.pop(fd, None)
        with contextlib.suppress(OSError, ValueError, KeyError):
            self.poller.unregister(fd)
        session.sock = None
        sock.close()


class _Session:
    """One transfer on its own UDP socket (its TID), driven by the server's `_Engine`."""

    direction = "write"

    def __init__(
        self,
        server: TftpServer,
        addr: tuple[Any, ...],
        key: tuple[Any, ...],
        name: str,
        options: dict[str, str],
    ) -> None:
        self.server = server
        self.addr = addr
        self.key = key
        self.name = name
        self.peer = f"{key[0]}:{key[1]}"
        self.requested = options
        self.request = b""  # the request packet as it came (a repeat of it is resent to)
        self.blksize = 512
        self.window = 1  # RFC 7440 windowsize: blocks per acknowledgement
        self.timeout = server.timeout
        self.engine: _Engine | None = None
        self.oack: dict[str, str] = {}
        self.sock: socket.socket | None = None
        self.last_packet = b""
        self.tries = 0
        self.deadline = 0.0
        self.started = time.monotonic()
        self.finished = False
        self.linger_end = 0.0  # when a finished session's socket closes
        self.bytes = 0
        loop = server._loop
        assert loop is not None
        self.loop = loop

    def negotiate(self, size: int | None) -> str | None:
        """Fill `self.oack` from the request's options; a reason when they are unusable."""
        opts = self.requested
        if "blksize" in opts:
            try:
                value = int(opts["blksize"])
            except ValueError:
                value = 0
            if value < MIN_BLKSIZE:
                return f"bad blksize {opts['blksize']!r}"
            self.blksize = min(value, MAX_BLKSIZE)
            self.oack["blksize"] = str(self.blksize)
        if "timeout" in opts:
            try:
                value = int(opts["timeout"])
            except ValueError:
                value = 0
            if 1 <= value <= 255:
                self.timeout = float(value)
                self.oack["timeout"] = str(value)
        if "tsize" in opts:
            self.oack["tsize"] = str(size) if size is not None else opts["tsize"]
        if "windowsize" in opts:
            try:
                value = int(opts["windowsize"])
            except ValueError:
                value = 0
            if not 1 <= value <= 65535:
                return f"bad windowsize {opts['windowsize']!r}"
            self.window = min(value, MAX_WINDOW)
            self.oack["windowsize"] = str(self.window)
        return None

    def oack_packet(self) -> bytes:
        body = b"".join(k.encode() + b"\x00" + v.encode() + b"\x00" for k, v in self.oack.items())
        return struct.pack("!H", OACK) + body

    # -- driven by the engine -------------------------------------------------------------

    def begin(self) -> None:
        """Open the transfer socket and hand the session to the engine (in the loop)."""
        family = socket.AF_INET6 if ":" in self.server.host else socket.AF_INET
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.bind((self.server.host, 0))
        except OSError as exc:
            self.finished = True
            self._deliver(self._record("failed", f"cannot open a transfer socket: {exc}"), None)
            return
        self.sock = sock
        self.server._engine_for_sessions().add(self)

    def readable(self) -> None:
        sock = self.sock
        assert sock is not None
        try:
            data, addr = sock.recvfrom(MAX_BLKSIZE + 4)
        except OSError:  # nothing yet, or an ICMP error: the retry budget decides
            return
        self.handle(data, addr)

    def handle(self, data: bytes, addr: tuple[Any, ...]) -> None:
        """One datagram that came to this transfer's socket."""
        sock = self.sock
        assert sock is not None
        if addr != self.addr and (host_key(addr[0]), addr[1]) != self.key:
            # RFC 1350: a packet from another TID gets an error; the transfer goes on.
            with contextlib.suppress(OSError):
                sock.sendto(error_packet(ERR_UNKNOWN_TID, "unknown transfer ID"), addr)
            return
        if len(data) < 4:
            return
        if self.finished:
            self.on_late_packet(data)
            return
        opcode, number = struct.unpack_from("!HH", data)
        if opcode == ERROR:
            message = data[4:].split(b"\x00", 1)[0].decode("latin-1", "replace")
            self.fail(f"peer sent error {number}: {message}", None)
            return
        self.on_packet(opcode, number, data)

    def tick(self, now: float) -> None:
        if self.finished:
            if self.server._abort.is_set():
                self.linger_end = now
            return
        if self.server._abort.is_set():
            self.fail("server shutting down", ERR_UNDEFINED)
        elif now >= self.deadline:
            self.on_timeout()

    def on_late_packet(self, data: bytes) -> None:
        pass

    def first_packet(self) -> None:
        raise NotImplementedError

    def on_packet(self, opcode: int, number: int, data: bytes) -> None:
        raise NotImplementedError

    # -- sending ----------------------------------------------------------------------------

    def send(self, packet: bytes) -> None:
        assert self.sock is not None
        self.last_packet = packet
        self.tries = 0
        self.deadline = self._now() + self.timeout
        try:  # not contextlib.suppress: this runs once a block
            self.sock.sendto(packet, self.addr)
        except BlockingIOError:
            return  # a full buffer: the retransmission helps

    def _now(self) -> float:
        # The engine's clock (read once per wait) while it drives us; else the real one.
        engine = self.engine
        return engine.now if engine is not None else time.monotonic()

    def on_timeout(self) -> None:
        if self.tries >= self.server.retries:
            self.fail(f"timed out after {self.server.retries} retransmissions", ERR_UNDEFINED)
            return
        self.tries += 1
        self.resend()
        self.deadline = time.monotonic() + self.timeout

    def resend(self) -> None:
        sock = self.sock
        if self.last_packet and sock is not None:
            with contextlib.suppress(OSError):
                sock.sendto(self.last_packet, self.addr)

    # -- the end ------------------------------------------------------------------------------

    def fail(self, reason: str, code: int | None) -> None:
        if self.finished:
            return
        if code is not None and self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.sendto(error_packet(code, reason), self.addr)
        self.finish("failed", reason)

    def _record(self, status: str, reason: str = "") -> TransferRecord:
        return TransferRecord(
            self.direction,
            self.name,
            self.peer,
            status,
            self.bytes,
            time.monotonic() - self.started,
            reason,
            self.blksize,
        )

    def finish(self, status: str, reason: str = "", result: Any = None) -> None:
        """Clean up here (any thread), hand the rest to the loop's thread."""
        self.finished = True
        record = self._record(status, reason)
        self.cleanup(record)
        try:
            self.loop.call_soon_threadsafe(self._deliver, record, result)
        except RuntimeError:  # the loop is gone (server stopped): nobody wants it
            if isinstance(result, ReceivedFile):
                result.discard()

    def _deliver(self, record: TransferRecord, result: Any) -> None:
        """In the loop's thread: leave the session table, log, resolve futures."""
        self.server._session_done(self)
        self.server._record(record)
        self.settle(record, result)

    def cleanup(self, record: TransferRecord) -> None:
        pass

    def settle(self, record: TransferRecord, result: Any) -> None:
        pass


class _WriteSession(_Session):
    direction = "write"

    def __init__(
        self,
        server: TftpServer,
        addr: tuple[Any, ...],
        key: tuple[Any, ...],
        name: str,
        options: dict[str, str],
        rule: _WriteRule,
    ) -> None:
        super().__init__(server, addr, key, name, options)
        self.rule = rule
        self.expected = 1
        self.unacked = 0  # blocks in sequence since our last ACK
        self.gap_acked = False  # a gap was answered; later out-of-order blocks are dropped
        self.path: Path | None = None
        self.file: Any = None
        self.hash = hashlib.sha256()

    def first_packet(self) -> None:
        why = self.negotiate(None)
        if why is not None:
            self.fail(why, ERR_OPTION)
            return
        try:
            self.path, fd = self.server._new_staging_file()
        except (OSError, TftpError) as exc:
            self.fail(f"staging file: {exc}", ERR_DISK_FULL)
            return
        self.file = os.fdopen(fd, "wb", buffering=256 * 1024)
        self.send(self.oack_packet() if self.oack else struct.pack("!HH", ACK, 0))

    def on_packet(self, opcode: int, number: int, data: bytes) -> None:
        if opcode != DATA:
            if opcode == ACK and number == 0 and self.expected == 1:
                return  # some clients ACK our OACK; harmless
            self.fail(f"unexpected opcode {opcode}", ERR_ILLEGAL)
            return
        if number != self.expected:
            if number == (self.expected - 1) & 0xFFFF:
                # A duplicate of the last block we have: our ACK was lost, ACK it again.
                # (Only a sender must never answer duplicates with new data.)
                self.resend()
            elif (number - self.expected) & 0xFFFF < MAX_WINDOW and not self.gap_acked:
                # RFC 7440: a block from beyond a gap. Tell the sender at once where we
                # are; the blocks after the gap are dropped until it goes on from there.
                self.ack((self.expected - 1) & 0xFFFF)
                self.gap_acked = True
            return
        payload = data[4:]
        if len(payload) > self.blksize:
            self.fail("block larger than the negotiated blksize", ERR_ILLEGAL)
            return
        if self.bytes + len(payload) > self.rule.max_size:
            self.fail(f"upload over the {self.rule.max_size}-byte limit", ERR_DISK_FULL)
            return
        self.store(number, payload)

    def readable(self) -> None:
        # The common case first: the next block in sequence, from the client's TID, within
        # the size caps. Python's share of a lock-step round trip is mostly this method.
        sock = self.sock
        assert sock is not None
        try:
            data, addr = sock.recvfrom(MAX_BLKSIZE + 4)
        except OSError:
            return
        size = len(data) - 4
        if (
            addr == self.addr
            and data[1] == DATA
            and data[0] == 0
            and 0 <= size <= self.blksize
            and not self.finished
            and ((data[2] << 8) | data[3]) == self.expected
            and self.bytes + size <= self.rule.max_size
        ):
            self.store(self.expected, data[4:])
        else:
            self.handle(data, addr)  # everything else, checked one by one

    def store(self, number: int, payload: bytes) -> None:
        """Keep the block that came in sequence; acknowledge when the window is full."""
        self.file.write(payload)
        self.hash.update(payload)
        self.bytes += len(payload)
        self.expected = (number + 1) & 0xFFFF  # block numbers roll over past 65535 to 0
        self.gap_acked = False
        self.unacked += 1
        if len(payload) < self.blksize:
            self.complete()  # finished before the client can hear it is (see _request)
            self.ack(number)
        elif self.unacked >= self.window:
            self.ack(number)
        else:
            self.deadline = self._now() + self.timeout  # data flows: no retransmission yet

    def ack(self, number: int) -> None:
        """Acknowledge `number` (the last block in sequence); a new window starts."""
        self.unacked = 0
        self.send(struct.pack("!HH", ACK, number))

    def on_late_packet(self, data: bytes) -> None:
        if len(data) >= 4 and struct.unpack_from("!HH", data) == (
            DATA,
            (self.expected - 1) & 0xFFFF,
        ):
            self.resend()  # our final ACK was lost: the client sent its last block again

    def complete(self) -> None:
        # The final ACK is out. Stay on the TID in case it is lost: the client resends its
        # last block after its own timeout (5 s in tftp-hpa and atftp), up to five times,
        # and must get the ACK again rather than silence (FINAL_ACK_LINGER). The fsync
        # happens off the engine thread so other transfers never wait for a disk.
        self.finished = True
        self.linger_end = time.monotonic() + max(self.timeout * 2, FINAL_ACK_LINGER)
        self.server._finisher.submit(self._finalize)

    def _finalize(self) -> None:
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
        except OSError as exc:
            self.finish("failed", f"staging file: {exc}")
            return
        self.file = None
        assert self.path is not None
        received = ReceivedFile(
            self.name, self.key[0], self.bytes, self.hash.hexdigest(), self.path
        )
        self.path = None  # ownership goes to the consumer
        self.finish("ok", result=received)

    def cleanup(self, record: TransferRecord) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None
        if self.path is not None:  # a failed upload leaves nothing behind
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.path = None

    def settle(self, record: TransferRecord, result: Any) -> None:
        rule = self.rule
        if record.status != "ok":
            if rule.once:
                rule.busy = False
                if rule.future is not None and not rule.future.done():
                    rule.future.set_exception(
                        TftpError(
                            f"upload of {self.name!r} from {self.peer} failed: {record.reason}"
                        )
                    )
            return
        received: ReceivedFile = result
        if rule.future is not None:
            if rule.future.done():  # withdrawn meanwhile
                received.discard()
            else:
                rule.future.set_result(received)
        elif rule.handler is not None:
            try:
                rule.handler(received)
            except Exception:
                log.exception("tftp upload handler for %r failed", self.name)
                received.discard()
        else:
            received.discard()


class _ReadSession(_Session):
    direction = "read"

    def __init__(
        self,
        server: TftpServer,
        addr: tuple[Any, ...],
        key: tuple[Any, ...],
        name: str,
        options: dict[str, str],
        offer: _ReadOffer,
    ) -> None:
        super().__init__(server, addr, key, name, options)
        self.offer = offer
        self.acked = 0  # the last block the client acknowledged (absolute, not wrapped)
        self.sent = 0  # the last block sent (absolute)
        self.last_block = -1
        self.window_packets: list[bytes] = []  # blocks acked+1 .. sent, for a resend

    def first_packet(self) -> None:
        why = self.negotiate(len(self.offer.data))
        if why is not None:
            self.fail(why, ERR_OPTION)
            return
        self.last_block = len(self.offer.data) // self.blksize + 1
        if self.oack:
            self.send(self.oack_packet())  # the client ACKs block 0, then we send block 1
        else:
            self.send_window()

    def block_packet(self, block: int) -> bytes:
        start = (block - 1) * self.blksize
        chunk = self.offer.data[start : start + self.blksize]
        return struct.pack("!HH", DATA, block & 0xFFFF) + chunk

    def send_window(self) -> None:
        """Send the blocks after the last acknowledged one, a window's worth."""
        first = self.acked + 1
        last = min(self.acked + self.window, self.last_block)
        self.window_packets = [self.block_packet(b) for b in range(first, last + 1)]
        self.sent = last
        sock = self.sock
        assert sock is not None
        for packet in self.window_packets[:-1]:
            try:
                sock.sendto(packet, self.addr)
            except BlockingIOError:
                continue  # the retransmission of the window helps
        self.send(self.window_packets[-1])  # starts the retransmission timer

    def resend(self) -> None:
        """A timeout (or a repeated request): the whole unacknowledged window again."""
        sock = self.sock
        if sock is None:
            return
        for packet in self.window_packets or [self.last_packet]:
            if packet:
                with contextlib.suppress(OSError):
                    sock.sendto(packet, self.addr)

    def on_packet(self, opcode: int, number: int, data: bytes) -> None:
        if opcode != ACK:
            self.fail(f"unexpected opcode {opcode}", ERR_ILLEGAL)
            return
        if self.sent == 0:  # we sent an OACK: its ACK (block 0) starts the data
            if number == 0:
                self.send_window()
            return
        ahead = (number - self.acked) & 0xFFFF
        if ahead == 0 or ahead > self.sent - self.acked:
            # A duplicate ACK, or one for nothing we sent: never resend on it (the
            # Sorcerer's Apprentice); the retransmission timer covers a real loss.
            return
        self.acked += ahead
        if self.acked >= self.last_block:
            self.bytes = len(self.offer.data)
            self.finish("ok")
            return
        self.send_window()

    def settle(self, record: TransferRecord, result: Any) -> None:
        offer = self.offer
        if record.status == "ok":
            if not offer.future.done():
                offer.future.set_result(record)
        else:
            offer.busy = False  # the device may try again


class BackgroundTftpServer:
    """A `TftpServer` running in its own thread, for threaded callers (`backup run`).

    Use as a context manager; `expect_upload` and `offer_file` return
    `concurrent.futures.Future`s.
    """

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 69, **kwargs: Any):
        self._args = (root, host, port)
        self._kwargs = kwargs
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="opskit-tftp", daemon=True)
        self.server: TftpServer | None = None
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        self._loop.close()

    def start(self) -> BackgroundTftpServer:
        """Start the thread and bind; raises OSError when the address is taken."""
        self._thread.start()
        root, host, port = self._args
        self.server = TftpServer(root, host, port, **self._kwargs)
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(15)
        return self

    @property
    def port(self) -> int:
        """The bound UDP port."""
        assert self.server is not None
        return self.server.port

    def expect_upload(
        self, name: str, peer: str | None = None, max_size: int | None = None
    ) -> concurrent.futures.Future[ReceivedFile]:
        """Thread-safe `TftpServer.expect_upload`."""
        return self._call(lambda s: s.expect_upload(name, peer, max_size))

    def offer_file(
        self, name: str, data: bytes, peer: str | None = None
    ) -> concurrent.futures.Future[TransferRecord]:
        """Thread-safe `TftpServer.offer_file`."""
        return self._call(lambda s: s.offer_file(name, data, peer))

    def allow_uploads(self, name: str, handler: UploadHandler, peer: str | None = None) -> None:
        """Thread-safe `TftpServer.allow_uploads` (the handler runs in the server thread)."""

        async def register() -> None:
            assert self.server is not None
            self.server.allow_uploads(name, handler, peer)

        asyncio.run_coroutine_threadsafe(register(), self._loop).result(5)

    def _call(
        self, make: Callable[[TftpServer], asyncio.Future[Any]]
    ) -> concurrent.futures.Future[Any]:
        out: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def bridge() -> None:
            assert self.server is not None
            try:
                inner = make(self.server)
            except Exception as exc:
                if not out.done():
                    out.set_exception(exc)
                return

            def copy(f: asyncio.Future[Any]) -> None:
                try:
                    if f.cancelled():
                        out.cancel()
                    elif f.exception() is not None:
                        out.set_exception(f.exception())
                    else:
                        out.set_result(f.result())
                except concurrent.futures.InvalidStateError:
                    # The caller gave up at that very moment: nobody will read the upload.
                    if not f.cancelled() and isinstance(f.exception() or f.result(), ReceivedFile):
                        f.result().discard()

            inner.add_done_callback(copy)
            # Cancelling the caller's future withdraws the registration.
            out.add_done_callback(
                lambda o: self._loop.call_soon_threadsafe(inner.cancel) if o.cancelled() else None
            )

        self._loop.call_soon_threadsafe(bridge)
        return out

    def close(self, drain: float = 10.0) -> None:
        """Finish transfers in flight (up to `drain` s), then stop the thread."""
        if self.server is not None and self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.server.close(drain), self._loop).result(
                    drain + 5
                )
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> BackgroundTftpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
