"""The runbook's power rules, table-driven, and the pieces around them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opskit.errors import InputError
from opskit.inventory.model import Device, SourceRef
from opskit.monitor.model import DeviceHealth, Status, worst
from opskit.monitor.ups import (
    LastSeen,
    UpsReading,
    UpsThresholds,
    evaluate,
    evaluate_silent,
    health_from_silence,
    parse_thresholds,
    reading_from_nut,
    transitions,
)

ONLINE = {
    "ups.status": "OL",
    "battery.charge": "100",
    "battery.runtime": "1800",
    "ups.load": "23",
    "input.voltage": "231",
    "output.voltage": "230",
}


@dataclass(frozen=True)
class Case:
    id: str
    changes: dict[str, str]
    status: Status
    message: str = ""  # a fragment of the problem text
    thresholds: UpsThresholds | None = None


CASES = [
    Case("online", {}, Status.OK),
    Case("online-charging", {"ups.status": "OL CHRG", "battery.charge": "20"}, Status.OK),
    Case("on-battery", {"ups.status": "OB DISCHRG"}, Status.WARNING, "on battery"),
    Case(
        "on-battery-short-runtime",
        {"ups.status": "OB DISCHRG", "battery.runtime": "540"},
        Status.CRITICAL,
        "9 min left < 10 min",
    ),
    Case(
        "on-battery-runtime-at-limit",
        {"ups.status": "OB DISCHRG", "battery.runtime": "600"},
        Status.WARNING,
    ),
    Case(
        "on-battery-low-charge",
        {"ups.status": "OB DISCHRG", "battery.charge": "29"},
        Status.CRITICAL,
        "29 % charge < 30 %",
    ),
    Case("ob-lb", {"ups.status": "OB LB DISCHRG"}, Status.CRITICAL, "low battery"),
    Case("online-low-battery", {"ups.status": "OL LB CHRG"}, Status.WARNING, "low battery"),
    Case("off", {"ups.status": "OFF"}, Status.CRITICAL, "output off"),
    Case("bypass", {"ups.status": "OL BYPASS"}, Status.CRITICAL, "bypass"),
    Case("overload", {"ups.status": "OL OVER"}, Status.CRITICAL, "overload"),
    Case(
        "alarm",
        {"ups.status": "OL ALARM", "ups.alarm": "Fan failure"},
        Status.CRITICAL,
        "Fan failure",
    ),
    Case("replace-battery", {"ups.status": "OL RB"}, Status.WARNING, "replace battery"),
    Case("forced-shutdown", {"ups.status": "OB LB FSD"}, Status.CRITICAL, "forced shutdown"),
    Case("brownout-140", {"input.voltage": "140"}, Status.CRITICAL, "140 V below 150 V"),
    Case("surge-270", {"input.voltage": "270"}, Status.CRITICAL, "270 V above 260 V"),
    Case("edge-150", {"input.voltage": "150"}, Status.OK),
    Case("edge-260", {"input.voltage": "260"}, Status.OK),
    Case(
        # The outage is graded by "on battery", not as a 0 V brown-out.
        "outage-0v-on-battery",
        {"ups.status": "OB DISCHRG", "input.voltage": "0"},
        Status.WARNING,
        "on battery",
    ),
    Case("no-status", {"ups.status": "WAIT"}, Status.UNKNOWN, "no status"),
    Case(
        "self-test-failed",
        {"ups.test.result": "Done and error"},
        Status.WARNING,
        "self-test: Done and error",
    ),
    Case("self-test-passed", {"ups.test.result": "Done and passed"}, Status.OK),
    Case(
        "runtime-limit-raised",
        {"ups.status": "OB DISCHRG", "battery.runtime": "900"},
        Status.CRITICAL,
        "15 min left < 20 min",
        UpsThresholds(runtime_min=1200),
    ),
    Case(
        "voltage-window-narrowed",
        {"input.voltage": "190"},
        Status.CRITICAL,
        "190 V below 200 V",
        UpsThresholds(input_voltage_min=200),
    ),
    Case(
        "load-limits-set",
        {"ups.load": "85"},
        Status.WARNING,
        "load 85 % >= 80 %",
        UpsThresholds(load_warning=80, load_critical=95),
    ),
    Case("load-not-graded-by-default", {"ups.load": "99"}, Status.OK),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rules(case: Case) -> None:
    readings = evaluate(reading_from_nut({**ONLINE, **case.changes}), case.thresholds)
    assert worst([r.status for r in readings]) == case.status
    problems = " / ".join(r.message for r in readings if r.status != Status.OK)
    assert case.message in problems
    if case.status == Status.OK:
        assert problems == ""


def test_readings_carry_units_and_limits() -> None:
    by_check = {r.check: r for r in evaluate(reading_from_nut(ONLINE)) if not r.subject}
    assert by_check["ups_runtime"].unit == "seconds"
    # low is bad: the limits are lower limits (crit_low), not upper ones
    assert (by_check["ups_runtime"].crit_low, by_check["ups_runtime"].crit) == (600, None)
    assert by_check["ups_battery_charge"].unit == "percent"
    assert by_check["ups_battery_charge"].crit_low == 30
    assert by_check["ups_input_voltage"].unit == "volts"
    volts = by_check["ups_input_voltage"]
    assert (volts.crit_low, volts.crit) == (150, 260)
    flags = {r.subject: r.value for r in evaluate(reading_from_nut(ONLINE)) if r.subject}
    assert flags["OL"] == 1 and flags["OB"] == 0


def test_multi_phase_input_is_judged_per_phase() -> None:
    reading = UpsReading(
        "ups-mib", ("OL",), input_voltage=231, input_voltages=(231.0, 228.0, 141.0)
    )
    bad = [r for r in evaluate(reading) if r.status != Status.OK]
    assert [(r.check, r.subject) for r in bad] == [("ups_input_voltage", "L3")]


@pytest.mark.parametrize(
    ("last", "otherwise", "expected"),
    [
        (None, Status.UNKNOWN, Status.UNKNOWN),
        (None, Status.CRITICAL, Status.CRITICAL),
        (LastSeen(("OL",), 0), Status.UNKNOWN, Status.UNKNOWN),
        (LastSeen(("OB", "DISCHRG"), 0), Status.UNKNOWN, Status.CRITICAL),
        (LastSeen(("OB", "LB"), 0), Status.UNKNOWN, Status.CRITICAL),
    ],
    ids=["never-seen", "unreachable-critical", "last-online", "last-on-battery", "last-ob-lb"],
)
def test_silent_ups(last: LastSeen | None, otherwise: Status, expected: Status) -> None:
    assert evaluate_silent(last, otherwise) == expected


def test_silent_message_names_the_last_state() -> None:
    dev = _device()
    health = health_from_silence(
        dev, "ups1 (u@h:1): cannot connect", LastSeen(("OB",), 100.0), now=160.0
    )
    assert health.status == Status.CRITICAL
    assert health.error is not None
    assert "last seen OB 60s ago on battery: assume low battery" in health.error


def test_last_seen_survives_the_state_file_and_rejects_damage() -> None:
    seen = LastSeen(("OB", "LB"), 12.5)
    assert LastSeen.from_state(seen.to_state()) == seen
    assert LastSeen.from_state({"ups_status": "OB", "ups_seen": 1}) is None
    assert LastSeen.from_state({}) is None


def _device(thresholds: dict[str, Any] | None = None) -> Device:
    return Device(
        name="ups1",
        site="lab",
        host="127.0.0.1",
        platform="ups_nut",
        thresholds=thresholds or {},
        source=SourceRef(Path("inventory.yaml"), 12),
    )


def test_thresholds_from_inventory() -> None:
    t = parse_thresholds(_device({"ups": {"runtime_min": "15m", "input_voltage_max": 250}}))
    assert (t.runtime_min, t.input_voltage_max, t.input_voltage_min) == (900, 250, 150)
    assert parse_thresholds(_device({"cpu": {"warn": 1}})) == UpsThresholds()


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ({"runtime": 5}, "unknown thresholds.ups key 'runtime'"),
        ({"charge_min": "lots"}, "thresholds.ups.charge_min must be a number"),
        ({"charge_min": True}, "thresholds.ups.charge_min must be a number"),
        ({"runtime_min": "soon"}, "thresholds.ups.runtime_min must be a number"),
    ],
    ids=["unknown-key", "text", "bool", "bad-duration"],
)
def test_bad_thresholds_name_the_place(section: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_thresholds(_device({"ups": section}))
    assert fragment in str(info.value)
    assert "inventory.yaml:12: device 'ups1'" in str(info.value)


def _health(status: Status, flags: list[str] | None) -> DeviceHealth:
    if flags is None:
        return DeviceHealth("ups1", "lab", "ups", status, error="ups1: cannot connect")
    return DeviceHealth("ups1", "lab", "ups", status, info={"ups": {"status": flags}})


def test_watch_prints_only_transitions() -> None:
    polls = [
        _health(Status.OK, ["OL", "CHRG"]),
        _health(Status.OK, ["OL"]),  # CHRG ends: not a transition
        _health(Status.WARNING, ["OB", "DISCHRG"]),
        _health(Status.WARNING, ["OB", "DISCHRG"]),
        _health(Status.CRITICAL, ["OB", "LB", "DISCHRG"]),
        _health(Status.OK, ["OL", "CHRG"]),
        _health(Status.UNKNOWN, None),
    ]
    memory: dict[str, Any] = {}
    seen = []
    for i, h in enumerate(polls):
        memory, out = transitions(memory, [h], float(i))
        seen += [(t.before, t.after, t.status.name) for t in out]
    assert seen == [
        (None, "OL", "OK"),
        ("OL", "OB", "WARNING"),
        ("OB", "OB LB", "CRITICAL"),
        ("OB LB", "OL", "OK"),
        ("OL", "no data", "UNKNOWN"),
    ]


@pytest.mark.parametrize(
    ("variables", "field", "value"),
    [
        ({"battery.temperature": "31.5", "ups.temperature": "40"}, "battery_temperature", 31.5),
        ({"ups.temperature": "40"}, "battery_temperature", 40.0),
        ({"battery.charge": "n/a"}, "battery_charge", None),
        ({"ups.status": "OB DISCHRG OB"}, "status", ("OB", "DISCHRG")),
        ({"device.model": "Smart-UPS 1500", "ups.model": "x"}, "model", "Smart-UPS 1500"),
    ],
    ids=["battery-temp", "ups-temp-fallback", "not-a-number", "duplicate-flag", "model"],
)
def test_nut_normalization(variables: dict[str, str], field: str, value: Any) -> None:
    assert getattr(reading_from_nut(variables), field) == value
