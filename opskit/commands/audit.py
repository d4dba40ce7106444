"""`opskit audit [DEVICE...]`: the stored configs against the hardening rules.

Exit codes: with `--format nagios` Nagios' (critical/high findings 2, medium 1, else 0;
3 when the audit cannot run); otherwise 0 (nothing open), 1 (open findings, or a device
without a stored config), 2 (bad input).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from opskit.commands.options import ShardOpt
from opskit.errors import ExitCode

if TYPE_CHECKING:
    from opskit.audit import AuditReport
    from opskit.inventory import Device, Inventory

FORMATS = ("text", "json", "sarif", "nagios")


def _select(
    inv: Inventory, names: list[str], site: str | None, tag: str | None, shard: str | None
) -> list[Device]:
    from opskit.audit import family_for
    from opskit.errors import InputError
    from opskit.inventory import select_devices

    chosen = select_devices(inv, names, site=site, tag=tag, shard=shard)
    if names:
        without = [d.name for d in chosen if family_for(d.platform) is None]
        if without:
            raise InputError(f"{', '.join(without)}: no audit rules for this device's platform")
        return chosen
    # By default: every device with rules whose backups are not switched off.
    return [
        d
        for d in chosen
        if family_for(d.platform) is not None and (d.backup or {}).get("enabled", True) is not False
    ]


def _emit(report: AuditReport, fmt: str, inventory_dir: object) -> None:
    from pathlib import Path

    from opskit import __version__
    from opskit.audit import render

    if fmt == "json":
        from opskit.output import print_json

        print_json(report.to_dict())
    elif fmt == "sarif":
        import json

        sarif = render.render_sarif(report, Path(str(inventory_dir)), __version__)
        sys.stdout.write(json.dumps(sarif, indent=2) + "\n")
    elif fmt == "nagios":
        sys.stdout.write(render.render_nagios(report))
    else:
        sys.stdout.write(render.render_text(report))
    sys.stdout.flush()


def audit(
    devices: Annotated[
        list[str] | None, typer.Argument(metavar="[DEVICE]...", help="Devices (default: all).")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="Only devices of this site.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only devices with this tag.")] = None,
    shard: ShardOpt = None,
    rev: Annotated[
        str | None,
        typer.Option("--rev", help="Audit the configs at this revision (default: latest)."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text | json | sarif | nagios.")
    ] = "text",
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    list_rules: Annotated[
        bool, typer.Option("--list-rules", help="List every rule and exit.")
    ] = False,
) -> None:
    """Check every stored config against the hardening rules of its OS family.

    Each finding names its rule (OPS-IOS-PW-1), severity, CIS reference, the evidence as
    file:line in the stored config, and the config lines that fix it. Waivers come from
    the inventory's `audit: {waive: [...]}`.
    """
    from opskit.cli import STATE
    from opskit.errors import InputError, OpskitError

    fmt = "json" if as_json else fmt.lower()
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not '{fmt}'")
    if list_rules:
        _list_rules(fmt)
        return
    try:
        from opskit.audit import run_audit
        from opskit.inventory import load_inventory

        inv = load_inventory(STATE.inventory_path)
        chosen = _select(inv, list(devices or []), site, tag, shard)
        if not chosen:
            raise InputError("no devices selected for audit (none has a platform with rules)")
        report = run_audit(inv, chosen, rev=rev)
    except OpskitError as exc:
        if fmt == "nagios":  # a plugin that cannot run is UNKNOWN
            sys.stdout.write(f"AUDIT UNKNOWN - {str(exc).replace('|', '/')}\n")
            raise typer.Exit(ExitCode.INTERNAL) from None  # Nagios UNKNOWN
        raise
    _emit(report, fmt, inv.path.parent)
    raise typer.Exit(report.nagios_status() if fmt == "nagios" else report.exit_code())


def _list_rules(fmt: str) -> None:
    from opskit.audit.render import rules_catalogue

    rules = rules_catalogue()
    if fmt == "json":
        from opskit.output import print_json

        print_json({"rules": rules})
        return
    for r in rules:
        cis = f" [CIS {r['cis']}]" if r["cis"] else ""
        value = " (secret value, checked by backup run)" if r["needs_value"] else ""
        typer.echo(f"{r['id']:<18} {r['severity']:<8} {r['title']}{cis}{value}")
