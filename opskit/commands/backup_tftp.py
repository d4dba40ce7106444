"""`opskit backup tftp-serve` and `opskit backup restore` (registered onto `backup`).

Light at import time: the TFTP server, netmiko and the backup service are imported inside
the command functions.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from opskit.cli import STATE
from opskit.commands.options import JsonOpt
from opskit.errors import InputError


def _load() -> Any:
    from opskit.inventory import load_inventory

    return load_inventory(STATE.inventory_path)


def tftp_serve(
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen", metavar="ADDR:PORT", help="Bind here (default: settings.tftp.listen)."
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per transfer on stdout.")
    ] = False,
) -> None:
    """Receive configs that routers push on their own (IOS archive/kron) and commit them.

    An upload named `<device>`, `<device>.cfg` or `<device>-confg` from that device's
    address goes through the same checks, scrubbing and git commit as `backup run`, and
    the same change notifications (`notify:`); any other upload or read is refused. One
    line per transfer. SIGHUP reads the inventory again (devices added or removed, notify
    channels); a bad one leaves the old in force. Stops on SIGTERM/SIGINT after finishing
    the transfers in flight (exit 0).
    """
    import json
    import logging

    from opskit.backup.tftp_serve import PushEvent, Reload, receive_pushes
    from opskit.output import to_jsonable

    inv = _load()
    if STATE.verbose == 0:
        # Each transfer gets its own line below; the server's log would say it twice.
        logging.getLogger("opskit.transport.tftp").setLevel(logging.ERROR)

    def emit(event: PushEvent) -> None:
        line = json.dumps(to_jsonable(event), sort_keys=False) if json_out else event.line()
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def ready(address: str) -> None:
        sys.stderr.write(f"opskit: tftp-serve listening on {address}\n")
        sys.stderr.flush()

    from opskit.audit import VALUE_INSPECTOR
    from opskit.backup import BackupReport
    from opskit.commands.backup import notify_after
    from opskit.commands.notify import notify_lines
    from opskit.notify import load_channels

    # The inventory and channels in force: a SIGHUP swaps them (see `reloaded`).
    channels = load_channels(inv)  # a bad notify: list stops here, before listening

    def stored(report: BackupReport) -> None:
        # A config a router pushed is a change like one `backup run` fetched: the same
        # digest (its diff, its new hardening findings), and failures told once.
        sent = notify_after(
            inv, report, channels, source="a config pushed by the device (tftp-serve)"
        )
        if json_out and (sent.deliveries or sent.errors):
            device = report.results[0].device
            sys.stdout.write(json.dumps({"device": device, "notify": sent.to_dict()}) + "\n")
        elif not json_out:
            for line in notify_lines(sent):
                sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def reloaded(outcome: Reload) -> None:
        nonlocal inv, channels
        kept = None  # why the old notify channels stay, if they do
        if outcome.inventory is not None:
            inv = outcome.inventory
            try:
                channels = load_channels(inv)
            except InputError as exc:
                kept = str(exc)
        if json_out:
            sys.stdout.write(json.dumps({**outcome.to_dict(), "notify_kept": kept}) + "\n")
            sys.stdout.flush()
            return
        if outcome.error is None:
            sys.stderr.write(f"opskit: tftp-serve: inventory reloaded: {outcome.devices} "
                             "devices may push\n")  # fmt: skip
        else:
            sys.stderr.write(f"opskit: tftp-serve: inventory not reloaded: {outcome.error}\n")
        if kept:
            sys.stderr.write(f"opskit: tftp-serve: notify channels not reloaded: {kept}\n")
        sys.stderr.flush()

    receive_pushes(
        inv,
        listen=listen,
        on_event=emit,
        on_ready=ready,
        inspector=VALUE_INSPECTOR,
        on_stored=stored,
        on_reload=reloaded,
    )


def restore(
    device: Annotated[str, typer.Argument(help="The device to restore.")],
    rev: Annotated[
        str | None, typer.Option("--rev", help="Version from the history (default: newest).")
    ] = None,
    method: Annotated[
        str | None,
        typer.Option("--method", help="tftp (copy tftp: running-config) or ssh (config mode)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff only; push nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Show the diff between a stored version and the running config, then push it.

    Refuses (exit 2) a version whose secrets were scrubbed: pushing it would wipe the
    device's passwords. Exit 0 when pushed (or nothing to do, or --dry-run), 1 when the
    push failed.
    """
    import dataclasses

    from opskit.backup.restore import RestoreResult, changed_lines, plan_restore, push_restore
    from opskit.output import print_json, stdout_is_terminal

    if method is not None and method not in ("tftp", "ssh"):
        raise InputError(f"--method must be tftp or ssh, not '{method}'")
    inv = _load()
    plan = plan_restore(inv, device, rev=rev, method=method)

    def finish(result: RestoreResult, code: int) -> None:
        if json_out:
            print_json(result)
        elif result.reason:
            stream = sys.stdout if result.ok else sys.stderr
            stream.write(("" if result.ok else "opskit: error: ") + result.reason + "\n")
        raise typer.Exit(code)

    if not json_out:
        _show_diff(plan.diff, stdout_is_terminal())
    if not plan.pushable:
        finish(plan.result("refused", plan.refusal()), 2)
    if not plan.changes:
        reason = f"{plan.device}: running config already matches {plan.rev[:10]}"
        finish(plan.result("unchanged", reason), 0)
    if dry_run:
        reason = f"dry run: would push {plan.rev[:10]} to {plan.device} via {plan.method}"
        finish(plan.result("dry-run", reason, plan.bytes), 0)
    if not yes:
        if not sys.stdin.isatty():
            raise InputError(
                "restore needs confirmation: run it with --yes (stdin is not a terminal)"
            )
        question = f"Push {plan.rev[:10]} to {plan.device} via {plan.method}?"
        if not typer.confirm(question, default=False, err=True):
            finish(plan.result("declined", "not pushed"), 1)
    result = push_restore(inv, plan)
    if result.ok and not json_out:
        note = ""
        if result.remaining:
            note = (
                f"; {changed_lines(result.remaining)} line(s) still differ: the device merges"
                " a pushed config, so lines added since are not removed (see the diff above)"
            )
            _show_diff(result.remaining, stdout_is_terminal())
        reason = (
            f"{plan.device}: pushed {plan.rev[:10]} via {plan.method} "
            f"({result.bytes} bytes, {result.duration:.1f}s){note}"
        )
        result = dataclasses.replace(result, reason=reason)
    finish(result, 0 if result.ok else 1)


def _show_diff(diff: str, colour: bool) -> None:
    if not diff:
        return
    if not colour:
        sys.stdout.write(diff if diff.endswith("\n") else diff + "\n")
        return
    from rich.text import Text

    from opskit.output import get_console

    console = get_console()
    for line in diff.splitlines():
        style = (
            "bold"
            if line.startswith(("+++", "---"))
            else "green"
            if line.startswith("+")
            else "red"
            if line.startswith("-")
            else "cyan"
            if line.startswith("@@")
            else ""
        )
        console.print(Text(line, style=style))


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("tftp-serve")(tftp_serve)
    app.command("restore")(restore)
