"""The asyncio SNMP engine: targets, GET and guarded GETBULK walks.

Design points, each from a measured figure (see docs/notes/issue-5.md):

* v1/v2c go through our own BER codec (`wire`) on one asyncio UDP socket per
  address family (request id -> future, matched by id AND source address, retries resend
  the same id, a 4 MiB receive buffer): pysnmp spent ~150 us of pyasn1 per varbind, the
  codec a few. `OPSKIT_SNMP_ENGINE=pysnmp` (or `SnmpClient(fast=False)`) switches back.
* v3 goes through pysnmp 7 (USM auth/priv): one `SnmpEngine` per run, made (and pysnmp
  imported) only when a v3 target is used. Requests go through pysnmp's RFC 3413 command
  generators with numeric OIDs: the hlapi `*_cmd` functions resolve every varbind through
  a MIB view even with `lookupMib=False` (and Debian ships no MIB files anyway);
* a semaphore bounds the requests in flight (~50): beyond that a socket's receive buffer
  overflows and agents "time out";
* walks are our own GETBULK loop over several columns at once (fewer round trips than one
  walk per column) with guards against broken agents: an OID that does not increase, a
  table that never ends (row cap), a response too big for the agent (halve
  max-repetitions, then give up with a clear error), more varbinds than asked;
* the first request to a v3 agent does engine discovery; callers send one GET before a
  burst of walks to the same agent (`SnmpClient.get` of the system group does it).

Values come back as plain Python: int for every integer type, str for strings (hex
`0x..` when not text), dotted str for OIDs and IP addresses, None for noSuch*/endOfMib.
Both paths convert alike (`snmp_wire.octets_value` is shared).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import random
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opskit.errors import DeviceError, DeviceTimeout, InputError
from opskit.transport import SecretValue
from opskit.transport.snmp import wire as snmp_wire
from opskit.transport.snmp.wire import VarBind, WireValue

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

Value = int | str | None
Oid = tuple[int, ...]

AUTH_PROTOCOLS = ("md5", "sha", "sha224", "sha256", "sha384", "sha512")
PRIV_PROTOCOLS = ("des", "3des", "aes", "aes128", "aes192", "aes256")
SECURITY_LEVELS = ("noAuthNoPriv", "authNoPriv", "authPriv")

DEFAULT_MAX_REPETITIONS = 25  # measured best (10 was ~30% slower, 50 no better)
DEFAULT_MAX_ROWS = 10_000  # an "endless table" guard: no health table is this long
DEFAULT_IN_FLIGHT = 50
# Varbinds asked for in one GETBULK (columns x repetitions): big enough for few round
# trips, small enough for agents' buffers (tooBig halves it anyway).
MAX_VARBINDS_PER_REQUEST = 250


class SnmpError(DeviceError):
    """An SNMP request failed (agent error, broken walk, bad credentials)."""


class SnmpTimeout(DeviceTimeout):
    """No SNMP response within the target's timeout and retries."""


class SnmpAuthError(SnmpError):
    """SNMPv3 authentication or privacy failed (wrong user, password or protocol)."""


def parse_oid(text: str) -> Oid:
    """A numeric OID string as a tuple.

    >>> parse_oid(".1.3.6.1.2.1.1.3.0")
    (1, 3, 6, 1, 2, 1, 1, 3, 0)
    """
    try:
        return tuple(int(p) for p in text.strip().strip(".").split("."))
    except ValueError:
        raise InputError(f"not a numeric OID: '{text}'") from None


def oid_str(oid: Iterable[int]) -> str:
    """A tuple OID as dotted text.

    >>> oid_str((1, 3, 6))
    '1.3.6'
    """
    return ".".join(map(str, oid))


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """Where and how to reach one agent (built by `opskit.targets.snmp_target`). Secrets
    are kept out of repr and JSON."""

    device: str
    host: str
    port: int = 161
    version: str = "2c"  # "1", "2c" or "3"
    timeout: float = 2.0
    retries: int = 1
    community: SecretValue | None = field(default=None, repr=False)
    username: str | None = None
    auth_password: SecretValue | None = field(default=None, repr=False)
    priv_password: SecretValue | None = field(default=None, repr=False)
    auth_protocol: str = "sha"
    priv_protocol: str = "aes"
    security_level: str = "authPriv"
    context: str = ""
    max_repetitions: int = DEFAULT_MAX_REPETITIONS
    max_rows: int = DEFAULT_MAX_ROWS

    @property
    def label(self) -> str:
        """`device (host:port)` for messages."""
        return f"{self.device} ({self.host}:{self.port})"

    @property
    def budget(self) -> float:
        """Seconds one request may take with all its retries."""
        return self.timeout * (self.retries + 1)


