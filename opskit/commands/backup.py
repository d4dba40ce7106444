"""`opskit backup ...` commands (parse, call the library, render).

Heavy imports (netmiko, rich, the backup service) happen inside the command functions so
`opskit --help` stays fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opskit.cli import STATE
from opskit.commands.options import JsonOpt, ShardOpt
from opskit.errors import ExitCode, InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from opskit.backup.service import BackupReport
    from opskit.inventory import Device, Inventory
    from opskit.notify import NotifyReport
    from opskit.notify.config import Channel

app = typer.Typer(no_args_is_help=True)


def _load() -> Inventory:
    from opskit.inventory import load_inventory

    return load_inventory(STATE.inventory_path)


def _device(inv: Inventory, name: str) -> Device:
    from opskit.inventory import select_devices

    return select_devices(inv, [name])[0]


@app.command("run")
def run(
    device: Annotated[
        list[str] | None, typer.Option("--device", "-d", help="Only this device (repeatable).")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="Only devices of this site.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only devices with this tag.")] = None,
    shard: ShardOpt = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=256, help="Parallel fetches (16).")
    ] = None,
    force: Annotated[
        list[str] | None,
        typer.Option("--force", metavar="DEVICE", help="Accept a big shrink for DEVICE."),
    ] = None,
    keep_secrets: Annotated[
        bool, typer.Option("--keep-secrets", help="Store secrets instead of <removed>.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Fetch configs over SSH/Telnet/TFTP and commit them to the git history.

    Exit 0 when every device succeeded, 1 when any failed (the others are still stored),
    2 for bad input. Quiet (errors only, on stderr) when stdout is not a terminal.
    """
    from opskit.backup.history import backup_devices
    from opskit.backup.service import run_backup
    from opskit.inventory import select_devices
    from opskit.output import print_json, stdout_is_terminal

    inv = _load()
    names = list(device or [])
    selected = select_devices(inv, names, site=site, tag=tag, shard=shard)
    devices = backup_devices(inv, selected)
    if names:
        missing = [d.name for d in selected if d not in devices]
        if missing:
            raise InputError(
                f"{', '.join(missing)}: no backup for this device (no host, backup disabled, "
                "or a platform without a backup profile)"
            )
    for name in force or []:
        if name not in inv.devices:
            raise InputError(f"--force {name}: no such device in {inv.path.name}")
    if not devices:
        raise InputError("no devices selected for backup")
    from opskit.audit import VALUE_INSPECTOR  # audit's rules that need a secret's value
    from opskit.notify import load_channels

    channels = load_channels(inv)  # a bad notify: list stops the run before any fetch

    tty = stdout_is_terminal() and not json_out
    title = f"opskit backup run --shard {shard}" if shard else "opskit backup run"
    if tty:
        report = _run_with_progress(inv, devices, workers, force or [], keep_secrets, title)
    else:
        report = run_backup(
            inv,
            devices,
            workers=workers,
            force=force or [],
            keep_secrets=keep_secrets,
            inspector=VALUE_INSPECTOR,
            title=title,
        )
    sent = notify_after(inv, report, channels, keep_secrets=keep_secrets)
    if json_out:
        print_json({**report.to_dict(), "notify": sent.to_dict()})
    elif tty:
        _render_report(report)
    else:
        for r in report.failed:
            sys.stderr.write(f"opskit: backup: {r.device}: {r.reason}\n")
        if report.push is not None and report.push.error:
            sys.stderr.write(f"opskit: backup: {report.push.error}\n")
    if not json_out:
        from opskit.commands.notify import notify_lines

        for line in notify_lines(sent, failed_only=not tty):
            (sys.stdout if tty else sys.stderr).write(("" if tty else "opskit: ") + line + "\n")
    if not report.ok or not sent.ok:
        raise typer.Exit(ExitCode.FAILED)


