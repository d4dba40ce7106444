"""`opskit monitor ...` commands (parse, call the library, render).

Exit codes are Nagios' for every format: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, the
worst over all checks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opskit.commands.options import JsonOpt, ShardOpt

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opskit.inventory import Device, Inventory
    from opskit.monitor.model import HealthReport

app = typer.Typer(no_args_is_help=True)

FORMATS = ("text", "json", "nagios", "prometheus")

DeviceOpt = Annotated[
    list[str] | None,
    typer.Option("--device", "-d", metavar="NAME", help="A device to check (repeat for more)."),
]
SiteOpt = Annotated[
    str | None, typer.Option("--site", metavar="SITE", help="Only devices of this site.")
]
TagOpt = Annotated[
    str | None, typer.Option("--tag", metavar="TAG", help="Only devices with this tag.")
]
FormatOpt = Annotated[
    str, typer.Option("--format", "-f", metavar="FORMAT", help="text | json | nagios | prometheus.")
]
TextfileOpt = Annotated[
    Path | None,
    typer.Option(
        "--textfile",
        help="Also write the Prometheus exposition to this file, atomically "
        "(node_exporter textfile collector).",
    ),
]
AllOpt = Annotated[bool, typer.Option("--all", "-a", help="Text: list every reading.")]


def _fmt(fmt: str, as_json: bool) -> str:
    from opskit.errors import InputError

    fmt = "json" if as_json else fmt.lower()
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not '{fmt}'")
    return fmt


def _emit(
    report: HealthReport,
    fmt: str,
    textfile: Path | None,
    show_all: bool,
    labels: dict[str, str] | None = None,
) -> None:
    from opskit.monitor import render

    if textfile is not None:
        render.write_textfile(render.render_prometheus(report, labels), str(textfile))
    if fmt == "json":
        from opskit.output import print_json

        print_json(render.report_dict(report))
    elif fmt == "nagios":
        sys.stdout.write(render.render_nagios(report))
    elif fmt == "prometheus":
        sys.stdout.write(render.render_prometheus(report, labels))
    else:
        from opskit.output import get_console, stdout_is_terminal

        if stdout_is_terminal():
            get_console().print(render.render_text_table(report, show_all=show_all))
        else:
            sys.stdout.write("\n".join(render.render_text_lines(report, show_all=show_all)) + "\n")
    sys.stdout.flush()


def _nagios_unknown(fmt: str, exc: Exception) -> None:
    # The plugin guidelines want UNKNOWN (3) for a plugin that cannot run at all.
    if fmt == "nagios":
        from opskit.monitor.model import Status

        sys.stdout.write(f"OPSKIT UNKNOWN - {str(exc).replace('|', '/')}\n")
        raise typer.Exit(int(Status.UNKNOWN))


@app.command("check")
def check(
    device: DeviceOpt = None,
    site: SiteOpt = None,
    tag: TagOpt = None,
    shard: ShardOpt = None,
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    textfile: TextfileOpt = None,
    show_all: AllOpt = False,
    unreachable: Annotated[
        str | None,
        typer.Option(
            "--unreachable", help="Status of a device that does not answer: unknown | critical."
        ),
    ] = None,
) -> None:
    """Poll devices (SNMP routers/switches, servers, UPSes) and judge their health.

    Devices with no monitoring section (no `snmp:`/`nut:`) and patch panels are skipped.
    Exit code: the worst status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    """
    from opskit.cli import STATE
    from opskit.errors import InputError, OpskitError

    fmt = _fmt(fmt, as_json)
    try:
        from opskit.inventory import load_inventory, select_devices
        from opskit.monitor.service import check_devices, monitored_devices, parse_unreachable

        status = None
        if unreachable is not None:
            try:
                status = parse_unreachable(unreachable)
            except ValueError as exc:
                raise InputError(f"--unreachable: {exc}") from None
        inv = load_inventory(STATE.inventory_path)
        chosen = select_devices(inv, device or [], site=site, tag=tag, shard=shard)
        targets = monitored_devices(chosen)
        if device and not targets:
            raise InputError(
                f"{inv.path.name}: none of the named devices has an snmp or nut section"
            )
        report = check_devices(inv, targets, unreachable=status)
    except OpskitError as exc:
        _nagios_unknown(fmt, exc)
        raise
    from opskit.monitor.render import report_dict
    from opskit.web.lastrun import record_quietly

    # the health page of `opskit web` shows these last results
    record_quietly(inv.settings.state_dir, "monitor", report_dict(report), inv.devices)
    _emit(report, fmt, textfile, show_all, {"shard": shard} if shard else None)
    raise typer.Exit(int(report.status))


@app.command("server")
def server(
    fmt: FormatOpt = "text",
    as_json: JsonOpt = False,
    textfile: TextfileOpt = None,
    show_all: AllOpt = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Name to report (default: host name).")
    ] = None,
) -> None:
    """The health of the machine opskit runs on (CPU, load, memory, swap, disks, inodes,
    temperatures, uptime), for a cron line on each box.

    Needs no inventory; when the inventory exists and has a device of that name, its
    merged `thresholds:` apply.
    """
    from opskit.cli import STATE
    from opskit.errors import OpskitError

    fmt = _fmt(fmt, as_json)
    try:
        import socket

        from opskit.monitor.model import HealthReport
        from opskit.monitor.server import check_local_server

        thresholds: Any = None
        site = ""
        me = name or socket.gethostname()
        if STATE.inventory_path.exists():
            from opskit.inventory import load_inventory

            dev = load_inventory(STATE.inventory_path).devices.get(me)
            if dev is not None:
                thresholds, site = dev.thresholds, dev.site
        health = check_local_server(thresholds, name=me, site=site)
        report = HealthReport(devices=(health,))
    except OpskitError as exc:
        _nagios_unknown(fmt, exc)
        raise
    _emit(report, fmt, textfile, show_all)
    raise typer.Exit(int(report.status))


@app.command("serve")
def serve(
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT for the HTTP endpoint.")
    ] = "127.0.0.1:9310",
    device: DeviceOpt = None,
    site: SiteOpt = None,
    tag: TagOpt = None,
    shard: ShardOpt = None,
    cache_seconds: Annotated[
        float | None,
        typer.Option("--cache", help="Seconds a poll is reused by scrapes (default 10)."),
    ] = None,
    max_scrapes: Annotated[
        int,
        typer.Option(
            "--max-scrapes", min=1, help="Scrapes waiting for polls at once; more get a 503."
        ),
    ] = 64,
    as_json: JsonOpt = False,
) -> None:
    """Serve /metrics (Prometheus; polls on scrape, with a short cache) and /healthz.

    `/metrics?device=NAME` polls that device alone (snmp_exporter-style targets); scrapes
    of different devices run at once, scrapes of one device share a poll. With --shard,
    every sample carries a `shard` label (for a central Prometheus that federates the
    pollers). SIGHUP reads the inventory again and serves the devices the same options
    pick from it (a bad inventory keeps the old one). Stops on SIGTERM or Ctrl-C.
    """
    from opskit.cli import STATE
    from opskit.errors import InputError
    from opskit.inventory import load_inventory, select_devices
    from opskit.monitor.httpd import MetricsServer
    from opskit.monitor.service import MonitorSettings, monitored_devices

    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit():
        raise InputError(f"--listen must be HOST:PORT, not '{listen}'")
    inv = load_inventory(STATE.inventory_path)
    chosen = select_devices(inv, device or [], site=site, tag=tag, shard=shard)
    targets = monitored_devices(chosen)
    settings = MonitorSettings.from_inventory(inv)
    cache = settings.cache_seconds if cache_seconds is None else cache_seconds
    srv = MetricsServer(
        inv,
        targets,
        host or "127.0.0.1",
        int(port_text),
        cache_seconds=cache,
        labels={"shard": shard} if shard else None,
        max_scrapes=max_scrapes,
    )

    def json_line(payload: dict[str, Any]) -> None:
        # A server's --json is a stream: one object per line (the start, each reload).
        import json

        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()

    if as_json:
        json_line({"listen": f"{srv.host}:{srv.port}", "devices": [d.name for d in targets]})
    else:
        typer.echo(
            f"opskit monitor: serving http://{srv.host}:{srv.port}/metrics "
            f"for {len(targets)} devices",
            err=True,
        )

    def reload() -> tuple[Inventory, list[Device]]:
        new = load_inventory(STATE.inventory_path)
        picked = select_devices(new, device or [], site=site, tag=tag, shard=shard)
        return new, monitored_devices(picked)

    def reloaded(devices: Sequence[Device] | None, error: str | None) -> None:
        if as_json:
            names = None if devices is None else [d.name for d in devices]
            json_line({"reloaded": error is None, "devices": names, "error": error})
        elif devices is not None:
            typer.echo(f"opskit monitor: inventory reloaded: {len(devices)} devices", err=True)
        else:
            typer.echo(f"opskit monitor: inventory not reloaded (the old one stays): {error}",
                       err=True)  # fmt: skip

    srv.serve_until_signalled(reload, reloaded)
