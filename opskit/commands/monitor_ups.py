"""`opskit monitor ups [NAME]...`: the UPSes alone (NUT and SNMP), once or as a watch.

Registered onto the `monitor` group by `opskit.cli` (kept in its own module). Heavy
imports (the monitor service, pysnmp) happen inside the command.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opskit.cli import STATE

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory
    from opskit.monitor.model import HealthReport


class Format(enum.StrEnum):
    """Output formats, as `monitor check`."""

    text = "text"
    json = "json"
    nagios = "nagios"
    prometheus = "prometheus"


def register(app: typer.Typer) -> None:
    """Add `ups` to the `monitor` group."""
    app.command("ups")(ups)


def ups(
    names: Annotated[
        list[str] | None, typer.Argument(help="UPS device names (default: every UPS).")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only devices with this tag.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
    json_out: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    watch: Annotated[
        float | None,
        typer.Option(
            "--watch",
            metavar="SECONDS",
            help="Poll every SECONDS and print only transitions (OL -> OB -> OB LB -> OL).",
        ),
    ] = None,
    count: Annotated[
        int,
        typer.Option("--count", help="With --watch: stop after this many polls (0: until Ctrl-C)."),
    ] = 0,
) -> None:
    """Health of the UPSes (NUT and SNMP): status, battery, runtime, load, mains voltage.

    Exit code as Nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the worst UPS).
    """
    from opskit.errors import InputError
    from opskit.inventory import load_inventory, select_devices
    from opskit.monitor.ups import UPS_PLATFORMS

    inventory = load_inventory(STATE.inventory_path)
    wanted = list(names or [])
    devices = select_devices(inventory, wanted, site=site, tag=tag, platforms=UPS_PLATFORMS)
    for name in wanted:
        if all(d.name != name for d in devices):
            platform = inventory.devices[name].platform
            raise InputError(
                f"device '{name}' is not a UPS (platform '{platform}'; UPS platforms: "
                f"{', '.join(UPS_PLATFORMS)})"
            )
    if not devices:
        raise InputError(f"{inventory.path.name}: no UPS devices selected")
    out_format = Format.json if json_out else fmt
    if watch is not None:
        if watch <= 0 or count < 0:
            raise InputError("--watch needs a positive number of seconds, --count >= 0")
        raise typer.Exit(_watch(inventory, devices, watch, count, out_format == Format.json))
    from opskit.monitor.service import check_devices

    report = check_devices(inventory, devices)
    _render(report, out_format)
    raise typer.Exit(int(report.status))


def _render(report: HealthReport, out_format: Format) -> None:
    from opskit.monitor import render

    if out_format == Format.json:
        from opskit.output import print_json

        print_json(render.report_dict(report))
    elif out_format == Format.nagios:
        typer.echo(render.render_nagios(report), nl=False)
    elif out_format == Format.prometheus:
        typer.echo(render.render_prometheus(report), nl=False)
    else:
        for line in ups_table(report):
            typer.echo(line)


def _num(value: Any, unit: str = "", digits: int = 0) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:.{digits}f}{unit}"


def ups_table(report: HealthReport) -> list[str]:
    """A plain table, one UPS a line, worst first; problems spelled out under it."""
    header = ("UPS", "SITE", "STATUS", "FLAGS", "CHARGE", "RUNTIME", "LOAD", "IN", "OUT")
    rows: list[tuple[str, ...]] = [header]
    notes: list[str] = []
    ordered = sorted(report.devices, key=lambda d: (-d.status.severity, d.device))
    for d in ordered:
        ups = d.info.get("ups") or {}
        runtime = ups.get("runtime_seconds")
        rows.append(
            (
                d.device,
                d.site,
                d.status.name,
                str(ups.get("status_text", "no data")) if ups else "no data",
                _num(ups.get("battery_charge_percent"), "%"),
                _num(runtime / 60 if isinstance(runtime, int | float) else None, " min"),
                _num(ups.get("load_percent"), "%"),
                _num(ups.get("input_voltage_volts"), " V"),
                _num(ups.get("output_voltage_volts"), " V"),
            )
        )
        if d.error:
            notes.append(f"{d.status.name}: {d.device}: {d.error}")
        for r in d.problems():
            notes.append(f"{r.status.name}: {d.device}: {r.message or r.check}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return lines + (["", *notes] if notes else [])


def _watch(
    inventory: Inventory, devices: list[Device], every: float, count: int, as_json: bool
) -> int:
    """Poll until `count` polls (or Ctrl-C); print transitions only. Returns the exit code
    of the last poll."""
    import datetime as dt
    import json
    import sys
    import time

    from opskit.monitor.model import Status
    from opskit.monitor.service import check_devices
    from opskit.monitor.ups import transitions

    memory: dict[str, Any] = {}
    last = Status.UNKNOWN
    polls = 0
    try:
        while True:
            started = time.monotonic()
            report = check_devices(inventory, devices)
            last = report.status
            memory, changes = transitions(memory, report.devices, time.time())
            for t in changes:
                if as_json:
                    line = json.dumps(t.to_dict() | {"time": _iso(t.time, dt)})
                else:
                    arrow = f"{t.before} -> {t.after}" if t.before is not None else t.after
                    note = f": {t.message}" if t.message else ""
                    line = f"{_iso(t.time, dt)} {t.device} {arrow} ({t.status.name}{note})"
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
            polls += 1
            if count and polls >= count:
                break
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        sys.stderr.write("opskit: watch stopped\n")
    return int(last)


def _iso(when: float, dt: Any) -> str:
    return str(dt.datetime.fromtimestamp(when, dt.timezone.utc).isoformat(timespec="seconds"))