def _run_with_progress(
    inv: Inventory,
    devices: list[Device],
    workers: int | None,
    force: list[str],
    keep: bool,
    title: str,
) -> BackupReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from opskit.backup.service import DeviceResult, run_backup
    from opskit.output import get_console

    console = get_console()
    with Progress(
        TextColumn("[bold]backup"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("backup", total=len(devices), last="")

        def progress(r: DeviceResult) -> None:
            bar.update(task, advance=1, last=f"{r.device} {'ok' if r.ok else 'failed'}")

        from opskit.audit import VALUE_INSPECTOR

        return run_backup(
            inv,
            devices,
            workers=workers,
            force=force,
            keep_secrets=keep,
            progress=progress,
            inspector=VALUE_INSPECTOR,
            title=title,
        )


def _render_report(report: BackupReport) -> None:
    from rich.table import Table

    from opskit.output import get_console

    console = get_console()
    if report.failed or report.changed:
        table = Table(box=None, show_header=True, header_style="bold")
        for col in ("device", "result", "bytes", "time", "reason"):
            table.add_column(col)
        for r in report.results:
            if r.ok and not r.changed:
                continue
            result = "[red]failed[/red]" if not r.ok else "[green]changed[/green]"
            table.add_row(r.device, result, str(r.bytes), f"{r.duration:.1f}s", r.reason or "")
        console.print(table)
    s = report.to_dict()["summary"]
    commit = f", commit {report.commit[:10]}" if report.commit else ", nothing to commit"
    console.print(
        f"{s['devices']} devices: {s['ok']} ok, {s['failed']} failed, {s['changed']} changed"
        f"{commit} ({report.duration:.1f}s) -> {report.repo}"
    )
    push = report.push
    if push is not None and push.ok and push.pushed:
        replayed = f", {push.replayed} replayed on the remote" if push.replayed else ""
        console.print(f"pushed {_count(push.pushed, 'commit')} to {push.remote}{replayed}")
    elif push is not None and push.ok:
        console.print(f"{push.remote} is up to date")
    elif push is not None:
        console.print(
            f"[red]{push.error}[/red] ({_count(push.unpushed, 'commit')} not yet pushed; "
            "the next run pushes them)",
            markup=True,
            highlight=False,
        )


@app.command("status")
def status(
    max_age: Annotated[
        str | None,
        typer.Option("--max-age", help="Devices whose last good backup is older: CRITICAL."),
    ] = None,
    device: Annotated[
        list[str] | None, typer.Option("--device", "-d", help="Only this device (repeatable).")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="Only devices of this site.")] = None,
    shard: ShardOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Last good backup and last attempt per device (Nagios exit codes: 0/1/2).

    WARNING (1) when a device's last attempt failed, or when commits wait to be pushed
    to settings.backup_remote; with --max-age (e.g. 2d, 36h), CRITICAL (2) for devices
    whose last good backup is older or missing.
    """
    from opskit.backup.history import backup_devices, backup_status, parse_age
    from opskit.inventory import select_devices
    from opskit.output import print_json

    age = parse_age(max_age) if max_age is not None else None
    inv = _load()
    devices = backup_devices(inv, select_devices(inv, list(device or []), site=site, shard=shard))
    report = backup_status(inv, devices, age)
    if json_out:
        print_json(report.to_dict())
    else:
        stale = [d for d in report.devices if d.status == "CRITICAL"]
        failed = [d for d in report.devices if d.last_result == "failed"]
        never = [d for d in report.devices if d.last_good is None]
        typer.echo(
            f"BACKUP {report.status}: {_count(len(report.devices), 'device')}, "
            f"{len(stale)} stale, "
            f"{len(failed)} failed last time, {len(never)} never backed up"
            + (
                f", {_count(report.remote.unpushed, 'commit')} not yet pushed"
                if report.remote is not None
                else ""
            )
        )
        if report.remote is not None:
            error = f" (last push: {report.remote.last_error})" if report.remote.last_error else ""
            typer.echo(
                f"{report.remote.status:<8} remote {report.remote.url}: "
                f"{_count(report.remote.unpushed, 'commit')} not yet pushed{error}"
            )
        for d in report.devices:
            age_txt = _human_age(d.age_seconds) if d.age_seconds is not None else "never"
            reason = f"  ({d.reason})" if d.reason and d.last_result == "failed" else ""
            typer.echo(
                f"{d.status:<8} {d.device:<24} last good {age_txt:<10} "
                f"last attempt {d.last_result or '-'}{reason}"
            )
    raise typer.Exit(report.exit_code)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _human_age(seconds: float) -> str:
    s = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit} ago"
    return f"{s}s ago"


@app.command("trust")
def trust(
    device: Annotated[str, typer.Argument(help="Device name.")],
    fingerprint: Annotated[
        str | None,
        typer.Option("--fingerprint", help="Only the key with this SHA256:... fingerprint."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Trust the SSH host key DEVICE offers now, in place of the one on file.

    For a device whose key really changed (a new supervisor, a re-generated key): its
    logins are refused until then. Only the key exchange is done (no login, no password).
    """
    from opskit.backup.service import trust_device
    from opskit.output import print_json

    inv = _load()
    result = trust_device(inv, _device(inv, device), fingerprint)
    if json_out:
        print_json({"device": device, **result.to_dict()})
        return
    was = f" (replacing {', '.join(result.replaced)})" if result.replaced else ""
    typer.echo(
        f"{device}: trusting {result.host_id} {result.key_type} {result.fingerprint}"
        f"{was} in {result.known_hosts}"
    )


@app.command("history")
def history_cmd(
    device: Annotated[str, typer.Argument(help="Device name.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N.")] = 50,
    json_out: JsonOpt = False,
) -> None:
    """The commits that changed a device's config, newest first."""
    from opskit.backup.history import history
    from opskit.output import print_json

    inv = _load()
    entries = history(inv, _device(inv, device), limit=limit)
    if json_out:
        print_json([{"commit": e.commit, "date": e.date, "subject": e.subject} for e in entries])
        return
    if not entries:
        typer.echo(f"no backups of {device} yet")
    for e in entries:
        typer.echo(f"{e.commit[:10]}  {e.date}  {e.subject}")


@app.command("show")
def show(
    device: Annotated[str, typer.Argument(help="Device name.")],
    rev: Annotated[str | None, typer.Option("--rev", help="Revision (default: latest).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Print a device's stored config (latest, or at --rev)."""
    from opskit.backup.history import show_config
    from opskit.output import print_json

    inv = _load()
    text = show_config(inv, _device(inv, device), rev)
    if json_out:
        print_json({"device": device, "rev": rev or "HEAD", "config": text})
    else:
        sys.stdout.write(text)


@app.command("diff")
def diff(
    device: Annotated[str, typer.Argument(help="Device name.")],
    rev_a: Annotated[str | None, typer.Argument(help="Older revision.")] = None,
    rev_b: Annotated[str | None, typer.Argument(help="Newer revision (default latest).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Unified diff of a device's config: the last change, REV_A..latest, or REV_A..REV_B.

    Coloured on a terminal, plain when piped.
    """
    from opskit.backup.history import diff_config
    from opskit.output import print_json, stdout_is_terminal

    inv = _load()
    text = diff_config(inv, _device(inv, device), rev_a, rev_b)
    if json_out:
        print_json({"device": device, "diff": text})
        return
    if not stdout_is_terminal():
        sys.stdout.write(text)
        return
    for line in text.splitlines():
        typer.echo(_colour(line))


def _colour(line: str) -> Any:
    if line.startswith(("+++", "---")):
        return typer.style(line, bold=True)
    if line.startswith("+"):
        return typer.style(line, fg="green")
    if line.startswith("-"):
        return typer.style(line, fg="red")
    if line.startswith("@@"):
        return typer.style(line, fg="cyan")
    return line


def notify_after(
    inv: Inventory,
    report: BackupReport,
    channels: Sequence[Channel],
    *,
    keep_secrets: bool = False,
    changed_by: Mapping[str, str] | None = None,
    source: str = "",
) -> NotifyReport:
    """Send the notifications of a backup (a run, a syslog-triggered batch, a router's
    push), with the hardening findings its changes made new or fixed."""
    from opskit.notify import notify_run

    findings = _finding_lines(inv, report) if channels else {}
    return notify_run(
        inv,
        report,
        channels=channels,
        keep_secrets=keep_secrets,
        changed_by=changed_by,
        findings=findings,
        source=source,
    )


def _finding_lines(inv: Inventory, report: BackupReport) -> dict[str, list[str]]:
    """Hardening findings each changed config made new or fixed, for the `changes` digest.

    Lines name the rule, its severity, title and `path:line`, never the evidence text (a
    keep_secrets device's line may hold a secret). An audit that fails is logged and
    leaves the digest without findings: it never fails the backup.
    """
    import logging

    from opskit.audit import audit_changes

    changed = [inv.devices[r.device] for r in report.changed if r.device in inv.devices]
    if not changed or not report.commit:
        return {}
    try:
        diff = audit_changes(inv, changed, report.commit)
    except Exception as exc:
        logging.getLogger(__name__).warning("audit of the changed configs failed: %s", exc)
        return {}
    lines: dict[str, list[str]] = {}
    for label, items in (("new finding", diff.new), ("fixed", diff.fixed)):
        for f in items:
            lines.setdefault(f.device, []).append(
                f"{label}: {f.rule} ({f.severity}) {f.title} at {f.where}"
            )
    return lines