def _secret(value: SecretValue | None) -> str:
    # The one place a target's secret is read: when a request is built.
    return value.get_secret_value() if value is not None else ""


def _auth_data(target: SnmpTarget) -> Any:
    from pysnmp.hlapi.v3arch import asyncio as hl

    if target.version != "3":
        return hl.CommunityData(
            _secret(target.community), mpModel=0 if target.version == "1" else 1
        )
    auth = {
        "md5": hl.usmHMACMD5AuthProtocol,
        "sha": hl.usmHMACSHAAuthProtocol,
        "sha224": hl.usmHMAC128SHA224AuthProtocol,
        "sha256": hl.usmHMAC192SHA256AuthProtocol,
        "sha384": hl.usmHMAC256SHA384AuthProtocol,
        "sha512": hl.usmHMAC384SHA512AuthProtocol,
    }[target.auth_protocol]
    priv = {
        "des": hl.usmDESPrivProtocol,
        "3des": hl.usm3DESEDEPrivProtocol,
        "aes": hl.usmAesCfb128Protocol,
        "aes128": hl.usmAesCfb128Protocol,
        "aes192": hl.usmAesCfb192Protocol,
        "aes256": hl.usmAesCfb256Protocol,
    }[target.priv_protocol]
    if target.security_level == "noAuthNoPriv":
        return hl.UsmUserData(target.username)
    auth_key = _secret(target.auth_password)
    if target.security_level == "authNoPriv":
        return hl.UsmUserData(target.username, authKey=auth_key, authProtocol=auth)
    return hl.UsmUserData(
        target.username,
        authKey=auth_key,
        privKey=_secret(target.priv_password),
        authProtocol=auth,
        privProtocol=priv,
    )


