"""The asyncio SNMP engine (pysnmp 7, `pysnmp.hlapi.v3arch.asyncio`): targets, GET and
guarded GETBULK walks.

Design points, each from a measured figure (see docs/notes/issue-5.md):

* one `SnmpEngine` (one UDP socket) per run, and a semaphore bounding the requests in
  flight (~50): beyond that the socket's receive buffer overflows and agents "time out";
* numeric OIDs everywhere and no MIB resolution at all: requests go through pysnmp's
  RFC 3413 command generators, because the hlapi `*_cmd` functions resolve every varbind
  through a MIB view even with `lookupMib=False` (and Debian ships no MIB files anyway);
* walks are our own GETBULK loop over several columns at once (fewer round trips than one
  walk per column) with guards against broken agents: an OID that does not increase, a
  table that never ends (row cap), a response too big for the agent (halve
  max-repetitions, then give up with a clear error);
* the first request to a v3 agent does engine discovery; callers send one GET before a
  burst of walks to the same agent (`SnmpClient.get` of the system group does it).

Values come back as plain Python: int for every integer type, str for strings (hex
`0x..` when not text), dotted str for OIDs and IP addresses, None for noSuch*/endOfMib.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opskit.errors import DeviceError, DeviceTimeout, InputError

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

Value = int | str | None
Oid = tuple[int, ...]

SNMP_KEYS = (
    "version",
    "credentials",
    "host",
    "port",
    "timeout",
    "retries",
    "max_repetitions",
    "max_rows",
    "context",
)
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
    return ".".join(str(p) for p in oid)


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """Where and how to reach one agent. Secrets are kept out of repr and JSON."""

    device: str
    host: str
    port: int = 161
    version: str = "2c"  # "1", "2c" or "3"
    timeout: float = 2.0
    retries: int = 1
    community: Any = field(default=None, repr=False)  # a Secret
    username: str | None = None
    auth_password: Any = field(default=None, repr=False)  # a Secret
    priv_password: Any = field(default=None, repr=False)  # a Secret
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

    @classmethod
    def from_device(cls, inventory: Any, device: Any) -> SnmpTarget:
        """Build a target from an inventory device's `snmp:` section and credentials.

        Args:
            inventory: the loaded `opskit.inventory.Inventory`.
            device: an `opskit.inventory.Device` with a host and an `snmp` section.

        Returns:
            The target; defaults come from the inventory settings (timeouts, retries).

        Raises:
            InputError: unknown keys, a bad version or protocol, missing community/user.
        """
        from opskit.inventory import resolve_credentials

        snmp: Mapping[str, Any] = device.snmp or {}
        where = f"{device.source}: device '{device.name}'" if device.source else device.name
        unknown = sorted(set(snmp) - set(SNMP_KEYS))
        if unknown:
            raise InputError(
                f"{where}: unknown snmp key '{unknown[0]}' (known: {', '.join(SNMP_KEYS)})"
            )
        host = snmp.get("host") or device.host
        if not host:
            raise InputError(f"{where}: snmp needs a host")
        version = str(snmp.get("version", "2c")).lower().removeprefix("v")
        if version not in ("1", "2c", "3"):
            raise InputError(f"{where}: snmp version must be 1, 2c or 3, not '{version}'")
        settings = inventory.settings
        try:
            port = int(snmp.get("port", 161))
            timeout = float(snmp.get("timeout", settings.snmp_timeout))
            retries = int(snmp.get("retries", settings.snmp_retries))
            max_rep = int(snmp.get("max_repetitions", DEFAULT_MAX_REPETITIONS))
            max_rows = int(snmp.get("max_rows", DEFAULT_MAX_ROWS))
        except (TypeError, ValueError):
            raise InputError(f"{where}: snmp port/timeout/retries must be numbers") from None
        if not (0 < port < 65536 and timeout > 0 and retries >= 0 and max_rep > 0):
            raise InputError(f"{where}: snmp port/timeout/retries/max_repetitions out of range")
        cred_name = snmp.get("credentials") or device.credentials
        creds = resolve_credentials(inventory, cred_name, device=device.name)
        common: dict[str, Any] = dict(
            device=device.name,
            host=str(host),
            port=port,
            version=version,
            timeout=timeout,
            retries=retries,
            max_repetitions=max_rep,
            max_rows=max_rows,
            context=str(snmp.get("context") or creds.options.get("context") or ""),
        )
        if version != "3":
            if creds.community is None:
                raise InputError(
                    f"{where}: SNMP v{version} needs a credential set with a community "
                    f"(set snmp.credentials)"
                )
            return cls(community=creds.community, **common)
        if not creds.username:
            raise InputError(f"{where}: SNMPv3 needs a credential set with a username")
        opts = creds.options
        auth_proto = str(opts.get("auth_protocol", "sha")).lower().replace("-", "")
        priv_proto = str(opts.get("priv_protocol", "aes")).lower().replace("-", "")
        if auth_proto not in AUTH_PROTOCOLS:
            raise InputError(f"{where}: auth_protocol must be one of {', '.join(AUTH_PROTOCOLS)}")
        if priv_proto not in PRIV_PROTOCOLS:
            raise InputError(f"{where}: priv_protocol must be one of {', '.join(PRIV_PROTOCOLS)}")
        default_level = (
            "authPriv"
            if creds.priv_password
            else "authNoPriv"
            if creds.auth_password
            else "noAuthNoPriv"
        )
        level = str(opts.get("security_level", default_level))
        matches = [s for s in SECURITY_LEVELS if s.lower() == level.lower()]
        if not matches:
            raise InputError(f"{where}: security_level must be one of {', '.join(SECURITY_LEVELS)}")
        level = matches[0]
        if level != "noAuthNoPriv" and creds.auth_password is None:
            raise InputError(f"{where}: SNMPv3 {level} needs auth_password")
        if level == "authPriv" and creds.priv_password is None:
            raise InputError(f"{where}: SNMPv3 authPriv needs priv_password")
        return cls(
            username=creds.username,
            auth_password=creds.auth_password,
            priv_password=creds.priv_password,
            auth_protocol=auth_proto,
            priv_protocol=priv_proto,
            security_level=level,
            **common,
        )


def _auth_data(target: SnmpTarget) -> Any:
    from pysnmp.hlapi.v3arch import asyncio as hl

    if target.version != "3":
        return hl.CommunityData(
            target.community.get_secret_value(), mpModel=0 if target.version == "1" else 1
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
    auth_key = target.auth_password.get_secret_value()
    if target.security_level == "authNoPriv":
        return hl.UsmUserData(target.username, authKey=auth_key, authProtocol=auth)
    return hl.UsmUserData(
        target.username,
        authKey=auth_key,
        privKey=target.priv_password.get_secret_value(),
        authProtocol=auth,
        privProtocol=priv,
    )


def _convert_value(value: Any) -> Value:
    """A pysnmp value as plain Python (see the module docstring)."""
    from pyasn1.type import univ
    from pysnmp.proto import rfc1902

    if isinstance(value, univ.Null):  # also noSuchObject/noSuchInstance/endOfMibView
        return None
    if isinstance(value, univ.Integer):  # Integer32, Counter32/64, Gauge32, TimeTicks
        return int(value)
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, univ.OctetString):
        raw: bytes = value.asOctets()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + raw.hex()
        if text and not text.rstrip("\x00").isprintable() and "\n" not in text:
            return "0x" + raw.hex()
        return text.rstrip("\x00")
    if isinstance(value, univ.ObjectIdentifier):
        return oid_str(value.asTuple())
    return None  # Null, noSuchObject, noSuchInstance, endOfMibView


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


class SnmpClient:
    """One pysnmp engine shared by every request of a run, with a bound on requests in
    flight. Create it inside the running event loop; `close()` it at the end.

    Args:
        max_in_flight: requests outstanding at once over the engine's one UDP socket.
    """

    def __init__(self, max_in_flight: int = DEFAULT_IN_FLIGHT) -> None:
        from pysnmp.entity.rfc3413 import cmdgen
        from pysnmp.hlapi.v3arch import asyncio as hl
        from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator

        self._hl = hl
        self._engine = hl.SnmpEngine()
        self._lcd = CommandGeneratorLcdConfigurator()
        self._gen_get = cmdgen.GetCommandGenerator()
        self._gen_next = cmdgen.NextCommandGenerator()
        self._gen_bulk = cmdgen.BulkCommandGenerator()
        self._sem = asyncio.Semaphore(max_in_flight)
        self._transports: dict[tuple[str, int, float, int], Any] = {}
        self._auth: dict[int, Any] = {}
        self._context: dict[str, Any] = {}
        self.requests = 0
        self.varbinds = 0
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()

        def quiet_late_answers(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            # An answer to a request that was retried or given up on may arrive after the
            # engine closed its socket; pysnmp then raises from a loop callback. Harmless.
            exc = context.get("exception")
            if exc is not None and "Unregistered transport" in str(exc):
                return
            if previous is not None:
                previous(lp, context)
            else:
                lp.default_exception_handler(context)

        loop.set_exception_handler(quiet_late_answers)

    def close(self) -> None:
        """Close the engine's socket."""
        self._engine.close_dispatcher()

    async def __aenter__(self) -> SnmpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

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

    async def _send(
        self, kind: str, target: SnmpTarget, oids: Sequence[Oid], max_rep: int = 0
    ) -> tuple[Any, Any, list[tuple[Any, Any]]]:
        """One request through pysnmp's RFC 3413 command generators.

        The hlapi `*_cmd` functions resolve every varbind through a MIB view (and load
        pysmi's parser on first use): about 1 ms per varbind and seconds at start-up.
        Numeric OIDs need none of that, so requests are built from ObjectName/Null pairs.
        """
        from pyasn1.type import univ
        from pysnmp.proto import rfc1902

        transport = await self._transport(target)
        ctx = self._ctx(target)
        addr_name, _params = self._lcd.configure(
            self._engine, self._auth_for(target), transport, ctx.contextName
        )
        var_binds = [(rfc1902.ObjectName(o), univ.Null("")) for o in oids]
        future: asyncio.Future[tuple[Any, Any, list[tuple[Any, Any]]]] = (
            asyncio.get_running_loop().create_future()
        )

        def done(
            _engine: Any, _handle: Any, ind: Any, stat: Any, _idx: Any, vbs: Any, _ctx: Any
        ) -> None:
            if not future.done():
                future.set_result((ind, stat, list(vbs or ())))

        async with self._sem:
            self.requests += 1
            if kind == "bulk":
                self._gen_bulk.send_varbinds(
                    self._engine, addr_name, ctx.contextEngineId, ctx.contextName,
                    0, max_rep, var_binds, done,
                )  # fmt: skip
            else:
                gen = self._gen_get if kind == "get" else self._gen_next
                gen.send_varbinds(
                    self._engine, addr_name, ctx.contextEngineId, ctx.contextName,
                    var_binds, done,
                )  # fmt: skip
            return await future

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
        err_ind, err_stat, var_binds = await self._send("get", target, prefixes)
        if err_ind:
            self._raise_indication(target, err_ind)
        if err_stat and int(err_stat) != 2:  # 2 = noSuchName (v1): treat as missing
            raise SnmpError(f"{target.label}: SNMP GET failed: {err_stat.prettyPrint()}")
        self.varbinds += len(var_binds)
        out: dict[str, Value] = {}
        for name, value in var_binds:
            out[oid_str(name.asTuple())] = _convert_value(value)
        return out

    async def _bulk(self, target: SnmpTarget, oids: Sequence[Oid], max_rep: int) -> list[Any]:
        while True:
            err_ind, err_stat, var_binds = await self._send("bulk", target, oids, max_rep)
            too_big = (err_stat and int(err_stat) == 1) or type(err_ind).__name__ == "TooBig"
            if too_big:
                # The agent cannot fit the answer in one datagram: ask for fewer rows.
                if max_rep == 1:
                    raise SnmpError(f"{target.label}: SNMP response too big even for one row")
                max_rep = max(1, max_rep // 2)
                continue
            if err_ind:
                self._raise_indication(target, err_ind)
            if err_stat:
                raise SnmpError(f"{target.label}: SNMP GETBULK failed: {err_stat.prettyPrint()}")
            if len(var_binds) > len(oids) * max_rep:
                raise SnmpError(
                    f"{target.label}: oversized GETBULK response ({len(var_binds)} varbinds "
                    f"for {len(oids)} x {max_rep})"
                )
            self.varbinds += len(var_binds)
            return list(var_binds)

    async def walk_columns(
        self, target: SnmpTarget, columns: Sequence[str | Oid]
    ) -> dict[str, dict[str, Value]]:
        """Walk several subtrees (table columns) together with GETBULK.

        Args:
            target: the agent (v1 agents are walked one row at a time with GETBULK
                disabled: they are rare and get GETNEXT semantics through max_rep 1).
            columns: the subtree OIDs.

        Returns:
            column OID -> {index suffix ("1", "1.2") -> value}, every column present
            (empty when the agent has none).

        Raises:
            SnmpError: an OID that does not increase, more than `target.max_rows` rows,
                too many requests, or an agent error. SnmpTimeout/SnmpAuthError as `get`.
        """
        from pysnmp.proto import rfc1905

        if target.version == "1":
            return await self._walk_v1(target, columns)
        prefixes = [c if isinstance(c, tuple) else parse_oid(c) for c in columns]
        keys = [oid_str(p) for p in prefixes]
        result: dict[str, dict[str, Value]] = {k: {} for k in keys}
        current = list(prefixes)
        active = list(range(len(prefixes)))
        # Each request moves every active column on by at least one row, so this bounds
        # the loop even when an agent repeats itself.
        max_requests = target.max_rows + 2
        requests = 0
        while active:
            requests += 1
            if requests > max_requests:
                raise SnmpError(f"{target.label}: walk did not end after {max_requests} requests")
            reps = max(1, min(target.max_repetitions, MAX_VARBINDS_PER_REQUEST // len(active)))
            var_binds = await self._bulk(target, [current[i] for i in active], reps)
            if not var_binds:
                break
            m = len(active)
            done: set[int] = set()
            moved: set[int] = set()
            for k, (name, value) in enumerate(var_binds):
                i = active[k % m]
                if i in done:
                    continue
                prefix = prefixes[i]
                oid = name.asTuple()
                if isinstance(value, rfc1905.EndOfMibView) or oid[: len(prefix)] != prefix:
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
                rows[oid_str(oid[len(prefix) :])] = _convert_value(value)
                if len(rows) > target.max_rows:
                    raise SnmpError(
                        f"{target.label}: table {keys[i]} has more than {target.max_rows} "
                        f"rows (endless table? raise snmp.max_rows)"
                    )
            # A column that neither moved nor ended would be asked the same thing again.
            active = [i for i in active if i not in done and i in moved]
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
                err_ind, err_stat, vbs = await self._send("next", target, [current])
                if err_ind:
                    self._raise_indication(target, err_ind)
                if err_stat or not vbs:
                    break  # noSuchName marks the end of the MIB in v1
                name, value = vbs[0]
                oid = name.asTuple()
                if oid[: len(prefix)] != prefix:
                    break
                if oid <= current:
                    raise SnmpError(f"{target.label}: OID not increasing at {oid_str(oid)}")
                current = oid
                rows[oid_str(oid[len(prefix) :])] = _convert_value(value)
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
        from pysnmp.proto import rfc1905

        prefixes = [o if isinstance(o, tuple) else parse_oid(o) for o in oids]
        out: dict[str, bool] = {}
        if target.version == "1":
            for p in prefixes:
                rows = await self._walk_v1(target, [p], limit=1)
                out[oid_str(p)] = bool(rows[oid_str(p)])
            return out
        var_binds = await self._bulk(target, prefixes, 1)
        for p, (name, value) in zip(prefixes, var_binds, strict=False):
            out[oid_str(p)] = (
                not isinstance(value, rfc1905.EndOfMibView) and name.asTuple()[: len(p)] == p
            )
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
