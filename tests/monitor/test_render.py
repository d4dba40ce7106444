"""Renderers and thresholds (pure): naming convention, perfdata quoting, merging."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _reference_prometheus(report: HealthReport) -> str:
    """The exposition text as prometheus-client renders it (what render_prometheus wrote
    through before it wrote the text itself)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    from opskit.monitor.render import _numeric, reading_labels

    families: dict[str, GaugeMetricFamily] = {}
    label_sets: dict[str, tuple[str, ...]] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()

    def add(name: str, doc: str, labels: dict[str, str], value: float) -> None:
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            return
        seen.add(key)
        keys = tuple(labels)
        fam = families.get(name)
        if fam is None:
            fam = families[name] = GaugeMetricFamily(name, doc, labels=list(keys))
            label_sets[name] = keys
        elif label_sets[name] != keys:
            allk = tuple(dict.fromkeys(label_sets[name] + keys))
            if allk != label_sets[name]:
                old = fam.samples
                fam = families[name] = GaugeMetricFamily(name, doc, labels=list(allk))
                for s in old:
                    fam.add_metric([s.labels.get(k, "") for k in allk], s.value)
                label_sets[name] = allk
        fam.add_metric([labels.get(k, "") for k in label_sets[name]], value)

    for d in report.devices:
        base = {"device": d.device, "site": d.site}
        add("opskit_device_status",
            "Worst check status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).", base,
            float(d.status))  # fmt: skip
        add("opskit_device_up", "1 when the device answered the poll.", base,
            0.0 if d.error else 1.0)  # fmt: skip
        add("opskit_device_poll_duration_seconds", "Time the poll took.", base, float(d.duration_s))
        for r in d.readings:
            add("opskit_check_status",
                "Status of each check (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
                {**base, "check": r.check, "subject": r.subject}, float(r.status))  # fmt: skip
            value = _numeric(r.value)
            if value is None:
                continue
            if r.unit == "bits_per_second":
                value /= 8
            add(metric_name(r), f"opskit {r.check} ({r.unit or 'value'}).",
                reading_labels(d, r), value)  # fmt: skip

    class _Collector:
        def collect(self) -> list[GaugeMetricFamily]:
            return list(families.values())

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return generate_latest(registry).decode("utf-8")


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_value = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.sampled_from([1e7, 12345678.0, 0.1, -1e21, 1e-7, 100.0, 0]),
    st.booleans(),
    _text,
    st.none(),
)
_reading = st.builds(
    Reading,
    check=st.sampled_from(["temperature", "if_in", "cpu", "fan", "9lives", "ups-load", "x"]),
    subject=_text,
    value=_value,
    status=st.sampled_from(list(Status)),
    unit=st.sampled_from(["", "celsius", "bits_per_second", "percent", "seconds", "kilo-watts"]),
    labels=st.dictionaries(
        st.sampled_from(["ifname", "sensor", "mountpoint", "1st", "a-b", "device"]), _text,
        max_size=3,
    ),
)  # fmt: skip
_device = st.builds(
    DeviceHealth,
    device=_text,
    site=_text,
    kind=st.just("snmp"),
    status=st.sampled_from(list(Status)),
    readings=st.lists(_reading, max_size=8).map(tuple),
    error=st.one_of(st.none(), st.just("timeout")),
    duration_s=st.floats(0, 100),
)


@given(st.lists(_device, max_size=4).map(lambda ds: HealthReport(tuple(ds))))
@settings(max_examples=300, deadline=None)
def test_prometheus_text_equals_prometheus_client(report: HealthReport) -> None:
    assert render_prometheus(report) == _reference_prometheus(report)
