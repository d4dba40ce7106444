"""UPS health: one normalized reading for NUT, UPS-MIB and PowerNet-MIB, the runbook's
power rules and the last-seen state (pure; the checkers are in `ups_check`).

Layers (calls point down):

* `UpsReading` and `reading_from_nut` (here), `reading_from_ups_mib` /
  `reading_from_powernet` (`opskit.monitor.ups_snmp`): pure, source quirks handled there;
* `evaluate(reading, thresholds)` and `evaluate_silent(...)`: the pure rules, turning a
  reading (or its absence) into `Reading`s of the shared monitor model;
* `LastSeen`: what each UPS looked like at its last good poll, kept in the monitor
  service's state file (`ctx.previous`/`ctx.save`, written atomically), so a UPS that was
  on battery and went silent is CRITICAL, as NUT's upsmon assumes;
* `check_nut` / `check_snmp` (`opskit.monitor.ups_check`): poll one device and return its
  `DeviceHealth`; the monitor's checkers table names them for the UPS platforms.

Status flags use NUT's words (OL, OB, LB, RB, CHRG, ...): every admin knows them, and the
transitions `monitor ups --watch` prints read like upsmon's log (OL -> OB -> OB LB -> OL).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opskit.errors import InputError
from opskit.inventory import UPS_THRESHOLD_KEYS
from opskit.monitor.model import DeviceHealth, Reading, Status, worst

if TYPE_CHECKING:
    from opskit.inventory import Device

PLATFORM_NUT = "ups_nut"
PLATFORM_SNMP = "ups_snmp"
UPS_PLATFORMS = (PLATFORM_NUT, PLATFORM_SNMP)

# NUT's ups.status words, and how they read in a message.
FLAG_TEXT: Mapping[str, str] = {
    "OL": "online",
    "OB": "on battery",
    "LB": "low battery",
    "HB": "high battery",
    "RB": "replace battery",
    "CHRG": "charging",
    "DISCHRG": "discharging",
    "BYPASS": "on bypass",
    "CAL": "calibrating",
    "OFF": "output off",
    "OVER": "overload",
    "TRIM": "trimming voltage",
    "BOOST": "boosting voltage",
    "FSD": "forced shutdown",
    "ALARM": "alarm",
}
# The order flags are shown in, whatever order the source gave them.
FLAG_ORDER = tuple(FLAG_TEXT)
# Flags that flap with the battery's charge: not "transitions" worth a line in --watch.
QUIET_FLAGS = frozenset({"CHRG", "DISCHRG", "HB"})
# Flags exported one metric each (`opskit_ups_status_flag{flag="OB"}` 0/1), as
# Prometheus alert rules want them: `opskit_ups_status_flag{flag="OB"} == 1`.
# Only the flags a rule grades: each is a perfdata item in Nagios output too.
METRIC_FLAGS = ("OL", "OB", "LB", "RB", "BYPASS", "OFF", "OVER", "ALARM")


@dataclass(frozen=True, slots=True)
class UpsReading:
    """What one UPS reports, in the same units whatever the source.

    `status` holds NUT status words in FLAG_ORDER. Numbers are None when the UPS does
    not report them (or reports a "not available" value such as -1).
    """

    source: str  # "nut", "ups-mib", "powernet"
    status: tuple[str, ...] = ()
    battery_charge: float | None = None  # percent
    runtime_s: float | None = None  # seconds left on battery
    load: float | None = None  # percent of capacity
    input_voltage: float | None = None  # volts (the first phase)
    input_voltages: tuple[float, ...] = ()  # volts per phase, when there are several
    output_voltage: float | None = None
    input_frequency: float | None = None  # hertz
    battery_temperature: float | None = None  # celsius
    self_test: str | None = None  # last self-test result, as the UPS words it
    self_test_failed: bool = False
    alarms: tuple[str, ...] = ()
    manufacturer: str | None = None
    model: str | None = None

    def has(self, flag: str) -> bool:
        """True when the status carries `flag` (a NUT word such as "OB")."""
        return flag in self.status

    @property
    def status_text(self) -> str:
        """The status words as upsc shows them, e.g. "OB DISCHRG"."""
        return " ".join(self.status) or "?"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (flags spelled out too)."""
        return {
            "source": self.source,
            "status": list(self.status),
            "status_text": self.status_text,
            "flags": {FLAG_TEXT[f].replace(" ", "_"): True for f in self.status},
            "battery_charge_percent": self.battery_charge,
            "runtime_seconds": self.runtime_s,
            "load_percent": self.load,
            "input_voltage_volts": self.input_voltage,
            "input_voltages_volts": list(self.input_voltages),
            "output_voltage_volts": self.output_voltage,
            "input_frequency_hertz": self.input_frequency,
            "battery_temperature_celsius": self.battery_temperature,
            "self_test": self.self_test,
            "alarms": list(self.alarms),
            "manufacturer": self.manufacturer,
            "model": self.model,
        }


