"""`opskit notify ...`: try the channels, see what waits in the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from opskit.cli import STATE
from opskit.commands.options import JsonOpt
from opskit.errors import ExitCode

if TYPE_CHECKING:
    from opskit.notify.service import NotifyReport

app = typer.Typer(no_args_is_help=True)


@app.command("test")
def test_cmd(
    channel: Annotated[
        str | None, typer.Argument(help="Only this channel (default: every channel).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Send a test message to the `notify:` channels and show what each server answered.

    Exit 0 when every channel took it, 1 when one did not, 2 for a bad `notify:` list.
    """
    from opskit.inventory import load_inventory
    from opskit.notify import send_test
    from opskit.output import print_json

    inv = load_inventory(STATE.inventory_path)
    report = send_test(inv, channel)
    if json_out:
        print_json(report.to_dict())
    else:
        for d in report.deliveries:
            if d.ok:
                typer.echo(f"{d.channel} ({d.format}): sent; the server answered: {d.answer}")
            else:
                typer.echo(f"{d.channel} ({d.format}): FAILED: {d.error}")
    if not report.ok:
        raise typer.Exit(ExitCode.FAILED)


@app.command("status")
def status_cmd(json_out: JsonOpt = False) -> None:
    """The channels, the devices each was told are failing, and the outbox.

    Exit 0 when the outbox is empty, 1 when messages wait for a channel that failed.
    """
    from opskit.inventory import load_inventory
    from opskit.notify import load_channels
    from opskit.notify.state import load_failing, pending
    from opskit.output import print_json

    inv = load_inventory(STATE.inventory_path)
    channels = load_channels(inv)
    failing = load_failing(inv.settings.state_dir)
    waiting = pending(inv.settings.state_dir)
    data: dict[str, Any] = {
        "channels": [
            {
                "name": c.name,
                "type": c.type,
                "format": "email" if c.type == "email" else c.format,
                "events": sorted(c.events),
                "sites": sorted(c.sites),
                "tags": sorted(c.tags),
                "failing": sorted(failing.get(c.name, {})),
                "outbox": sum(1 for w in waiting if w.channel == c.name),
            }
            for c in channels
        ],
        "outbox": [
            {
                "channel": w.channel,
                "queued": w.queued,
                "attempts": w.attempts,
                "last_error": w.last_error,
                "counts": w.digest.counts(),
            }
            for w in waiting
        ],
    }
    if json_out:
        print_json(data)
    else:
        if not channels:
            typer.echo(f"no notify: channels in {inv.path.name}")
        for c in channels:
            names = sorted(failing.get(c.name, {}))
            told = f"; told failing: {', '.join(names)}" if names else ""
            typer.echo(f"{c.describe()}: {', '.join(sorted(c.events))}{told}")
        for w in waiting:
            typer.echo(
                f"outbox: {w.channel}: queued {w.queued}, {w.attempts} attempt(s), "
                f"last error: {w.last_error}"
            )
    raise typer.Exit(ExitCode.FAILED if waiting else ExitCode.OK)


def notify_lines(report: NotifyReport, failed_only: bool = False) -> list[str]:
    """Human lines for a run's `NotifyReport` (used by `backup run`): one per message
    (`failed_only`: only those not sent, for cron's quiet mode)."""
    lines = []
    for d in report.deliveries:
        if failed_only and d.ok:
            continue
        what = f"the message queued {d.queued_at}" if d.kind == "retry" else "digest"
        if d.ok:
            lines.append(f"notify: {d.channel}: {what} sent ({d.answer})")
        else:
            lines.append(
                f"notify: {d.channel}: {what} NOT sent, kept in the outbox for the next run: "
                f"{d.error}"
            )
    lines += [f"notify: {e}" for e in report.errors]
    return lines
