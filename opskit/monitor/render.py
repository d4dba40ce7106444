"""Render a HealthReport as text, JSON, Nagios plugin output or Prometheus exposition.

Every renderer works on generic `Reading`s, so a new kind of check (UPS, ...) renders
right by following these conventions:

Metric naming (Prometheus; `render_prometheus`)
-----------------------------------------------
* Name: `opskit_` + `reading.check` + `_` + `reading.unit`, the unit left out when empty
  or when the check already ends with it. Checks are snake_case and say what is
  measured (`temperature`, `cpu`, `if_in`, `ups_battery_charge`); units are Prometheus
  base units (`seconds`, `bytes`, `celsius`, `volts`, `amperes`, `watts`, `hertz`, `rpm`,
  `percent`, `ratio`, `bytes_per_second`, `per_second`). A `bits_per_second` reading (what
  people read in text and Nagios) is exported as `bytes_per_second`, value / 8: promtool
  rejects "bits" in names. Examples:
  `temperature`/`celsius` -> `opskit_temperature_celsius`; `if_in`/`bits_per_second` ->
  `opskit_if_in_bytes_per_second`; `ups_input_voltage`/`volts` ->
  `opskit_ups_input_voltage_volts`; `ups_runtime`/`seconds` -> `opskit_ups_runtime_seconds`.
* Labels: `device` and `site` always, then `reading.labels` as given (snake_case keys:
  `ifname` for interfaces, `sensor` for sensors, `mountpoint` for filesystems, `ups`
  for a UPS name). A reading with a `subject` and no labels gets `sensor=<subject>`.
* Only numeric values become value metrics (gauges: snapshots and rates, never raw
  counters). A string value (a state such as `up`, `failed`, `OB LB`) is carried by:
* `opskit_check_status{device,site,check,subject}`: every reading's status, 0/1/2/3 as
  Nagios (OK/WARNING/CRITICAL/UNKNOWN);
* per device: `opskit_device_status` (worst, 0-3), `opskit_device_up` (1 when polled,
  0 when unreachable) and `opskit_device_poll_duration_seconds`.

Nagios (`render_nagios`): `OPSKIT <STATUS> - <problems; ...>` then `|` and perfdata
`'<device> <check> <subject>'=value[UOM];warn;crit;min;max` for each numeric reading
(interface readings only when not OK, to keep the line within the plugin output limit),
then one long-text line per problem. The exit code is the worst status.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from opskit.monitor.model import DeviceHealth, HealthReport, Reading, Status

_NAME_OK = re.compile(r"[^a-zA-Z0-9_]")
_LABEL_OK = re.compile(r"[^a-zA-Z0-9_]")
_PROM_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
NAGIOS_UOM = {"seconds": "s", "percent": "%", "bytes": "B"}


def metric_name(reading: Reading) -> str:
    """The Prometheus metric name of a reading (see the module docstring).

    >>> metric_name(Reading("temperature", "CPU", 41.0, Status.OK, unit="celsius"))
    'opskit_temperature_celsius'
    >>> metric_name(Reading("ups_runtime_seconds", "", 900, Status.OK, unit="seconds"))
    'opskit_ups_runtime_seconds'
    """
    base = _NAME_OK.sub("_", reading.check)
    unit = _NAME_OK.sub("_", reading.unit)
    if unit == "bits_per_second":
        unit = "bytes_per_second"
    if unit and not base.endswith(unit):
        base = f"{base}_{unit}"
    return f"opskit_{base}"


def reading_labels(device: DeviceHealth, reading: Reading) -> dict[str, str]:
    """The labels of a reading's value metric (device, site, then its own)."""
    labels = {"device": device.device, "site": device.site}
    if reading.labels:
        for key, value in reading.labels.items():
            labels[_LABEL_OK.sub("_", key)] = str(value)
    elif reading.subject:
        labels["sensor"] = reading.subject
    return labels


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


# ---------------------------------------------------------------- JSON


