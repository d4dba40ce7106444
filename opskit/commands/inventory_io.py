"""`opskit inventory import ...` and `opskit inventory export ...` (parse, call, render).

Added onto the inventory group by `opskit.cli` (`_EXTRAS`). Only typer and the stdlib are
imported here at module level; the importers load when a command runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opskit.cli import STATE
from opskit.commands.options import JsonOpt, ShardOpt
from opskit.errors import ExitCode

if TYPE_CHECKING:
    from opskit.interop.export import ExportResult
    from opskit.interop.model import ImportReport, ImportSet

import_app = typer.Typer(
    no_args_is_help=True,
    help="Read devices (and ports and cables) from RANCID, Oxidized, NetBox or LibreNMS.",
)
export_app = typer.Typer(
    no_args_is_help=True,
    help="Write the inventory for NetBox, Oxidized, RANCID or Prometheus.",
)

DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Overwrite items edited by hand since the last import.")
]
IntoOpt = Annotated[
    Path | None,
    typer.Option("--into", help="The file to import into (default imported/SOURCE.yaml)."),
]
MapOpt = Annotated[list[str] | None, typer.Option(help="NAME=PLATFORM (repeat, or a,b).")]
SiteOpt = Annotated[str | None, typer.Option("--site", help="Only the devices of this site.")]
# The API importers' (NetBox, LibreNMS): the token's variable (defaults per source), timeout.
TokenEnvOpt = Annotated[
    str, typer.Option("--token-env", help="Environment variable holding the API token.")
]
RequestTimeoutOpt = Annotated[float, typer.Option("--timeout", min=1, help="Seconds per request.")]
DIFF_LINES = 400


def register(app: typer.Typer) -> None:
    """Add `import` and `export` to the inventory command group."""
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")


# -- import ------------------------------------------------------------------------
def _run_import(
    imported: ImportSet, into: Path | None, dry_run: bool, force: bool, json_out: bool
) -> None:
    from opskit.interop.apply import apply_import

    report = apply_import(STATE.inventory_path, imported, into=into, dry_run=dry_run, force=force)
    _render_report(report, json_out)
    if report.conflicts and not force:
        raise typer.Exit(ExitCode.FAILED)


def _render_report(report: ImportReport, json_out: bool) -> None:
    if json_out:
        from opskit.output import print_json

        print_json(report.to_dict())
        return
    for line in report.diff[:DIFF_LINES]:
        typer.echo(line)
    if len(report.diff) > DIFF_LINES:
        typer.echo(f"... {len(report.diff) - DIFF_LINES} more lines (--json lists every change)")
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for kept in report.kept_edits:
        typer.echo(f"kept hand edit: {kept} (the source did not change it)", err=True)
    for conflict in report.conflicts:
        typer.echo(f"conflict: {conflict}", err=True)
    file = _shown(report.file)
    summary = _summary(report.counts)
    typer.echo(f"{file}: {summary}" if summary else f"{file}: no change")
    for secret in report.secret_files:
        typer.echo(f"secret written to {_shown(Path(secret))} (mode 0600; never in the YAML)")
    if report.conflicts and not report.written:
        n = len(report.conflicts)
        typer.echo(
            f"not written: {n} item{'s' if n > 1 else ''} edited by hand since the last import "
            "would change (--force takes the source's version)",
            err=True,
        )
    elif report.dry_run:
        typer.echo("dry run: nothing written", err=True)
    elif report.written:
        extra = f" and an include line in {_shown(report.main)}" if report.include_added else ""
        typer.echo(f"wrote {file}{extra}", err=True)
    else:
        typer.echo("nothing to write", err=True)


def _shown(path: Path) -> str:
    """A path as the user thinks of it: relative to the inventory's directory if inside."""
    base = STATE.inventory_path.resolve().parent
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path)


def _summary(counts: dict[str, dict[str, int]]) -> str:
    parts = []
    for kind in ("sites", "credentials", "devices", "ports", "cables"):
        c = counts.get(kind, {})
        bits = [f"{c[w]} {w}" for w in ("added", "changed", "removed") if c.get(w)]
        if bits:
            parts.append(f"{kind} " + ", ".join(bits))
    return "; ".join(parts)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    from opskit.interop.maps import parse_pairs

    return parse_pairs(values, option)