def order_flags(flags: Iterable[str]) -> tuple[str, ...]:
    """Known flags in FLAG_ORDER, without duplicates; unknown words are dropped.

    >>> order_flags(["DISCHRG", "OB", "LB", "OB", "WAIT"])
    ('OB', 'LB', 'DISCHRG')
    """
    seen = set(flags)
    return tuple(f for f in FLAG_ORDER if f in seen)


def to_number(value: Any) -> float | None:
    """A finite float from text or a number; None for anything else.

    >>> to_number("231.0"), to_number("n/a"), to_number("nan"), to_number(None)
    (231.0, None, None, None)
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def reading_from_nut(variables: Mapping[str, str]) -> UpsReading:
    """Normalize NUT variables (`upsc` names) into a UpsReading.

    battery.temperature falls back to ups.temperature: NUT's snmp-ups maps APC's battery
    temperature there, and many USB UPSes report only that one.

    >>> r = reading_from_nut({"ups.status": "OB LB DISCHRG", "battery.runtime": "240"})
    >>> r.status, r.runtime_s
    (('OB', 'LB', 'DISCHRG'), 240.0)
    """
    v = variables
    status = order_flags(str(v.get("ups.status", "")).split())
    test = v.get("ups.test.result")
    alarm = v.get("ups.alarm")
    temperature = to_number(v.get("battery.temperature"))
    if temperature is None:
        temperature = to_number(v.get("ups.temperature"))
    return UpsReading(
        source="nut",
        status=status,
        battery_charge=to_number(v.get("battery.charge")),
        runtime_s=to_number(v.get("battery.runtime")),
        load=to_number(v.get("ups.load")),
        input_voltage=to_number(v.get("input.voltage")),
        output_voltage=to_number(v.get("output.voltage")),
        input_frequency=to_number(v.get("input.frequency")),
        battery_temperature=temperature,
        self_test=test or None,
        self_test_failed=bool(test) and bool(re.search(r"fail|error", str(test), re.I)),
        alarms=(str(alarm),) if alarm else (),
        manufacturer=v.get("device.mfr") or v.get("ups.mfr") or None,
        model=v.get("device.model") or v.get("ups.model") or None,
    )


# --------------------------------------------------------------------------- thresholds

THRESHOLD_KEYS = UPS_THRESHOLD_KEYS  # `thresholds: {ups: {...}}`


@dataclass(frozen=True, slots=True)
class UpsThresholds:
    """The power rules' limits. Defaults are the runbook's: mains below 150 V or above
    260 V kill routers; page before the battery runs out (10 min, 30 %)."""

    input_voltage_min: float = 150.0
    input_voltage_max: float = 260.0
    runtime_min: float = 600.0  # seconds: on battery with less left is CRITICAL
    charge_min: float = 30.0  # percent: on battery with less left is CRITICAL
    load_warning: float | None = None  # percent; off unless set (OVER is always CRITICAL)
    load_critical: float | None = None
    temperature_warning: float | None = None  # battery celsius; off unless set
    temperature_critical: float | None = None


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$")


def _duration(value: Any) -> float | None:
    """Seconds from 600, "600s", "10m", "10 min" or "1h"; None when not a duration.

    >>> _duration("10m"), _duration(90), _duration("soon")
    (600.0, 90.0, None)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION_RE.match(str(value))
    if not match:
        return None
    unit = {"m": 60, "min": 60, "h": 3600}.get(match.group(2) or "s", 1)
    return float(match.group(1)) * unit


