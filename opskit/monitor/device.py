"""Health of SNMP network devices (routers, switches): uptime and reboots, interfaces,
CPU, memory, temperatures, fans and power supplies.

What to read is data (`opskit/monitor/mibs/*.yaml`, one file per MIB); this module has
one reader per *kind* of table (percent, pool, storage, state_table, entity_sensor).
A poll is three requests plus the walk: GET of the system group (also the v3 warm-up),
one GETBULK probe of every table's first column, then one lock-step GETBULK walk of just
the columns of the tables that are there.

Polling (`poll_device`) and judging (`evaluate`) are separate so the judging is pure and
tested on its own; rates and reboot detection use the state saved at the last poll.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from opskit.monitor.model import DeviceHealth, Reading, Status, worst
from opskit.monitor.thresholds import Limit, Thresholds
from opskit.targets import snmp_target

if TYPE_CHECKING:
    from opskit.inventory import Device
    from opskit.monitor.context import CheckContext
    from opskit.transport.snmp import SnmpClient, SnmpTarget, Value

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYSTEM_OIDS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME)
TICKS_WRAP = 2**32  # sysUpTime is TimeTicks (1/100 s), a 32-bit value: wraps at 497 days
COUNTER32 = 2**32


@dataclass(frozen=True, slots=True)
class MibSource:
    """One table of one MIB, as described in a mibs/*.yaml file."""

    id: str
    mib: str
    role: str  # cpu | memory | sensors
    kind: str  # percent | pool | storage | state_table | entity_sensor
    priority: int
    columns: Mapping[str, str]
    spec: Mapping[str, Any] = field(default_factory=dict)

    @property
    def probe_oid(self) -> str:
        """The column whose presence says the table is there (the first listed)."""
        return next(iter(self.columns.values()))


@dataclass(frozen=True, slots=True)
class MibData:
    """Everything loaded from opskit/monitor/mibs/."""

    interfaces: Mapping[str, str]
    admin_status: Mapping[int, str]
    oper_status: Mapping[int, str]
    sources: tuple[MibSource, ...]


@lru_cache(maxsize=1)
def load_mibs() -> MibData:
    """Read the OID maps shipped in opskit/monitor/mibs/ (cached)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    sources: list[MibSource] = []
    if_mib: dict[str, Any] = {}
    folder = resources.files("opskit.monitor").joinpath("mibs")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        doc = yaml.load(entry.read_text(encoding="utf-8"), Loader=loader)
        if "interfaces" in doc:
            if_mib = doc
        for src in doc.get("sources") or ():
            sources.append(
                MibSource(
                    id=src["id"],
                    mib=doc["mib"],
                    role=src["role"],
                    kind=src["kind"],
                    priority=int(src.get("priority", 100)),
                    columns={k: str(v) for k, v in src["columns"].items()},
                    spec=src,
                )
            )
    return MibData(
        interfaces={k: str(v) for k, v in if_mib["interfaces"].items()},
        admin_status={int(k): str(v) for k, v in if_mib["admin_status"].items()},
        oper_status={int(k): str(v) for k, v in if_mib["oper_status"].items()},
        sources=tuple(sorted(sources, key=lambda s: (s.priority, s.id))),
    )


@dataclass(frozen=True, slots=True)
class RawPoll:
    """What one poll read: the system group and the walked columns (OID -> rows)."""

    system: Mapping[str, Value]
    columns: Mapping[str, Mapping[str, Value]]
    sources: tuple[MibSource, ...]  # the tables that were there
    hc: bool  # 64-bit counters present
    polled_at: float = 0.0


def _chosen_sources(present: Mapping[str, bool], mibs: MibData) -> list[MibSource]:
    chosen: list[MibSource] = []
    have_role: set[str] = set()
    for src in mibs.sources:  # sorted by priority
        if not present.get(src.probe_oid):
            continue
        if src.role in ("cpu", "memory"):
            if src.role in have_role:
                continue  # one CPU and one memory source per device: the best one
            have_role.add(src.role)
        chosen.append(src)
    return chosen


async def poll_device(client: SnmpClient, target: SnmpTarget, *, now: float) -> RawPoll:
    """Read what a health check needs from one agent.

    Raises:
        SnmpError, SnmpTimeout, SnmpAuthError: the agent failed (see opskit.transport.snmp).
    """
    mibs = load_mibs()
    ifc = mibs.interfaces
    # 1. The system group; for v3 this is also engine discovery before the burst.
    system = await client.get(target, SYSTEM_OIDS)
    # 2. Which tables are there (one request).
    probes = [ifc["name"], ifc["in_octets_hc"], *(s.probe_oid for s in mibs.sources)]
    present = await client.probe(target, list(dict.fromkeys(probes)))
    hc = present[ifc["in_octets_hc"]]
    chosen = _chosen_sources(present, mibs)
    # 3. One lock-step walk of only the columns needed.
    columns = [
        ifc["name"] if present[ifc["name"]] else ifc["descr"],
        ifc["admin"],
        ifc["oper"],
        *(
            (ifc["speed_hc"], ifc["in_octets_hc"], ifc["out_octets_hc"])
            if hc
            else (ifc["speed"], ifc["in_octets"], ifc["out_octets"])
        ),
        ifc["in_errors"],
        ifc["out_errors"],
        ifc["in_discards"],
        ifc["out_discards"],
    ]
    for src in chosen:
        columns.extend(src.columns.values())
        names = src.spec.get("names")
        if names:
            columns.extend(str(v) for v in names.values())
    walked = await client.walk_columns(target, list(dict.fromkeys(columns)))
    return RawPoll(system=system, columns=walked, sources=tuple(chosen), hc=hc, polled_at=now)


# ---------------------------------------------------------------- judging (pure)


def _num(value: Value) -> float | None:
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _counter_delta(cur: float | None, prev: float | None, bits: int) -> float | None:
    """Counter increase between polls: one 32-bit wrap is allowed; a 64-bit counter
    that goes back was reset (no rate).

    >>> _counter_delta(2000, 4294960000, 32)
    9296.0
    >>> _counter_delta(5, 10, 64) is None
    True
    """
    if cur is None or prev is None:
        return None
    if cur >= prev:
        return float(cur - prev)
    if bits == 32:
        return float(cur + COUNTER32 - prev)
    return None


def uptime_reading(
    ticks: float | None, previous: Mapping[str, Any], elapsed_wall: float | None, th: Thresholds
) -> tuple[Reading, bool]:
    """The uptime reading, and whether the device rebooted since the last poll.

    A reboot is uptime lower than at the last poll, unless the 32-bit TimeTicks
    wrapped (497 days) in between.
    """
    if ticks is None:
        return Reading(
            "uptime", "", None, Status.UNKNOWN, unit="seconds", message="no sysUpTime"
        ), False
    seconds = ticks / 100
    prev = previous.get("uptime_ticks")
    rebooted = False
    if isinstance(prev, int | float) and ticks < prev:
        expected = prev + (elapsed_wall or 0) * 100
        wrapped = expected >= TICKS_WRAP and abs((expected - TICKS_WRAP) - ticks) < max(
            6000, 0.1 * (elapsed_wall or 0) * 100
        )
        rebooted = not wrapped
    if rebooted:
        status = th.status("reboot")
        message = f"rebooted since the last poll (up {_duration(seconds)})"
    else:
        status, message = Status.OK, f"up {_duration(seconds)}"
    return Reading("uptime", "", seconds, status, unit="seconds", message=message, min=0), rebooted


def _duration(seconds: float) -> str:
    """`3d 4h`, `5h 2m`, `40s`.

    >>> _duration(93784)
    '1d 2h'
    """
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    return f"{m}m {s}s" if m else f"{s}s"


def interface_readings(
    raw: RawPoll,
    previous: Mapping[str, Any],
    elapsed: float | None,
    rebooted: bool,
    th: Thresholds,
) -> tuple[list[Reading], dict[str, list[float | None]]]:
    """Readings per interface and the counters to keep for the next poll."""
    mibs = load_mibs()
    ifc = mibs.interfaces
    cols = raw.columns
    names = cols.get(ifc["name"]) or cols.get(ifc["descr"]) or {}
    admin = cols.get(ifc["admin"], {})
    oper = cols.get(ifc["oper"], {})
    hc = raw.hc
    speed_col = cols.get(ifc["speed_hc"] if hc else ifc["speed"], {})
    counters = [
        cols.get(ifc["in_octets_hc" if hc else "in_octets"], {}),
        cols.get(ifc["out_octets_hc" if hc else "out_octets"], {}),
        cols.get(ifc["in_errors"], {}),
        cols.get(ifc["out_errors"], {}),
        cols.get(ifc["in_discards"], {}),
        cols.get(ifc["out_discards"], {}),
    ]
    bits = [64 if hc else 32, 64 if hc else 32, 32, 32, 32, 32]
    prev_if = previous.get("if") if isinstance(previous.get("if"), Mapping) else {}
    prev_hc = previous.get("hc")
    err_limit = th.limit("if_errors")
    disc_limit = th.limit("if_discards")
    util = th.limit("if_utilization")
    readings: list[Reading] = []
    keep: dict[str, list[float | None]] = {}
    indexes = sorted(set(admin) | set(oper) | set(names), key=_index_key)
    for idx in indexes:
        name = str(names.get(idx) or f"ifIndex {idx}")
        labels = {"ifname": name}
        a = admin.get(idx)
        o = oper.get(idx)
        a_name = mibs.admin_status.get(a, str(a)) if isinstance(a, int) else "unknown"
        o_name = mibs.oper_status.get(o, str(o)) if isinstance(o, int) else "unknown"
        if a_name != "up":
            readings.append(
                Reading(
                    "if_status",
                    name,
                    "admin-down",
                    Status.OK,
                    labels=labels,
                    message=f"{name} admin down",
                )
            )
            continue
        if o_name in ("up", "dormant"):
            st, msg = Status.OK, f"{name} up"
        else:
            st, msg = th.status("if_down"), f"{name} is {o_name} but admin up"
        readings.append(Reading("if_status", name, o_name, st, labels=labels, message=msg))
        speed_raw = _num(speed_col.get(idx))
        speed = None if speed_raw is None else (speed_raw * 1e6 if hc else speed_raw)
        if speed:
            readings.append(
                Reading("if_speed", name, speed, Status.OK, unit="bits_per_second", labels=labels)
            )
        current = [_num(c.get(idx)) for c in counters]
        keep[idx] = current
        before = prev_if.get(idx) if isinstance(prev_if, Mapping) else None
        if (
            not elapsed
            or elapsed <= 0
            or rebooted
            or prev_hc != hc
            or not isinstance(before, list)
            or len(before) != len(current)
        ):
            continue
        deltas = [_counter_delta(c, p, b) for c, p, b in zip(current, before, bits, strict=True)]
        for pos, check in ((0, "if_in"), (1, "if_out")):
            d = deltas[pos]
            if d is None:
                continue
            rate = d * 8 / elapsed
            if speed and rate > speed * 1.5:
                continue  # a counter reset read as a wrap: no believable rate
            warn = speed * util.warn / 100 if speed and util.warn else None
            crit = speed * util.crit / 100 if speed and util.crit else None
            status = Limit(warn, crit).judge(rate)
            readings.append(
                Reading(
                    check,
                    name,
                    round(rate, 3),
                    status,
                    unit="bits_per_second",
                    warn=warn,
                    crit=crit,
                    min=0,
                    max=speed,
                    labels=labels,
                    message=f"{name} {check[3:]} {_bits(rate)}"
                    + (f" of {_bits(speed)}" if speed else ""),
                )
            )
        for pos, check, limit in (
            (2, "if_in_errors", err_limit),
            (3, "if_out_errors", err_limit),
            (4, "if_in_discards", disc_limit),
            (5, "if_out_discards", disc_limit),
        ):
            d = deltas[pos]
            if d is None:
                continue
            rate = d / elapsed
            readings.append(
                _limit_reading(
                    check,
                    name,
                    rate,
                    limit,
                    digits=4,
                    unit="per_second",
                    labels=labels,
                    message=f"{name} {check[3:].replace('_', ' ')} {rate:.3g}/s",
                )
            )
    return readings, keep


def _index_key(idx: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in idx.split("."))
    except ValueError:
        return (0,)


def _bits(rate: float) -> str:
    """`1.24 kbit/s`.

    >>> _bits(1_239_466)
    '1.24 Mbit/s'
    """
    for unit, div in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if rate >= div:
            return f"{rate / div:.3g} {unit}"
    return f"{rate:.3g} bit/s"


def _rows(raw: RawPoll, src: MibSource, col: str) -> Mapping[str, Value]:
    return raw.columns.get(src.columns[col], {}) if col in src.columns else {}


def _status_name(text: str) -> Status:
    return {"ok": Status.OK, "warning": Status.WARNING, "critical": Status.CRITICAL}.get(
        text, Status.UNKNOWN
    )


def source_readings(raw: RawPoll, th: Thresholds) -> list[Reading]:
    """CPU, memory and sensor readings from the tables the device had."""
    out: list[Reading] = []
    for src in raw.sources:
        reader = _READERS.get(src.kind)
        if reader is not None:
            out.extend(reader(raw, src, th))
    return out


def _read_percent(raw: RawPoll, src: MibSource, th: Thresholds) -> list[Reading]:
    values: dict[str, float] = {}
    for i, v in _rows(raw, src, "value").items():
        n = _num(v)
        if n is not None:
            values[i] = n
    if not values:
        return []
    check = src.role
    limit = th.limit(check)
    agg = src.spec.get("aggregate", "each")
    if agg == "each":
        items = sorted(values.items(), key=lambda kv: _index_key(kv[0]))
        multi = len(items) > 1
        pairs = [(f"{check}{i}" if multi else "", v) for i, v in items]
    elif agg == "max":
        pairs = [("", max(values.values()))]
    else:
        pairs = [("", sum(values.values()) / len(values))]
    return [
        _percent_reading(
            check,
            subject,
            v,
            limit,
            labels={"sensor": subject} if subject else {},
            message=f"{check} {v:.0f}% ({src.mib})",
        )
        for subject, v in pairs
    ]


def _percent_reading(
    check: str, subject: str, pct: float, limit: Limit, *, labels: dict[str, str], message: str
) -> Reading:
    # CPU, memory pools and storage all report a 0-100 % gauge judged by one limit.
    return _limit_reading(
        check,
        subject,
        pct,
        limit,
        digits=2,
        unit="percent",
        labels=labels,
        message=message,
        top=100,
    )


def _limit_reading(
    check: str,
    subject: str,
    value: float,
    limit: Limit,
    *,
    digits: int,
    unit: str,
    labels: dict[str, str],
    message: str,
    top: float | None = None,
) -> Reading:
    # A value from 0 up (to `top` where it has one), judged by the unrounded value.
    return Reading(
        check,
        subject,
        round(value, digits),
        limit.judge(value),
        unit=unit,
        warn=limit.warn,
        crit=limit.crit,
        min=0,
        max=top,
        labels=labels,
        message=message,
    )


def _read_pool(raw: RawPoll, src: MibSource, th: Thresholds) -> list[Reading]:
    names = _rows(raw, src, "name")
    used = _rows(raw, src, "used")
    free = _rows(raw, src, "free")
    limit = th.limit("memory")
    out = []
    for idx in sorted(used, key=_index_key):
        u, f = _num(used.get(idx)), _num(free.get(idx))
        if u is None or f is None or u + f <= 0:
            continue
        pct = 100 * u / (u + f)
        name = str(names.get(idx) or f"pool {idx}").strip()
        out.append(
            _percent_reading(
                "memory",
                name,
                pct,
                limit,
                labels={"sensor": name},
                message=f"memory {name} {pct:.0f}% used",
            )
        )
    return out


def _read_storage(raw: RawPoll, src: MibSource, th: Thresholds) -> list[Reading]:
    wanted = str(src.spec.get("storage_type"))
    types = _rows(raw, src, "type")
    names, units = _rows(raw, src, "name"), _rows(raw, src, "units")
    size, used = _rows(raw, src, "size"), _rows(raw, src, "used")
    limit = th.limit("memory")
    out = []
    for idx, typ in types.items():
        if str(typ) != wanted:
            continue
        s, u = _num(size.get(idx)), _num(used.get(idx))
        if not s or u is None:
            continue
        pct = 100 * u / s
        name = str(names.get(idx) or "memory")
        unit_bytes = _num(units.get(idx)) or 1
        out.append(
            _percent_reading(
                "memory",
                name,
                pct,
                limit,
                labels={"sensor": name},
                message=f"memory {name} {pct:.0f}% of {s * unit_bytes / 2**30:.1f} GiB used",
            )
        )
    return out


def _temperature_limit(th: Thresholds, device_limit: float | None) -> Limit:
    # Explicit inventory thresholds win; else the device's own limit (its shutdown
    # point: warn 10 C before it); else the defaults.
    if "temperature" in th.raw or device_limit is None or device_limit <= 0:
        return th.limit("temperature")
    return Limit(device_limit - 10, device_limit)


def _read_state_table(raw: RawPoll, src: MibSource, th: Thresholds) -> list[Reading]:
    check = str(src.spec["check"])
    unit = str(src.spec.get("unit", ""))
    states = {int(k): v for k, v in (src.spec.get("states") or {}).items()}
    names = _rows(raw, src, "name")
    values = _rows(raw, src, "value")
    thresholds = _rows(raw, src, "threshold")
    state_col = _rows(raw, src, "state")
    out = []
    for idx in sorted(set(names) | set(state_col), key=_index_key):
        name = str(names.get(idx) or f"{check} {idx}").strip()
        raw_state = state_col.get(idx)
        verdict, state_name = (
            states.get(raw_state, ["unknown", str(raw_state)])
            if isinstance(raw_state, int)
            else ["unknown", "unknown"]
        )
        st = _status_name(str(verdict))
        labels = {"sensor": name}
        if "value" in src.columns:
            value = _num(values.get(idx))
            if value is None:
                continue  # a sensor row without a value (not present)
            limit = (
                _temperature_limit(th, _num(thresholds.get(idx)))
                if check == "temperature"
                else Limit()
            )
            st = worst([st, limit.judge(value)])
            out.append(
                Reading(
                    check,
                    name,
                    value,
                    st,
                    unit=unit,
                    warn=limit.warn,
                    crit=limit.crit,
                    labels=labels,
                    message=f"{name} {value:g} {_unit_short(unit)} ({state_name})",
                )
            )
        else:
            out.append(
                Reading(check, name, state_name, st, labels=labels, message=f"{name} {state_name}")
            )
    return out


def _unit_short(unit: str) -> str:
    return {
        "celsius": "C",
        "volts": "V",
        "amperes": "A",
        "watts": "W",
        "hertz": "Hz",
        "percent": "%",
        "rpm": "rpm",
    }.get(unit, unit)


def _read_entity_sensor(raw: RawPoll, src: MibSource, th: Thresholds) -> list[Reading]:
    types = {int(k): v for k, v in (src.spec.get("types") or {}).items()}
    statuses = {int(k): str(v) for k, v in (src.spec.get("statuses") or {}).items()}
    name_cols = src.spec.get("names") or {}
    ent_names = raw.columns.get(str(name_cols.get("name")), {})
    ent_descr = raw.columns.get(str(name_cols.get("descr")), {})
    typ, scale, prec = (
        _rows(raw, src, "type"),
        _rows(raw, src, "scale"),
        _rows(raw, src, "precision"),
    )
    values, status_col = _rows(raw, src, "value"), _rows(raw, src, "status")
    out = []
    for idx in sorted(typ, key=_index_key):
        t = typ.get(idx)
        if not isinstance(t, int) or t not in types:
            continue
        check, unit = str(types[t][0]), str(types[t][1])
        raw_value = _num(values.get(idx))
        sc = scale.get(idx)
        pr = prec.get(idx)
        sc_i = sc if isinstance(sc, int) else 9
        pr_i = pr if isinstance(pr, int) else 0
        value = None if raw_value is None else raw_value * 10 ** (3 * (sc_i - 9)) / 10**pr_i
        name = str(ent_names.get(idx) or ent_descr.get(idx) or f"sensor {idx}").strip()
        s = status_col.get(idx)
        oper = statuses.get(s, "unknown") if isinstance(s, int) else "ok"
        limit = th.limit("temperature") if check == "temperature" else Limit()
        if oper in ("unavailable", "nonoperational"):
            # The device says the value means nothing: no value, no perfdata, not judged
            # unless the shop's thresholds grade this state.
            st = th.status(f"sensor_{oper}")
            graded = st != Status.OK
            out.append(
                Reading(
                    check,
                    name,
                    None,
                    st,
                    unit=unit,
                    labels={"sensor": name},
                    message=f"{name} {oper}" + ("" if graded else ", not graded"),
                    state=oper,
                    graded=graded,
                )
            )
            continue
        if oper != "ok":
            st = _status_name(oper)
        else:
            st = Status.OK if value is None else limit.judge(value)
        shown = "-" if value is None else f"{value:.4g}"
        out.append(
            Reading(
                check,
                name,
                None if value is None or not math.isfinite(value) else round(value, 4),
                st,
                unit=unit,
                warn=limit.warn,
                crit=limit.crit,
                labels={"sensor": name},
                message=f"{name} {shown} {_unit_short(unit)}"
                + (f" ({oper})" if oper != "ok" else ""),
                state=oper,
            )
        )
    return out


def sensor_changes(readings: list[Reading], previous: Mapping[str, Any]) -> list[Reading]:
    """A sensor that was ok at the last poll and is not now becomes a WARNING (once).

    The next poll, when it is still unavailable, shows it as the thresholds say again:
    the change is the news, not the state.
    """
    was_ok = set(previous.get("sensors_ok") or ())
    out = []
    for r in readings:
        quiet = r.status.severity < Status.WARNING.severity
        if r.state not in ("", "ok") and r.subject in was_ok and quiet:
            r = replace(
                r,
                status=Status.WARNING,
                graded=True,
                message=f"{r.subject} became {r.state} (ok at the last poll)",
            )
        out.append(r)
    return out


_READERS = {
    "percent": _read_percent,
    "pool": _read_pool,
    "storage": _read_storage,
    "state_table": _read_state_table,
    "entity_sensor": _read_entity_sensor,
}


def evaluate(
    device: str,
    site: str,
    raw: RawPoll,
    previous: Mapping[str, Any],
    th: Thresholds,
) -> tuple[DeviceHealth, dict[str, Any]]:
    """Judge one poll against the thresholds and the previous poll.

    Returns:
        The device's health and the state to keep for its next poll.
    """
    ticks = _num(raw.system.get(SYS_UPTIME))
    prev_at = previous.get("polled_at")
    elapsed_wall = raw.polled_at - prev_at if isinstance(prev_at, int | float) else None
    uptime, rebooted = uptime_reading(ticks, previous, elapsed_wall, th)
    # The agent's own clock (uptime delta) is the better time base: no polling jitter,
    # and recordings of two polls give exact rates. The wall clock is the fallback.
    prev_ticks = previous.get("uptime_ticks")
    elapsed: float | None = elapsed_wall
    if (
        ticks is not None
        and isinstance(prev_ticks, int | float)
        and ticks > prev_ticks
        and not rebooted
    ):
        elapsed = (ticks - prev_ticks) / 100
    if_readings, counters = interface_readings(raw, previous, elapsed, rebooted, th)
    sensors = sensor_changes(source_readings(raw, th), previous)
    readings = [uptime, *sensors, *if_readings]
    info = {
        "sys_descr": raw.system.get(SYS_DESCR),
        "sys_object_id": raw.system.get(SYS_OBJECT_ID),
        "sys_name": raw.system.get(SYS_NAME),
        "counters": "64-bit" if raw.hc else "32-bit",
        "mibs": sorted({s.mib for s in raw.sources}),
    }
    health = DeviceHealth.from_readings(device, site, "snmp", readings, info)
    state = {
        "polled_at": raw.polled_at,
        "uptime_ticks": ticks,
        "hc": raw.hc,
        "if": counters,
        "sensors_ok": sorted({r.subject for r in sensors if r.state == "ok"}),
    }
    return health, state


async def check_snmp_device(ctx: CheckContext, device: Device) -> DeviceHealth:
    """The checker for routers and switches (registered as the SNMP fallback)."""
    target = snmp_target(ctx.inventory, device)
    th = ctx.thresholds(device)
    raw = await poll_device(ctx.snmp, target, now=ctx.now)
    health, state = evaluate(device.name, device.site, raw, ctx.previous(device), th)
    ctx.save(device, state)
    return health
