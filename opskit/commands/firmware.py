"""`opskit firmware ...` commands (parse, call the library, render)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opskit.cli import STATE
from opskit.commands.options import JsonOpt, ShardOpt
from opskit.errors import ExitCode

if TYPE_CHECKING:
    from opskit.firmware.service import FirmwareReport

app = typer.Typer(no_args_is_help=True)
catalog_app = typer.Typer(no_args_is_help=True, help="The release catalogue (firmware.yaml).")
app.add_typer(catalog_app, name="catalog")


def _catalog_path(catalog: Path | None) -> Path:
    if catalog is not None:
        return catalog
    from opskit.inventory import load_inventory

    return Path(load_inventory(STATE.inventory_path).settings.firmware_catalog)


@app.command("versions")
def versions(
    platform: Annotated[str, typer.Argument(help="Platform (netmiko device type).")],
    version: Annotated[list[str], typer.Argument(help="Version strings.")],
    json_out: JsonOpt = False,
) -> None:
    """Print versions in the vendor's order, oldest first (unknown ones apart)."""
    from opskit.firmware.versions import family_of, sort_versions
    from opskit.output import print_json

    known, unknown = sort_versions(platform, version)
    if json_out:
        print_json(
            {
                "platform": platform,
                "family": family_of(platform),
                "ordered": [
                    {"version": v.raw.strip(), "canonical": v.text, "train": v.train} for v in known
                ],
                "unknown": [{"version": u.raw, "reason": u.reason} for u in unknown],
            }
        )
    else:
        width = max((len(v.raw.strip()) for v in known), default=0)
        for v in known:
            typer.echo(f"{v.raw.strip():<{width}}  train {v.train}")
        for u in unknown:
            typer.echo(f"unknown: {u.raw} ({u.reason})", err=True)
    if unknown:
        raise typer.Exit(ExitCode.INTERNAL)  # 3: an unknown version


def _render_text(report: FirmwareReport) -> None:
    from opskit.firmware.service import format_age

    header = ("DEVICE", "PLATFORM", "RUNNING", "TARGET", "TRAIN NEWEST", "NEWEST", "STATUS")
    rows = []
    notes = []
    for r in report.results:
        ev = r.evaluation
        running = r.running or "-"
        if r.stale and r.age_s is not None:
            running = f"{running} (stale {format_age(r.age_s)})"
        status = r.status
        if ev.advisories and r.status == "vulnerable":
            status = f"{status} ({', '.join(ev.advisories)})"
        rows.append(
            (
                r.device,
                r.platform,
                running,
                ev.target or "-",
                ev.newest_in_train or "-",
                ev.newest or "-",
                status,
            )
        )
        for reason in ev.reasons:
            notes.append(f"  {r.device}: {reason}")
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    typer.echo(fmt.format(*header))
    for row in rows:
        typer.echo(fmt.format(*row))
    if notes:
        typer.echo("")
        for line in notes:
            typer.echo(line)


def _render_nagios(report: FirmwareReport) -> None:
    from opskit.firmware.evaluate import NAGIOS, severity

    code = report.exit_code
    counts = report.counts
    summary = ", ".join(
        f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -severity(kv[0]))
    )
    perf = " ".join(f"'{s}'={n}" for s, n in sorted(counts.items()))
    typer.echo(f"FIRMWARE {NAGIOS[code]} - {summary or 'no devices'} | {perf}".rstrip(" |"))
    for r in sorted(report.results, key=lambda r: -severity(r.status)):
        if r.exit_code == 0:
            continue
        detail = "; ".join(r.evaluation.reasons)
        typer.echo(f"{r.device}: {r.status}: {r.running or '-'}: {detail}")


@app.command("check")
def check(
    device: Annotated[
        list[str] | None, typer.Option("--device", "-d", help="Only this device (repeat).")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only devices with this tag.")] = None,
    shard: ShardOpt = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use remembered versions only (no network).")
    ] = False,
    output_format: Annotated[str, typer.Option("--format", help="text, nagios or json.")] = "text",
    json_out: JsonOpt = False,
) -> None:
    """Running version of each device against the catalogue and policy.

    Exit codes as for checks: 0 all current; 1 update-available, deprecated or
    end-of-life; 2 vulnerable or below-minimum; 3 unknown version or platform.
    """
    from opskit.errors import InputError
    from opskit.firmware.service import check_firmware
    from opskit.inventory import load_inventory, select_devices
    from opskit.output import print_json

    if output_format not in ("text", "nagios", "json"):
        raise InputError(f"--format must be text, nagios or json, not '{output_format}'")
    inventory = load_inventory(STATE.inventory_path)
    devices = select_devices(inventory, device or (), site=site, tag=tag, shard=shard)
    report = check_firmware(inventory, devices, offline=offline)
    from opskit.web.lastrun import record_quietly

    # the firmware page of `opskit web` shows these last results
    record_quietly(inventory.settings.state_dir, "firmware", report.to_dict(), inventory.devices)
    if json_out or output_format == "json":
        print_json(report.to_dict())
    elif output_format == "nagios":
        _render_nagios(report)
    else:
        _render_text(report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


@catalog_app.command("validate")
def catalog_validate(
    catalog: Annotated[
        Path | None,
        typer.Argument(help="Catalogue file (default: the inventory's firmware_catalog)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check the catalogue: every problem with its file:line (exit 2 if any)."""
    from opskit.firmware.catalog import validate_catalog
    from opskit.output import print_json

    path = _catalog_path(catalog)
    cat, problems = validate_catalog(path)
    if json_out:
        print_json(
            {
                "ok": cat is not None,
                "catalog": str(path),
                "platforms": {p: len(r) for p, r in cat.releases.items()} if cat else {},
                "problems": [
                    {"file": str(p.file), "line": p.line, "message": p.message} for p in problems
                ],
            }
        )
    elif cat is not None:
        total = sum(len(r) for r in cat.releases.values())
        typer.echo(f"{path.name}: ok: {total} releases of {len(cat.releases)} platforms")
    else:
        for p in problems:
            typer.echo(str(p), err=True)
    if cat is None:
        raise typer.Exit(ExitCode.BAD_INPUT)


@catalog_app.command("import")
def catalog_import(
    source: Annotated[Path, typer.Argument(help="endoflife.date JSON or CSV file.")],
    platform: Annotated[
        str | None,
        typer.Option("--platform", help="Platform of a JSON file; filter for a CSV file."),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="Catalogue file (default: the inventory's)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Merge releases into the catalogue; report every entry not understood (exit 1)."""
    from opskit.firmware.importer import import_releases
    from opskit.output import print_json

    path = _catalog_path(catalog)
    report = import_releases(path, source, platform=platform, dry_run=dry_run)
    if json_out:
        print_json(report.to_dict())
    else:
        verb = "would add" if dry_run else "added"
        for label in report.added:
            typer.echo(f"{verb}: {label}")
        for label in report.updated:
            typer.echo(f"{'would update' if dry_run else 'updated'}: {label}")
        for issue in report.rejected:
            typer.echo(f"not imported: {issue}", err=True)
        typer.echo(
            f"{path.name}: {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.rejected)} not imported"
            + ("" if report.written else " (nothing written)")
        )
    if report.rejected:
        raise typer.Exit(ExitCode.FAILED)