def _token(var: str, what: str) -> str:
    from opskit.errors import InputError

    token = os.environ.get(var, "")
    if not token:
        raise InputError(f"{what}: environment variable {var} (the API token) is not set")
    return token


@import_app.command("rancid")
def import_rancid(
    path: Annotated[Path, typer.Argument(help="RANCID's router.db.")],
    group: Annotated[
        str | None, typer.Option("--group", help="RANCID group (default: router.db's directory).")
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Site for every device (the group becomes a tag).")
    ] = None,
    type_map: Annotated[
        list[str] | None, typer.Option("--type-map", help="RANCID TYPE=PLATFORM (repeat).")
    ] = None,
    into: IntoOpt = None,
    dry_run: DryRunOpt = False,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Devices from a RANCID router.db (3.x `name;type;state` or 2.x `name:type:state`)."""
    from opskit.interop.rancid import read_router_db

    imported = read_router_db(path, group=group, site=site, type_map=_pairs(type_map, "--type-map"))
    _run_import(imported, into, dry_run, force, json_out)


@import_app.command("oxidized")
def import_oxidized(
    path: Annotated[Path, typer.Argument(help="Oxidized's CSV source (router.db).")],
    delimiter: Annotated[
        str, typer.Option("--delimiter", help="Field delimiter, a regular expression.")
    ] = ":",
    column_map: Annotated[
        str | None,
        typer.Option("--map", help="Columns: name=0,ip=1,model=2,group=3,username=4,password=5."),
    ] = None,
    vars_map: Annotated[
        str | None, typer.Option("--vars-map", help="Node variables: enable=6,ssh_port=7.")
    ] = None,
    model_map: Annotated[
        list[str] | None, typer.Option("--model-map", help="MODEL=PLATFORM (repeat).")
    ] = None,
    group_map: Annotated[
        list[str] | None, typer.Option("--group-map", help="GROUP=NEWGROUP (repeat).")
    ] = None,
    group_as: Annotated[
        str, typer.Option("--group-as", help="A group becomes a site or a tag.")
    ] = "site",
    site: Annotated[
        str | None, typer.Option("--site", help="Site of devices without a group.")
    ] = None,
    into: IntoOpt = None,
    dry_run: DryRunOpt = False,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Devices from an Oxidized CSV source; passwords go to 0600 files, never the YAML."""
    from opskit.interop.oxidized import MAP_KEYS, VARS_KEYS, parse_map, read_oxidized_csv

    imported = read_oxidized_csv(
        path,
        delimiter=delimiter,
        column_map=parse_map(column_map, MAP_KEYS, "--map") if column_map else None,
        vars_map=parse_map(vars_map, VARS_KEYS, "--vars-map") if vars_map else None,
        model_map=_pairs(model_map, "--model-map"),
        group_map=_pairs(group_map, "--group-map"),
        group_as=group_as,
        site=site,
    )
    _run_import(imported, into, dry_run, force, json_out)


@import_app.command("netbox")
def import_netbox(
    url: Annotated[str, typer.Option("--url", help="NetBox's base URL.")],
    token_env: TokenEnvOpt = "NETBOX_TOKEN",
    sites: Annotated[
        list[str] | None, typer.Option("--site", help="Only this site's slug (repeat).")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only devices with this tag.")] = None,
    platform_map: Annotated[
        list[str] | None, typer.Option("--platform-map", help="SLUG=PLATFORM (repeat).")
    ] = None,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=1000, help="Objects per API page.")
    ] = 1000,
    timeout: RequestTimeoutOpt = 60,
    into: IntoOpt = None,
    dry_run: DryRunOpt = False,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Sites, devices, ports, panels and labeled cables from NetBox 3.3-4.x (API, paged)."""
    from opskit.interop.netbox import fetch_netbox

    imported = fetch_netbox(
        url,
        _token(token_env, "import netbox"),
        sites=sites or [],
        tag=tag,
        platform_map=_pairs(platform_map, "--platform-map"),
        page_size=page_size,
        timeout=timeout,
    )
    _run_import(imported, into, dry_run, force, json_out)


@import_app.command("librenms")
def import_librenms(
    url: Annotated[str, typer.Option("--url", help="LibreNMS's base URL.")],
    token_env: TokenEnvOpt = "LIBRENMS_TOKEN",
    type_map: Annotated[
        list[str] | None, typer.Option("--type-map", help="LibreNMS OS=PLATFORM (repeat).")
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Site of devices without a location.")
    ] = None,
    timeout: RequestTimeoutOpt = 60,
    into: IntoOpt = None,
    dry_run: DryRunOpt = False,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Devices from LibreNMS (/api/v0/devices): hostname, os, sysName, location."""
    from opskit.interop.librenms import fetch_librenms

    imported = fetch_librenms(
        url,
        _token(token_env, "import librenms"),
        type_map=_pairs(type_map, "--type-map"),
        site=site,
        timeout=timeout,
    )
    _run_import(imported, into, dry_run, force, json_out)


# -- export ------------------------------------------------------------------------
def _render_export(result: ExportResult, json_out: bool) -> None:
    if json_out:
        from opskit.output import print_json

        payload: dict[str, Any] = result.to_dict()
        print_json(payload)
        return
    if result.content is not None:
        typer.echo(result.content, nl=False)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for path in result.files:
        typer.echo(f"wrote {_shown(path)}", err=True)


def _inventory() -> Any:
    from opskit.inventory import load_inventory

    return load_inventory(STATE.inventory_path)


OutArg = Annotated[Path | None, typer.Argument(help="File to write (default: standard output).")]


@export_app.command("netbox-csv")
def export_netbox_csv(
    directory: Annotated[Path, typer.Argument(help="Directory for the CSV files.")],
    site: SiteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """NetBox bulk-import CSVs: sites, racks, devices, interfaces, front/rear ports, cables."""
    from opskit.interop.export import export_netbox_csv as run

    _render_export(run(_inventory(), directory, site=site), json_out)


@export_app.command("oxidized-csv")
def export_oxidized_csv(
    out: OutArg = None,
    column_map: Annotated[
        str, typer.Option("--map", help="Columns to write (as import's --map).")
    ] = "name=0,ip=1,model=2,group=3",
    vars_map: Annotated[
        str | None, typer.Option("--vars-map", help="Node variables to write: enable=6.")
    ] = None,
    delimiter: Annotated[str, typer.Option("--delimiter", help="Field separator.")] = ":",
    model_map: MapOpt = None,
    with_secrets: Annotated[
        bool,
        typer.Option("--with-secrets", help="Write passwords too (map username/password)."),
    ] = False,
    site: SiteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """An Oxidized CSV source (one line per device with a backup)."""
    from opskit.interop.export import export_oxidized_csv as run
    from opskit.interop.oxidized import MAP_KEYS, VARS_KEYS, parse_map

    result = run(
        _inventory(),
        out,
        column_map=parse_map(column_map, MAP_KEYS, "--map"),
        vars_map=parse_map(vars_map, VARS_KEYS, "--vars-map") if vars_map else None,
        delimiter=delimiter,
        model_map=_pairs(model_map, "--model-map"),
        with_secrets=with_secrets,
        site=site,
    )
    _render_export(result, json_out)


@export_app.command("rancid")
def export_rancid(
    out: OutArg = None,
    type_map: Annotated[
        list[str] | None, typer.Option("--type-map", help="PLATFORM=RANCID TYPE (repeat).")
    ] = None,
    old: Annotated[bool, typer.Option("--old", help="RANCID 2.x layout name:type:state.")] = False,
    site: SiteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A RANCID router.db (3.x `name;type;state;comment`)."""
    from opskit.interop.export import export_rancid as run

    _render_export(
        run(_inventory(), out, type_map=_pairs(type_map, "--type-map"), old=old, site=site),
        json_out,
    )


@export_app.command("prometheus-sd")
def export_prometheus_sd(
    out: OutArg = None,
    target: Annotated[
        str,
        typer.Option(
            "--target", help="host (snmp_exporter) or name (opskit monitor serve ?device=)."
        ),
    ] = "host",
    site: SiteOpt = None,
    shard: ShardOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Prometheus file_sd targets: one per device with SNMP, labels site/role/platform
    (and shard)."""
    from opskit.interop.export import export_prometheus_sd as run

    _render_export(run(_inventory(), out, target=target, site=site, shard=shard), json_out)