def _convert_value(value: Any) -> WireValue:
    """A pysnmp value as the wire codec gives it: plain Python, or a `Special` for
    noSuchObject/noSuchInstance/endOfMibView (see the module docstring)."""
    from pyasn1.type import univ
    from pysnmp.proto import rfc1902, rfc1905

    if isinstance(value, rfc1905.EndOfMibView):
        return snmp_wire.END_OF_MIB_VIEW
    if isinstance(value, rfc1905.NoSuchObject):
        return snmp_wire.NO_SUCH_OBJECT
    if isinstance(value, rfc1905.NoSuchInstance):
        return snmp_wire.NO_SUCH_INSTANCE
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, univ.Integer):  # Integer32, Counter32/64, Gauge32, TimeTicks
        return int(value)
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, univ.OctetString):  # also Opaque
        return snmp_wire.octets_value(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return oid_str(value.asTuple())
    return None


_AUTH_ERRORS = (
    "wrongDigest",
    "unknownUserName",
    "unsupportedSecLevel",
    "unsupportedSecurityLevel",
    "authenticationFailure",
    "authenticationError",
    "decryptionError",
    "notInTimeWindow",
)

TOO_BIG = 1
NO_SUCH_NAME = 2
# One socket serves every v1/v2c agent of a run: a burst of answers must fit in its
# receive buffer (the kernel caps this at net.core.rmem_max unless we are root).
RECEIVE_BUFFER = 4 << 20
PendingEntry = tuple["asyncio.Future[snmp_wire.Message]", tuple[Any, ...], bytes, int]


class _WireProtocol(asyncio.DatagramProtocol):
    """Hands each response datagram to the request waiting for it.

    A datagram is taken only when its request id is pending AND it comes from the
    address that request went to, with the same version and community; anything else
    (late answers to a finished request, duplicates, garbage) is dropped and counted.
    Datagrams that do not decode are also counted per source address while a request to
    that address waits (`undecodable`), so a timeout can say the agent did answer.
    """

    def __init__(self, pending: dict[int, PendingEntry]) -> None:
        self.pending = pending
        self.dropped = 0
        self.waiting: dict[tuple[Any, ...], int] = {}  # address -> requests waiting on it
        self.undecodable: dict[tuple[Any, ...], int] = {}  # address -> packets seen

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            msg = snmp_wire.decode_message(data)
        except snmp_wire.WireError:
            self.dropped += 1
            peer = tuple(addr[:2])
            if peer in self.waiting:  # only addresses we asked: a bounded table
                self.undecodable[peer] = self.undecodable.get(peer, 0) + 1
            return
        entry = self.pending.get(msg.request_id)
        if entry is None:
            self.dropped += 1
            return
        future, peer, community, version = entry
        if (
            future.done()
            or tuple(addr[:2]) != peer
            or msg.pdu_type != snmp_wire.RESPONSE
            or msg.community != community
            or msg.version != version
        ):
            self.dropped += 1
            return
        future.set_result(msg)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors on an unconnected socket belong to no request we can name; the
        # request's own timeout reports the agent.
        log.debug("snmp socket error: %s", exc)


class SnmpClient:
    """Every SNMP request of a run, with a bound on requests in flight. Create it inside
    the running event loop; `close()` it at the end.

    v1/v2c requests go through our own codec (`snmp_wire`) over one asyncio UDP socket
    per address family; v3 requests go through one pysnmp engine, created (and pysnmp
    imported) only when a v3 target is used.

    Args:
        max_in_flight: requests outstanding at once.
        fast: use the codec for v1/v2c (default: yes, unless the environment variable
            `OPSKIT_SNMP_ENGINE` is `pysnmp`, a fallback switch).
    """

    def __init__(self, max_in_flight: int = DEFAULT_IN_FLIGHT, fast: bool | None = None) -> None:
        if fast is None:
            fast = os.environ.get("OPSKIT_SNMP_ENGINE", "").lower() != "pysnmp"
        self.fast = fast
        self._sem = asyncio.Semaphore(max_in_flight)
        self._loop = asyncio.get_running_loop()
        # fast path
        self._pending: dict[int, PendingEntry] = {}
        self._endpoints: dict[int, asyncio.Task[tuple[asyncio.DatagramTransport, Any]]] = {}
        self._addresses: dict[tuple[str, int], tuple[int, tuple[Any, ...]]] = {}
        self._next_id = random.randrange(1, 1 << 30)
        # pysnmp path, built on first use
        self._engine: Any = None
        self._transports: dict[tuple[str, int, float, int], Any] = {}
        self._auth: dict[int, Any] = {}
        self._context: dict[str, Any] = {}
        # Rows each walk found last time, per agent and column set: a client that polls
        # the same agents again (monitor serve) asks for that many rows plus one, so the
        # walk still ends in one request and no agent sends (nor we decode) the ~200
        # varbinds past a short table's end that a fixed max-repetitions brings.
        self._rows_seen: dict[tuple[str, int, str, tuple[Oid, ...]], int] = {}
        self.requests = 0
        self.varbinds = 0
        self._undecodable = 0

    def close(self) -> None:
        """Close the sockets (and the pysnmp engine if one was made)."""
        for task in self._endpoints.values():
            if task.done() and not task.cancelled() and task.exception() is None:
                task.result()[0].close()
            else:
                task.cancel()
        self._endpoints.clear()
        if self._engine is not None:
            self._engine.close_dispatcher()

    @property
    def dropped(self) -> int:
        """Datagrams the fast path ignored (late, duplicate, foreign or malformed)."""
        return sum(
            t.result()[1].dropped
            for t in self._endpoints.values()
            if t.done() and not t.cancelled() and t.exception() is None
        )

    @property
    def undecodable(self) -> int:
        """Datagrams from agents being asked that were not SNMP at all (the fast path)."""
        return self._undecodable

    async def __aenter__(self) -> SnmpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ fast v1/v2c path

    async def _open(self, family: int) -> tuple[asyncio.DatagramTransport, Any]:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            # Not allowed? The default buffer still works, just smaller (the kernel also
            # caps it at net.core.rmem_max).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            sock.setblocking(False)
            protocol = _WireProtocol(self._pending)
            transport, _ = await self._loop.create_datagram_endpoint(lambda: protocol, sock=sock)
        except BaseException:
            sock.close()
            raise
        return transport, protocol

    async def _address(self, target: SnmpTarget) -> tuple[int, tuple[Any, ...]]:
        key = (target.host, target.port)
        found = self._addresses.get(key)
        if found is not None:
            return found
        try:
            ip = ipaddress.ip_address(target.host)
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            found = (family, (str(ip), target.port))  # as recvfrom() will spell it
        except ValueError:
            try:
                infos = await self._loop.getaddrinfo(
                    target.host, target.port, type=socket.SOCK_DGRAM
                )
            except OSError as exc:
                raise SnmpError(f"{target.label}: cannot resolve host: {exc}") from None
            # IPv4 first, as pysnmp's UdpTransportTarget did.
            infos.sort(key=lambda info: info[0] != socket.AF_INET)
            if not infos:
                raise SnmpError(f"{target.label}: cannot resolve host") from None
            found = (int(infos[0][0]), tuple(infos[0][4][:2]))
        self._addresses[key] = found
        return found

    def _request_id(self) -> int:
        rid = self._next_id
        while rid in self._pending:
            rid = rid % 0x7FFF_FFFF + 1
        self._next_id = rid % 0x7FFF_FFFF + 1
        return rid

    async def _wire_send(
        self, kind: str, target: SnmpTarget, oids: Sequence[Oid], max_rep: int
    ) -> tuple[int, int, list[VarBind]]:
        family, addr = await self._address(target)
        task = self._endpoints.get(family)
        if task is None:
            task = self._endpoints[family] = asyncio.ensure_future(self._open(family))
        try:
            transport, protocol = await task
        except OSError as exc:  # e.g. no IPv6 on this host
            raise SnmpError(f"{target.label}: cannot open a UDP socket: {exc}") from None
        version = snmp_wire.VERSION_1 if target.version == "1" else snmp_wire.VERSION_2C
        community = _secret(target.community).encode()
        pdu = {"get": snmp_wire.GET, "next": snmp_wire.GET_NEXT, "bulk": snmp_wire.GET_BULK}
        rid = self._request_id()
        try:
            packet = snmp_wire.encode_request(version, community, pdu[kind], rid, oids, 0, max_rep)
        except snmp_wire.WireError as exc:
            raise SnmpError(f"{target.label}: cannot build the request: {exc}") from None
        future: asyncio.Future[snmp_wire.Message] = self._loop.create_future()
        self._pending[rid] = (future, addr, community, version)
        peer = tuple(addr[:2])
        protocol.waiting[peer] = protocol.waiting.get(peer, 0) + 1
        garbage_before = protocol.undecodable.get(peer, 0)
        try:
            # Retries resend the same request id: an answer to any try completes it.
            for _ in range(target.retries + 1):
                transport.sendto(packet, addr)
                done, _ = await asyncio.wait((future,), timeout=target.timeout)
                if done:
                    msg = future.result()
                    return msg.error_status, msg.error_index, msg.varbinds
            garbage = protocol.undecodable.get(peer, 0) - garbage_before
        finally:
            self._pending.pop(rid, None)
            if not future.done():
                future.cancel()
            protocol.waiting[peer] -= 1
            if not protocol.waiting[peer]:
                del protocol.waiting[peer]
                protocol.undecodable.pop(peer, None)
        if garbage:
            self._undecodable += garbage
            raise SnmpError(
                f"{target.label}: answered with an undecodable packet ({garbage} in "
                f"{target.retries + 1} tries, none of them SNMP): not an SNMP agent, or "
                "a broken one"
            )
        raise SnmpTimeout(
            f"{target.label}: no SNMP response within {target.timeout:g} s "
            f"x {target.retries + 1} tries (wrong community or agent down?)"
        )

    # ------------------------------------------------------------------ pysnmp path

    def _pysnmp(self) -> Any:
        """The pysnmp engine and generators, made on first use (imports pysnmp)."""
        if self._engine is None:
            from pysnmp.entity.rfc3413 import cmdgen
            from pysnmp.hlapi.v3arch import asyncio as hl
            from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator

            self._hl = hl
            self._lcd = CommandGeneratorLcdConfigurator()
            self._gen_get = cmdgen.GetCommandGenerator()
            self._gen_next = cmdgen.NextCommandGenerator()
            self._gen_bulk = cmdgen.BulkCommandGenerator()
            previous = self._loop.get_exception_handler()

            def quiet_late_answers(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
                # An answer to a request that was retried or given up on may arrive after
                # the engine closed its socket; pysnmp then raises from a loop callback.
                exc = context.get("exception")
                if exc is not None and "Unregistered transport" in str(exc):
                    return
                if previous is not None:
                    previous(lp, context)
                else:
                    lp.default_exception_handler(context)

            self._loop.set_exception_handler(quiet_late_answers)
            self._engine = hl.SnmpEngine()
        return self._engine

    async def _transport(self, target: SnmpTarget) -> Any:
        key = (target.host, target.port, target.timeout, target.retries)
        tr = self._transports.get(key)
        if tr is None:
            try:
                tr = await self._hl.UdpTransportTarget.create(
                    (target.host, target.port), timeout=target.timeout, retries=target.retries
                )
            except Exception as exc:  # pysnmp wraps resolver errors in PySnmpError
                raise SnmpError(f"{target.label}: cannot resolve host: {exc}") from None
            self._transports[key] = tr
        return tr

    def _auth_for(self, target: SnmpTarget) -> Any:
        key = id(target)
        auth = self._auth.get(key)
        if auth is None:
            auth = self._auth[key] = (_auth_data(target), target)  # keep target alive
        return auth[0]

    def _ctx(self, target: SnmpTarget) -> Any:
        ctx = self._context.get(target.context)
        if ctx is None:
            ctx = self._context[target.context] = self._hl.ContextData(contextName=target.context)
        return ctx

    def _raise_indication(self, target: SnmpTarget, indication: Any) -> None:
        name = type(indication).__name__
        text = str(indication)
        if name == "RequestTimedOut" or "timeout" in text.lower():
            hint = (
                "wrong community or agent down?"
                if target.version != "3"
                else "agent down or wrong engine?"
            )
            raise SnmpTimeout(
                f"{target.label}: no SNMP response within {target.timeout:g} s "
                f"x {target.retries + 1} tries ({hint})"
            )
        low = name[:1].lower() + name[1:]
        if low in _AUTH_ERRORS or "auth" in text.lower() or "digest" in text.lower():
            raise SnmpAuthError(
                f"{target.label}: SNMPv3 authentication failed for user "
                f"'{target.username}' ({text}: check auth/priv passwords and protocols)"
            )
        raise SnmpError(f"{target.label}: SNMP error: {text}")

    async def _pysnmp_send(
        self, kind: str, target: SnmpTarget, oids: Sequence[Oid], max_rep: int
    ) -> tuple[int, int, list[VarBind]]:
        """One request through pysnmp's RFC 3413 command generators.

        The hlapi `*_cmd` functions resolve every varbind through a MIB view (and load
        pysmi's parser on first use): about 1 ms per varbind and seconds at start-up.
        Numeric OIDs need none of that, so requests are built from ObjectName/Null pairs.
        """
        engine = self._pysnmp()
        from pyasn1.type import univ
        from pysnmp.proto import rfc1902

        transport = await self._transport(target)
        ctx = self._ctx(target)
        addr_name, _params = self._lcd.configure(
            engine, self._auth_for(target), transport, ctx.contextName
        )
        var_binds = [(rfc1902.ObjectName(o), univ.Null("")) for o in oids]
        future: asyncio.Future[tuple[Any, Any, Any, list[tuple[Any, Any]]]] = (
            self._loop.create_future()
        )

        def done(
            _engine: Any, _handle: Any, ind: Any, stat: Any, idx: Any, vbs: Any, _ctx: Any
        ) -> None:
            if not future.done():
                future.set_result((ind, stat, idx, list(vbs or ())))

        if kind == "bulk":
            self._gen_bulk.send_varbinds(
                engine, addr_name, ctx.contextEngineId, ctx.contextName,
                0, max_rep, var_binds, done,
            )  # fmt: skip
        else:
            gen = self._gen_get if kind == "get" else self._gen_next
            gen.send_varbinds(
                engine, addr_name, ctx.contextEngineId, ctx.contextName, var_binds, done,
            )  # fmt: skip
        err_ind, err_stat, err_idx, vbs = await future
        if type(err_ind).__name__ == "TooBig":
            return TOO_BIG, 0, []
        if err_ind:
            self._raise_indication(target, err_ind)
        return (
            int(err_stat or 0),
            int(err_idx or 0),
            [(tuple(name.asTuple()), _convert_value(value)) for name, value in vbs],
        )

    # ------------------------------------------------------------------ shared

    async def _send(
        self, kind: str, target: SnmpTarget, oids: Sequence[Oid], max_rep: int = 0
    ) -> tuple[int, int, list[VarBind]]:
        """One request: (error-status, error-index, varbinds) or an SnmpError.

        v1/v2c through the codec (unless `fast` is off), v3 through pysnmp.
        """
        async with self._sem:
            self.requests += 1
            if self.fast and target.version != "3":
                return await self._wire_send(kind, target, oids, max_rep)
            return await self._pysnmp_send(kind, target, oids, max_rep)

    async def get(self, target: SnmpTarget, oids: Sequence[str | Oid]) -> dict[str, Value]:
        """GET several OIDs in one request.

        Args:
            target: the agent.
            oids: numeric OIDs (text or tuples).

        Returns:
            dotted OID -> value (None when the agent has no such object).

        Raises:
            SnmpTimeout: no answer. SnmpAuthError: v3 credentials refused.
            SnmpError: any other agent or protocol error.
        """
        prefixes = [parse_oid(o) if isinstance(o, str) else o for o in oids]
        err_stat, _idx, var_binds = await self._send("get", target, prefixes)
        if err_stat and err_stat != NO_SUCH_NAME:  # noSuchName (v1): treat as missing
            raise SnmpError(f"{target.label}: SNMP GET failed: {snmp_wire.error_name(err_stat)}")
        self.varbinds += len(var_binds)
        out: dict[str, Value] = {}
        for name, value in var_binds:
            out[oid_str(name)] = None if isinstance(value, snmp_wire.Special) else value
        return out

    async def _bulk(self, target: SnmpTarget, oids: Sequence[Oid], max_rep: int) -> list[VarBind]:
        while True:
            err_stat, _idx, var_binds = await self._send("bulk", target, oids, max_rep)
            if err_stat == TOO_BIG:
                # The agent cannot fit the answer in one datagram: ask for fewer rows.
                if max_rep == 1:
                    raise SnmpError(f"{target.label}: SNMP response too big even for one row")
                max_rep = max(1, max_rep // 2)
                continue
            if err_stat:
                raise SnmpError(
                    f"{target.label}: SNMP GETBULK failed: {snmp_wire.error_name(err_stat)}"
                )
            if len(var_binds) > len(oids) * max_rep:
                raise SnmpError(
                    f"{target.label}: oversized GETBULK response ({len(var_binds)} varbinds "
                    f"for {len(oids)} x {max_rep})"
                )
            self.varbinds += len(var_binds)
            return var_binds

    async def walk_columns(
        self, target: SnmpTarget, columns: Sequence[str | Oid]
    ) -> dict[str, dict[str, Value]]:
        """Walk several subtrees (table columns) together with GETBULK.

        Args:
            target: the agent (v1 agents are walked one row at a time with GETNEXT).
            columns: the subtree OIDs.

        Returns:
            column OID -> {index suffix ("1", "1.2") -> value}, every column present
            (empty when the agent has none).

        Raises:
            SnmpError: an OID that does not increase, more than `target.max_rows` rows,
                too many requests, or an agent error. SnmpTimeout/SnmpAuthError as `get`.
        """
        if target.version == "1":
            return await self._walk_v1(target, columns)
        prefixes = [c if isinstance(c, tuple) else parse_oid(c) for c in columns]
        keys = [oid_str(p) for p in prefixes]
        result: dict[str, dict[str, Value]] = {k: {} for k in keys}
        current = list(prefixes)
        active = list(range(len(prefixes)))
        end_of_mib = snmp_wire.END_OF_MIB_VIEW
        special = snmp_wire.Special
        # Each request moves every active column on by at least one row, so this bounds
        # the loop even when an agent repeats itself.
        max_requests = target.max_rows + 2
        requests = 0
        seen_key = (target.host, target.port, target.context, tuple(prefixes))
        seen = self._rows_seen.get(seen_key)
        while active:
            requests += 1
            if requests > max_requests:
                raise SnmpError(f"{target.label}: walk did not end after {max_requests} requests")
            reps = max(1, min(target.max_repetitions, MAX_VARBINDS_PER_REQUEST // len(active)))
            if requests == 1 and seen is not None:
                reps = min(reps, seen + 1)  # a table that grew takes another request
            var_binds = await self._bulk(target, [current[i] for i in active], reps)
            if not var_binds:
                break
            m = len(active)
            done: set[int] = set()
            moved: set[int] = set()
            for k, (oid, value) in enumerate(var_binds):
                i = active[k % m]
                if i in done:
                    continue
                prefix = prefixes[i]
                if value is end_of_mib or oid[: len(prefix)] != prefix:
                    done.add(i)
                    continue
                if oid <= current[i]:
                    raise SnmpError(
                        f"{target.label}: OID not increasing in walk of {keys[i]}: "
                        f"{oid_str(oid)} after {oid_str(current[i])} (broken agent)"
                    )
                current[i] = oid
                moved.add(i)
                rows = result[keys[i]]
                rows[oid_str(oid[len(prefix) :])] = None if isinstance(value, special) else value
                if len(rows) > target.max_rows:
                    raise SnmpError(
                        f"{target.label}: table {keys[i]} has more than {target.max_rows} "
                        f"rows (endless table? raise snmp.max_rows)"
                    )
            # A column that neither moved nor ended would be asked the same thing again.
            active = [i for i in active if i not in done and i in moved]
        self._rows_seen[seen_key] = max((len(rows) for rows in result.values()), default=0)
        return result

    async def _walk_v1(
        self, target: SnmpTarget, columns: Sequence[str | Oid], limit: int = 0
    ) -> dict[str, dict[str, Value]]:
        result: dict[str, dict[str, Value]] = {}
        for col in columns:
            prefix = col if isinstance(col, tuple) else parse_oid(col)
            rows: dict[str, Value] = {}
            current = prefix
            for _ in range(target.max_rows + 1):
                err_stat, _idx, vbs = await self._send("next", target, [current])
                if err_stat or not vbs:
                    break  # noSuchName marks the end of the MIB in v1
                oid, value = vbs[0]
                if value is snmp_wire.END_OF_MIB_VIEW or oid[: len(prefix)] != prefix:
                    break
                if oid <= current:
                    raise SnmpError(f"{target.label}: OID not increasing at {oid_str(oid)}")
                current = oid
                rows[oid_str(oid[len(prefix) :])] = snmp_wire.plain(value)
                if limit and len(rows) >= limit:
                    break
            else:
                raise SnmpError(f"{target.label}: table {oid_str(prefix)} never ends")
            result[oid_str(prefix)] = rows
        return result

    async def probe(self, target: SnmpTarget, oids: Sequence[str | Oid]) -> dict[str, bool]:
        """Which subtrees the agent has, in one GETBULK with one repetition per OID
        (cheap: walk only the tables that are there).

        Returns:
            dotted OID -> True when the agent has at least one object under it.
        """
        prefixes = [o if isinstance(o, tuple) else parse_oid(o) for o in oids]
        out: dict[str, bool] = {}
        if target.version == "1":
            for p in prefixes:
                rows = await self._walk_v1(target, [p], limit=1)
                out[oid_str(p)] = bool(rows[oid_str(p)])
            return out
        var_binds = await self._bulk(target, prefixes, 1)
        for p, (oid, value) in zip(prefixes, var_binds, strict=False):
            out[oid_str(p)] = value is not snmp_wire.END_OF_MIB_VIEW and oid[: len(p)] == p
        for p in prefixes:
            out.setdefault(oid_str(p), False)
        return out

    async def walk(self, target: SnmpTarget, oid: str | Oid) -> dict[str, Value]:
        """Walk one subtree: index suffix -> value (see `walk_columns`)."""
        key = oid if isinstance(oid, str) else oid_str(oid)
        return (await self.walk_columns(target, [key]))[oid_str(parse_oid(key))]

    async def warm_up(self, targets: Iterable[SnmpTarget]) -> None:
        """One GET of sysUpTime per v3 target, so engine discovery is done before a burst.

        Errors are left for the real requests to report.
        """
        v3 = [t for t in targets if t.version == "3"]
        await asyncio.gather(
            *(self.get(t, ["1.3.6.1.2.1.1.3.0"]) for t in v3), return_exceptions=True
        )