def parse_thresholds(device: Device) -> UpsThresholds:
    """Read `thresholds: {ups: {...}}` of an inventory device (merged from defaults, site
    and role), over the runbook defaults.

    Raises:
        InputError: an unknown key or a value that is not a number, naming the device.
    """
    section = (device.thresholds or {}).get("ups") or {}
    where = f"{device.source}: device '{device.name}'" if device.source else device.name
    if not isinstance(section, Mapping):
        raise InputError(f"{where}: thresholds.ups must be a mapping")
    values: dict[str, float] = {}
    for key, raw in section.items():
        if key not in THRESHOLD_KEYS:
            raise InputError(
                f"{where}: unknown thresholds.ups key '{key}' (known: {', '.join(THRESHOLD_KEYS)})"
            )
        number = _duration(raw) if key == "runtime_min" else to_number(raw)
        if number is None or isinstance(raw, bool):
            raise InputError(f"{where}: thresholds.ups.{key} must be a number, not {raw!r}")
        values[key] = number
    return UpsThresholds(**values)


# --------------------------------------------------------------------------- rules


def _fmt(value: float, unit: str = "") -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}".rstrip("0").rstrip(".") + " min"


def _left(r: UpsReading) -> str:
    """The " (25 min / 80 % left)" of an on-battery message: what the admin asks first."""
    parts = []
    if r.runtime_s is not None:
        parts.append(_minutes(r.runtime_s))
    if r.battery_charge is not None:
        parts.append(_fmt(r.battery_charge, "%"))
    return f" ({' / '.join(parts)} left)" if parts else ""


def _status_rules(r: UpsReading, t: UpsThresholds) -> tuple[Status, list[str]]:
    """Grade the status flags (and the battery when on battery)."""
    grades: list[tuple[Status, str]] = []
    if not r.status:
        grades.append((Status.UNKNOWN, "no status reported"))
    if r.has("OFF"):
        grades.append((Status.CRITICAL, "output off"))
    left = _left(r)
    if r.has("OB") and r.has("LB"):
        grades.append((Status.CRITICAL, f"on battery, low battery{left}"))
    elif r.has("OB"):
        grades.append((Status.WARNING, f"on battery{left}"))
    elif r.has("LB"):
        # Back on line with a low battery (after an outage): the next outage will not
        # be ridden through, but nothing is going down now.
        grades.append((Status.WARNING, "low battery"))
    if r.has("FSD"):
        grades.append((Status.CRITICAL, "forced shutdown in progress"))
    if r.has("BYPASS"):
        grades.append((Status.CRITICAL, "on bypass (load unprotected)"))
    if r.has("OVER"):
        grades.append((Status.CRITICAL, "overload"))
    if r.has("ALARM"):
        detail = f": {'; '.join(r.alarms)}" if r.alarms else ""
        grades.append((Status.CRITICAL, f"alarm{detail}"))
    if r.has("RB"):
        grades.append((Status.WARNING, "replace battery"))
    if not grades:
        return Status.OK, []
    status = worst([g for g, _ in grades])
    return status, [text for _, text in grades]