def reading_dict(r: Reading) -> dict[str, Any]:
    """JSON shape of one reading (status by name)."""
    return {
        "check": r.check,
        "subject": r.subject,
        "value": r.value,
        "unit": r.unit,
        "status": r.status.name,
        "message": r.message,
        "warn": r.warn,
        "crit": r.crit,
        "warn_low": r.warn_low,
        "crit_low": r.crit_low,
        "min": r.min,
        "max": r.max,
        "labels": dict(r.labels),
        "state": r.state,
        "graded": r.graded,
    }


def report_dict(report: HealthReport) -> dict[str, Any]:
    """JSON shape of a report: overall status and exit code, then every device.

    `{"ok", "status", "exit_code", "devices": [{"device", "site", "kind", "status",
    "error", "duration_s", "info", "problems", "readings": [reading...]}]}`
    """
    return {
        "ok": report.status == Status.OK,
        "status": report.status.name,
        "exit_code": int(report.status),
        "devices": [
            {
                "device": d.device,
                "site": d.site,
                "kind": d.kind,
                "status": d.status.name,
                "error": d.error,
                "duration_s": d.duration_s,
                "info": dict(d.info),
                "problems": len(d.problems()) + (1 if d.error else 0),
                "readings": [reading_dict(r) for r in d.readings],
            }
            for d in report.devices
        ],
    }


# ---------------------------------------------------------------- text


def describe(device: DeviceHealth, reading: Reading) -> str:
    """One short line for a problem: `core-sw1 Fan 2 critical` (the message says what)."""
    if reading.message:
        return f"{device.device} {reading.message}"
    subject = f" {reading.subject}" if reading.subject else ""
    return f"{device.device} {reading.check}{subject} {_value_text(reading)}"


def _value_text(reading: Reading) -> str:
    if not reading.graded:
        return f"not graded ({reading.state})"
    value = reading.value
    if isinstance(value, float):
        value = f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"
    unit = {"celsius": " C", "percent": "%", "seconds": " s", "volts": " V"}.get(
        reading.unit, f" {reading.unit}" if reading.unit else ""
    )
    return "-" if value is None else f"{value}{unit}"


def problem_rows(
    report: HealthReport, *, collapse: int = 3
) -> list[tuple[DeviceHealth, Reading | None]]:
    """(device, reading) pairs that are not OK, worst first; reading None = unreachable.

    More than `collapse` problems of one check and status on one device (48 access
    ports down but admin up) become one row naming the first few.
    """
    rows: list[tuple[DeviceHealth, Reading | None]] = []
    for d in report.devices:
        if d.error:
            rows.append((d, None))
        groups: dict[tuple[str, Status], list[Reading]] = {}
        for r in d.problems():
            groups.setdefault((r.check, r.status), []).append(r)
        for (check, status), items in groups.items():
            if len(items) <= collapse:
                rows.extend((d, r) for r in items)
                continue
            names = ", ".join(r.subject for r in items[:collapse])
            rows.append(
                (
                    d,
                    Reading(
                        check,
                        f"{len(items)} x",
                        len(items),
                        status,
                        message=f"{len(items)} x {check} {status.name}: {names}, ...",
                    ),
                )
            )
    return sorted(rows, key=lambda x: -(x[0].status if x[1] is None else x[1].status).severity)


def _summary(d: DeviceHealth) -> str:
    """`211 readings, 199 ok, 6 not graded (0.42 s)`: not-graded readings count apart."""
    ungraded = [r for r in d.readings if not r.graded]
    ok = sum(1 for r in d.readings if r.status == Status.OK and r.graded)
    names = ", ".join(r.subject for r in ungraded[:3]) + (", ..." if len(ungraded) > 3 else "")
    extra = f", {len(ungraded)} not graded: {names}" if ungraded else ""
    return f"{len(d.readings)} readings, {ok} ok{extra} ({d.duration_s:.2f} s)"


def render_text_lines(report: HealthReport, *, show_all: bool = False) -> list[str]:
    """Plain text (for pipes and cron mail): problems first, then a line per device."""
    lines: list[str] = []
    for d, r in problem_rows(report):
        if r is None:
            lines.append(f"{d.status.name:<9} {d.error}")
        else:
            lines.append(f"{r.status.name:<9} {describe(d, r)}")
    for d in report.devices:
        lines.append(f"{d.status.name:<9} {d.device:<20} {_summary(d)}")
        if show_all:
            for r in d.readings:
                subject = f" {r.subject}" if r.subject else ""
                lines.append(f"  {r.status.name:<9} {r.check}{subject}: {_value_text(r)}")
    lines.append(f"overall: {report.status.name} ({len(report.devices)} devices)")
    return lines


