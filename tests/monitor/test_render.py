"""Renderers and thresholds (pure): naming convention, perfdata quoting, merging."""

from __future__ import annotations

import pytest

from opskit.errors import InputError
from opskit.monitor.model import DeviceHealth, HealthReport, Reading, Status
from opskit.monitor.render import metric_name, render_nagios, render_prometheus
from opskit.monitor.thresholds import merge_thresholds


@pytest.mark.parametrize(
    ("check", "unit", "name"),
    [
        ("temperature", "celsius", "opskit_temperature_celsius"),
        ("if_in", "bits_per_second", "opskit_if_in_bytes_per_second"),
        ("ups_input_voltage", "volts", "opskit_ups_input_voltage_volts"),
        ("ups_runtime_seconds", "seconds", "opskit_ups_runtime_seconds"),
        ("load", "", "opskit_load"),
    ],
    ids=lambda v: str(v),
)
def test_metric_names(check: str, unit: str, name: str) -> None:
    assert metric_name(Reading(check, "", 1.0, Status.OK, unit=unit)) == name


def _report(*readings: Reading) -> HealthReport:
    return HealthReport((DeviceHealth("sw'1", "hq", "snmp", Status.WARNING, readings),))


def test_prometheus_bits_exported_as_bytes_and_no_duplicates() -> None:
    text = render_prometheus(
        _report(
            Reading("if_in", "Gi1", 8000.0, Status.OK, unit="bits_per_second",
                    labels={"ifname": "Gi1"}),
            Reading("temperature", "T", 40.0, Status.OK, unit="celsius"),
            Reading("temperature", "T", 41.0, Status.OK, unit="celsius"),  # same name twice
            Reading("fan", "F", "failed", Status.CRITICAL),
        )
    )  # fmt: skip
    assert 'opskit_if_in_bytes_per_second{device="sw\'1",ifname="Gi1",site="hq"} 1000.0' in text
    assert text.count("opskit_temperature_celsius{") == 1
    assert 'opskit_check_status{check="fan",device="sw\'1",site="hq",subject="F"} 2.0' in text


def test_nagios_quotes_labels_and_escapes_pipes() -> None:
    out = render_nagios(
        _report(Reading("temperature", "a=b", 61.5, Status.WARNING, unit="celsius", warn=60,
                        crit=75, message="inlet | 61.5 C"))
    )  # fmt: skip
    first = out.splitlines()[0]
    assert first.startswith("OPSKIT WARNING - sw'1 inlet / 61.5 C | ")
    assert first.endswith("'sw''1 temperature a_b'=61.5;60;75")


def test_thresholds_merge_and_validation() -> None:
    th = merge_thresholds({"cpu": {"warn": 50}, "if_down": "critical", "ups_low": 1})
    assert (th.limit("cpu").warn, th.limit("cpu").crit) == (50, 95)
    assert th.status("if_down") == Status.CRITICAL
    assert th.raw["ups_low"] == 1  # other checks' keys are kept, not refused
    with pytest.raises(InputError, match=r"thresholds\.cpu must be"):
        merge_thresholds({"cpu": 80}, where="sw1")
    with pytest.raises(InputError, match=r"sw1: thresholds\.reboot must be ok, warning"):
        merge_thresholds({"reboot": "loud"}, where="sw1")


@pytest.mark.parametrize("module", ["render", "device", "thresholds", "server", "service", "model"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"opskit.monitor.{module}"))
    assert result.failed == 0


def test_perfdata_thresholds_are_nagios_ranges() -> None:
    from opskit.monitor.model import DeviceHealth, HealthReport, Reading, Status
    from opskit.monitor.render import perfdata

    readings = (
        Reading("cpu", "", 42, Status.OK, unit="percent", warn=80, crit=95, min=0, max=100),
        Reading("ups_runtime", "", 900, Status.OK, unit="seconds", crit_low=600, min=0),
        Reading("ups_input_voltage", "", 231, Status.OK, unit="volts", crit_low=150, crit=260),
        Reading("ups_status_flag", "OB", 0, Status.OK),
    )
    report = HealthReport((DeviceHealth("ups1", "hq", "ups", Status.OK, readings),))
    assert perfdata(report) == [
        "'ups1 cpu'=42%;80;95;0;100",
        # alert when runtime drops below 600 s: "600:" (OK from 600 up)
        "'ups1 ups_runtime'=900s;;600:;0",
        # alert outside 150-260 V
        "'ups1 ups_input_voltage'=231;;150:260",
    ]