def evaluate(reading: UpsReading, thresholds: UpsThresholds | None = None) -> list[Reading]:
    """Judge one UPS reading against the rules; one `Reading` per measured value.

    The runbook's rules: input voltage below `input_voltage_min` or above
    `input_voltage_max` is CRITICAL; on battery is WARNING, CRITICAL with less than
    `runtime_min` seconds or `charge_min` percent left; OB+LB, OFF, BYPASS, ALARM and OVER
    are CRITICAL; RB is WARNING (as Nagios' check_ups). While on battery the input voltage
    is not graded: the outage is what "on battery" already reports, and grading 0 V
    CRITICAL would hide the runtime/charge steps that say how urgent it is.

    >>> out = evaluate(UpsReading("nut", ("OL",), input_voltage=140))
    >>> [(x.check, x.status.name) for x in out if x.check != "ups_status_flag"]
    [('ups_status', 'OK'), ('ups_input_voltage', 'CRITICAL')]
    """
    t = thresholds or UpsThresholds()
    r = reading
    out: list[Reading] = []
    status, notes = _status_rules(r, t)
    on_battery = r.has("OB")
    out.append(
        Reading(
            "ups_status",
            "",
            r.status_text,
            status,
            message="; ".join(notes) if notes else ", ".join(FLAG_TEXT[f] for f in r.status),
        )
    )
    for flag in METRIC_FLAGS:
        out.append(
            Reading("ups_status_flag", flag, int(r.has(flag)), Status.OK, labels={"flag": flag})
        )
    if r.battery_charge is not None:
        out.append(
            _battery_floor(
                "ups_battery_charge",
                r.battery_charge,
                t.charge_min,
                on_battery,
                unit="percent",
                show=lambda v: _fmt(v, "%"),
                noun="charge",
                max_value=100,
            )
        )
    if r.runtime_s is not None:
        out.append(
            _battery_floor(
                "ups_runtime",
                r.runtime_s,
                t.runtime_min,
                on_battery,
                unit="seconds",
                show=_minutes,
                noun="left",
            )
        )
    if r.load is not None:
        out.append(_upper("ups_load", "", r.load, "percent", t.load_warning, t.load_critical))
    phases = r.input_voltages if len(r.input_voltages) > 1 else ()
    volts = [(f"L{i}", v) for i, v in enumerate(phases, 1)] or (
        [("", r.input_voltage)] if r.input_voltage is not None else []
    )
    for subject, value in volts:
        assert value is not None
        bad = not on_battery and not (t.input_voltage_min <= value <= t.input_voltage_max)
        where = f" {subject}" if subject else ""
        message = ""
        if bad:
            side = "below" if value < t.input_voltage_min else "above"
            limit = t.input_voltage_min if side == "below" else t.input_voltage_max
            message = f"input voltage{where} {_fmt(value, 'V')} {side} {_fmt(limit, 'V')}"
        out.append(
            Reading(
                "ups_input_voltage",
                subject,
                value,
                Status.CRITICAL if bad else Status.OK,
                unit="volts",
                message=message,
                crit_low=t.input_voltage_min,
                crit=t.input_voltage_max,
            )
        )
    if r.output_voltage is not None:
        out.append(Reading("ups_output_voltage", "", r.output_voltage, Status.OK, unit="volts"))
    if r.input_frequency is not None:
        out.append(Reading("ups_input_frequency", "", r.input_frequency, Status.OK, unit="hertz"))
    if r.battery_temperature is not None:
        out.append(
            _upper(
                "ups_battery_temperature",
                "",
                r.battery_temperature,
                "celsius",
                t.temperature_warning,
                t.temperature_critical,
            )
        )
    if r.self_test:
        out.append(
            Reading(
                "ups_self_test",
                "",
                r.self_test,
                Status.WARNING if r.self_test_failed else Status.OK,
                message=f"last self-test: {r.self_test}" if r.self_test_failed else "",
            )
        )
    return out


def _battery_floor(
    check: str,
    value: float,
    floor: float,
    on_battery: bool,
    *,
    unit: str,
    show: Callable[[float], str],
    noun: str,
    max_value: float | None = None,
) -> Reading:
    # Charge and runtime left matter only on battery: CRITICAL below their floor then.
    low = on_battery and value < floor
    return Reading(
        check,
        "",
        value,
        Status.CRITICAL if low else Status.OK,
        unit=unit,
        message=f"on battery with {show(value)} {noun} < {show(floor)}" if low else "",
        crit_low=floor,
        min=0,
        max=max_value,
    )


def _upper(
    check: str, subject: str, value: float, unit: str, warn: float | None, crit: float | None
) -> Reading:
    status = Status.OK
    if crit is not None and value >= crit:
        status = Status.CRITICAL
    elif warn is not None and value >= warn:
        status = Status.WARNING
    name = check.removeprefix("ups_").replace("_", " ")
    message = ""
    if status != Status.OK:
        limit = crit if status == Status.CRITICAL else warn
        assert limit is not None
        short = {"percent": "%", "celsius": "C"}.get(unit, unit)
        message = f"{name} {_fmt(value, short)} >= {_fmt(limit, short)}"
    return Reading(check, subject, value, status, unit=unit, message=message, warn=warn, crit=crit)


def evaluate_silent(last: LastSeen | None, otherwise: Status = Status.UNKNOWN) -> Status:
    """The status of a UPS that gave no data: `otherwise` (UNKNOWN for stale data; the
    `settings.monitor.unreachable` status when upsd or the agent cannot be reached), but
    CRITICAL when it was last seen on battery: NUT's upsmon assumes such a UPS reached low
    battery, and the routers behind it are about to go down.

    >>> evaluate_silent(LastSeen(("OB", "DISCHRG"), 0.0)).name
    'CRITICAL'
    >>> evaluate_silent(LastSeen(("OL",), 0.0)).name
    'UNKNOWN'
    """
    if last is not None and "OB" in last.status:
        return Status.CRITICAL
    return otherwise