def render_text_table(report: HealthReport, *, show_all: bool = False) -> Any:
    """A rich Table for a terminal: problems first, then one row per device."""
    from rich.table import Table

    colour = {
        Status.OK: "green",
        Status.WARNING: "yellow",
        Status.CRITICAL: "red",
        Status.UNKNOWN: "magenta",
    }
    table = Table(title=f"opskit health: {report.status.name}", title_justify="left")
    for col in ("status", "device", "check", "subject", "value / message"):
        table.add_column(col)
    for d, r in problem_rows(report):
        st = d.status if r is None else r.status
        if r is None:
            table.add_row(f"[{colour[st]}]{st.name}[/]", d.device, "poll", "", d.error or "")
        else:
            table.add_row(
                f"[{colour[st]}]{st.name}[/]",
                d.device,
                r.check,
                r.subject,
                r.message or _value_text(r),
            )
    for d in report.devices:
        table.add_row(f"[{colour[d.status]}]{d.status.name}[/]", d.device, d.kind, "", _summary(d))
        if show_all:
            for r in d.readings:
                table.add_row(
                    f"[{colour[r.status]}]{r.status.name}[/]",
                    "",
                    r.check,
                    r.subject,
                    _value_text(r),
                )
    return table


# ---------------------------------------------------------------- Nagios


def _perf_label(text: str) -> str:
    # Plugin guidelines: labels with spaces are quoted; a quote inside is doubled; no '='.
    text = text.replace("=", "_").replace("'", "''")
    return f"'{text}'"