def silent_message(error: str, last: LastSeen | None, now: float | None = None) -> str:
    """One line for a silent UPS, with what it last looked like."""
    if last is None:
        return error
    now = time.time() if now is None else now
    ago = max(0, int(now - last.time))
    seen = f"last seen {' '.join(last.status) or '?'} {ago}s ago"
    if "OB" in last.status:
        return f"{error}; {seen} on battery: assume low battery"
    return f"{error}; {seen}"


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class LastSeen:
    """What a UPS looked like at its last good poll (kept in the monitor state file)."""

    status: tuple[str, ...]
    time: float

    def to_state(self) -> dict[str, Any]:
        """The JSON-able form saved with `CheckContext.save`."""
        return {"ups_status": list(self.status), "ups_seen": self.time}

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> LastSeen | None:
        """Read back `to_state`'s form; None when absent or damaged."""
        status, seen = data.get("ups_status"), to_number(data.get("ups_seen"))
        if not isinstance(status, list) or seen is None:
            return None
        return cls(tuple(str(s) for s in status), seen)


# --------------------------------------------------------------------------- health


def health_from_reading(
    device: Device,
    reading: UpsReading,
    thresholds: UpsThresholds,
    *,
    info: Mapping[str, Any] | None = None,
) -> DeviceHealth:
    """A DeviceHealth from a good reading (rules applied)."""
    return DeviceHealth.from_readings(
        device.name,
        device.site,
        "ups",
        evaluate(reading, thresholds),
        {"ups": reading.to_dict(), **(info or {})},
    )


def health_from_silence(
    device: Device,
    error: str,
    last: LastSeen | None,
    *,
    otherwise: Status = Status.UNKNOWN,
    now: float | None = None,
    info: Mapping[str, Any] | None = None,
) -> DeviceHealth:
    """A DeviceHealth for a UPS that gave no data (stale, unreachable, refused)."""
    status = evaluate_silent(last, otherwise)
    message = silent_message(error, last, now)
    extra: dict[str, Any] = {"last_seen": None}
    if last is not None:
        extra["last_seen"] = {"status": list(last.status), "time": last.time}
    return DeviceHealth(
        device=device.name,
        site=device.site,
        kind="ups",
        status=status,
        error=message,
        info={**extra, **(info or {})},
    )


# --------------------------------------------------------------------------- watch


@dataclass(frozen=True, slots=True)
class Transition:
    """A UPS changed state between two polls (`monitor ups --watch`)."""

    time: float
    device: str
    before: str | None  # None on the first poll
    after: str
    status: Status
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (one JSON line per transition under --json)."""
        return {
            "time": self.time,
            "device": self.device,
            "from": self.before,
            "to": self.after,
            "status": self.status.name,
            "message": self.message,
        }


def power_state(health: DeviceHealth) -> str:
    """What --watch compares between polls: the UPS's status words without those that
    flap with the charge (CHRG, DISCHRG, HB), or "no data" when it gave none.

    >>> power_state(DeviceHealth("u", "s", "ups", Status.OK,
    ...                          info={"ups": {"status": ["OB", "LB", "DISCHRG"]}}))
    'OB LB'
    """
    ups = health.info.get("ups")
    if health.error is not None or not isinstance(ups, Mapping):
        return "no data"
    words = [str(w) for w in ups.get("status", ()) if w not in QUIET_FLAGS]
    return " ".join(words) or "?"


def transitions(
    previous: Mapping[str, tuple[str, Status]],
    devices: Iterable[DeviceHealth],
    when: float,
) -> tuple[dict[str, tuple[str, Status]], list[Transition]]:
    """Compare one poll with the last: (the new memory, the transitions to print).

    A UPS is reported when its power state or its status (OK/WARNING/...) changed, and
    on the first poll.

    >>> h = DeviceHealth("u", "s", "ups", Status.WARNING, info={"ups": {"status": ["OB"]}})
    >>> memory, out = transitions({"u": ("OL", Status.OK)}, [h], 0.0)
    >>> (out[0].before, out[0].after, out[0].status.name)
    ('OL', 'OB', 'WARNING')
    """
    memory = dict(previous)
    out: list[Transition] = []
    for health in devices:
        state = (power_state(health), health.status)
        before = previous.get(health.device)
        memory[health.device] = state
        if before == state:
            continue
        problems = health.problems()
        message = health.error or "; ".join(r.message for r in problems if r.message)
        out.append(
            Transition(
                time=when,
                device=health.device,
                before=before[0] if before else None,
                after=state[0],
                status=health.status,
                message=message,
            )
        )
    return memory, out