def _perf_number(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def nagios_range(low: float | None, high: float | None) -> str:
    """A Nagios threshold range: OK inside, alert outside (plugin guidelines).

    >>> nagios_range(None, 95), nagios_range(30, None), nagios_range(150, 260)
    ('95', '30:', '150:260')
    """
    if low is None:
        return _perf_number(high)
    return f"{_perf_number(low)}:{_perf_number(high)}"


# Readings that are OK say nothing in perfdata worth their length: one per interface and
# one per UPS status flag (they are in --format json and prometheus).
_QUIET_WHEN_OK = ("if_", "ups_status_flag")


def perfdata(report: HealthReport) -> list[str]:
    """Perfdata items `'label'=value[UOM];warn;crit;min;max` for numeric readings."""
    items: list[str] = []
    for d in report.devices:
        for r in d.readings:
            value = _numeric(r.value)
            if value is None:
                continue
            if r.check.startswith(_QUIET_WHEN_OK) and r.status == Status.OK:
                continue
            label = " ".join(x for x in (d.device, r.check, r.subject) if x)
            uom = NAGIOS_UOM.get(r.unit, "")
            fields = [
                nagios_range(r.warn_low, r.warn),
                nagios_range(r.crit_low, r.crit),
                _perf_number(r.min),
                _perf_number(r.max),
            ]
            tail = ";".join(fields).rstrip(";")
            items.append(
                f"{_perf_label(label)}={_perf_number(value)}{uom}" + (f";{tail}" if tail else "")
            )
    return items


def render_nagios(report: HealthReport, *, max_summary: int = 5) -> str:
    """Nagios/Icinga plugin output (status line, perfdata, long text); see the module doc."""
    rows = problem_rows(report)
    summaries = [
        (d.error or f"{d.device} unreachable") if r is None else describe(d, r) for d, r in rows
    ]
    if summaries:
        head = "; ".join(summaries[:max_summary])
        if len(summaries) > max_summary:
            head += f"; and {len(summaries) - max_summary} more"
    else:
        n = len(report.devices)
        readings = sum(len(d.readings) for d in report.devices)
        head = f"{n} device{'s' if n != 1 else ''} OK, {readings} readings"
    head = head.replace("|", "/")  # '|' starts perfdata
    perf = perfdata(report)
    first = f"OPSKIT {report.status.name} - {head}"
    if perf:
        first += " | " + " ".join(perf)
    long_lines = [
        f"{(d.status if r is None else r.status).name}: {s}".replace("|", "/")
        for (d, r), s in zip(rows, summaries, strict=True)
    ]
    return "\n".join([first, *long_lines]) + "\n"


# ---------------------------------------------------------------- Prometheus


class _Family:
    """One metric family: its help text, its label names (the union of its samples',
    in first-seen order) and its samples."""

    __slots__ = ("doc", "keys", "samples")

    def __init__(self, doc: str, keys: tuple[str, ...]) -> None:
        self.doc = doc
        self.keys = keys
        self.samples: list[tuple[dict[str, str], float]] = []


def _prom_name(name: str) -> str:
    # What prometheus_client's escaping does to a name outside [a-zA-Z_][a-zA-Z0-9_]*.
    if _PROM_NAME.fullmatch(name) or not name:
        return name
    name = _NAME_OK.sub("_", name)
    return "_" + name[1:] if name[0].isdigit() else name


def _prom_value(value: float) -> str:
    # prometheus_client's floatToGoString: Go's exponent form from 1e7 up.
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if value != value:
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def _prom_label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render_prometheus(report: HealthReport, labels: Mapping[str, str] | None = None) -> str:
    """The text exposition format, see the module docstring.

    `labels` are added to every sample (`{"shard": "east"}` for a poller's shard), so a
    central Prometheus that federates several pollers tells their series apart.

    Written directly rather than through prometheus-client's registry, which took a
    third of a per-device scrape's CPU in `monitor serve`; the text is the same
    (tests/monitor/test_render.py compares the two).
    """
    extra = dict(labels or {})
    families: dict[str, _Family] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()

    def add(name: str, doc: str, labels: dict[str, str], value: float) -> None:
        if extra:
            labels = {**labels, **extra}
        key = (name, tuple(sorted(labels.items())))
        if key in seen:  # two sensors with one name: keep the first, never a duplicate
            return
        seen.add(key)
        fam = families.get(name)
        if fam is None:
            fam = families[name] = _Family(doc, tuple(labels))
        elif not set(labels) <= set(fam.keys):
            # One family, one label set: missing labels are "" so that readings of the
            # same check from different sources still share a metric.
            fam.keys = tuple(dict.fromkeys(fam.keys + tuple(labels)))
        fam.samples.append((labels, value))

    for d in report.devices:
        base = {"device": d.device, "site": d.site}
        add(
            "opskit_device_status",
            "Worst check status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
            base,
            float(d.status),
        )
        add(
            "opskit_device_up",
            "1 when the device answered the poll.",
            base,
            0.0 if d.error else 1.0,
        )
        add("opskit_device_poll_duration_seconds", "Time the poll took.", base, float(d.duration_s))
        for r in d.readings:
            add(
                "opskit_check_status",
                "Status of each check (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
                {**base, "check": r.check, "subject": r.subject},
                float(r.status),
            )
            value = _numeric(r.value)
            if value is None:
                continue
            if r.unit == "bits_per_second":
                value /= 8
            add(
                metric_name(r),
                f"opskit {r.check} ({r.unit or 'value'}).",
                reading_labels(d, r),
                value,
            )

    out: list[str] = []
    for name, fam in families.items():
        pname = _prom_name(name)
        doc = fam.doc.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {pname} {doc}\n# TYPE {pname} gauge\n")
        keys = [(_prom_name(k), k) for k in sorted(fam.keys)]
        for labels, value in fam.samples:
            pairs = ",".join(f'{pk}="{_prom_label_value(labels.get(k, ""))}"' for pk, k in keys)
            label_text = f"{{{pairs}}}" if pairs else ""
            out.append(f"{pname}{label_text} {_prom_value(value)}\n")
    return "".join(out)


def write_textfile(text: str, path: str) -> None:
    """Write exposition text atomically for node_exporter's textfile collector."""
    from pathlib import Path

    from opskit.fileio import write_atomic

    # node_exporter reads *.prom: the temp name must not end in .prom (suffix ".tmp").
    write_atomic(Path(path), text, mode=0o644, make_dirs=True, suffix=".tmp")
