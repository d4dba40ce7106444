"""`opskit backup listen`: syslog-triggered backups (registered onto `backup`).

Light at import time: the listener, the backup service and notifications are imported
inside the command function.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opskit.cli import STATE

if TYPE_CHECKING:
    from opskit.backup.tftp_serve import Reload


def listen_cmd(
    syslog: Annotated[
        str | None,
        typer.Option(
            "--syslog",
            metavar="HOST:PORT",
            help="Receive syslog here (default: settings.listen.syslog, else 0.0.0.0:514).",
        ),
    ] = None,
    quiet: Annotated[
        float | None,
        typer.Option(
            "--quiet",
            metavar="SECONDS",
            min=0,
            help="Back up a device once it has been quiet this long (settings.listen.quiet, 30).",
        ),
    ] = None,
    tcp: Annotated[
        bool | None, typer.Option("--tcp/--no-tcp", help="Also accept syslog over TCP.")
    ] = None,
    tftp: Annotated[
        bool,
        typer.Option("--tftp", help="Also receive router-pushed configs (as backup tftp-serve)."),
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per event on stdout.")
    ] = False,
) -> None:
    """Back a device up when its own syslog says its config changed.

    Recognises each platform's "configured" message (IOS %SYS-5-CONFIG_I, NX-OS
    VSHD_SYSLOG_CONFIG_I, EOS CONFIG_I/CONFIG_E, Junos UI_COMMIT, ...), finds the device by
    source address (else the message's HOSTNAME), waits until the device has been quiet,
    then backs it up and sends the changes digest naming who configured it. Other messages
    and unknown senders are counted and dropped. SIGHUP reads the inventory again (devices
    added or removed, notify channels, who may push with --tftp); a bad one leaves the old
    in force. Stops on SIGTERM/SIGINT (exit 0) after the backups still waiting.
    """
    import asyncio
    import json
    import logging

    from opskit.audit import VALUE_INSPECTOR
    from opskit.backup import run_backup
    from opskit.backup.history import backup_devices
    from opskit.commands.backup import notify_after
    from opskit.errors import InputError
    from opskit.inventory import Device, Inventory, load_inventory
    from opskit.notify import load_channels
    from opskit.notify.listen import ListenEvent, listen, listen_settings
    from opskit.output import to_jsonable

    inv = load_inventory(STATE.inventory_path)
    channels = load_channels(inv)  # a bad notify: list stops here, before listening
    settings = listen_settings(inv, syslog=syslog, quiet=quiet, tcp=tcp)
    devices = backup_devices(inv, list(inv.devices.values()))
    if not devices:
        raise InputError(f"{inv.path.name}: no device to back up")

    def emit_json(kind: str, payload: Mapping[str, Any]) -> None:
        sys.stdout.write(json.dumps(to_jsonable({"event": kind, **payload})) + "\n")
        sys.stdout.flush()

    def emit(event: ListenEvent) -> None:
        if json_out:
            emit_json(
                event.kind,
                {
                    "devices": list(event.devices),
                    "source": event.source,
                    "changed_by": event.changed_by,
                    "message": event.message,
                    **({"result": event.detail} if event.detail else {}),
                },
            )
        else:
            sys.stdout.write(event.line() + "\n")
            sys.stdout.flush()

    def backup(batch: list[Any], changed_by: dict[str, str]) -> Mapping[str, Any]:
        report = run_backup(inv, batch, inspector=VALUE_INSPECTOR)
        sent = notify_after(
            inv, report, channels, changed_by=changed_by, source="opskit backup listen (syslog)"
        )
        changed = [r.device for r in report.changed]
        failed = [f"{r.device} ({r.reason})" for r in report.failed]
        commit = f" (commit {report.commit[:10]})" if report.commit else ""
        parts = [f"{len(changed)} changed{commit}"]
        if failed:
            parts.append(f"failed: {', '.join(failed)}")
        for d in sent.deliveries:
            parts.append(f"{d.channel}: {d.status}" + (f" ({d.error})" if d.error else ""))
        parts += [f"notify: {e}" for e in sent.errors]
        return {
            "summary": "; ".join(parts),
            "backup": report.to_dict(),
            "notify": sent.to_dict(),
        }

    def ready(address: str) -> None:
        sys.stderr.write(
            f"opskit: backup listen: syslog on {address}, {len(devices)} device"
            f"{'' if len(devices) == 1 else 's'}, "
            f"quiet {settings.quiet:g} s\n"
        )
        sys.stderr.flush()

    # The inventory, channels and devices in force are `inv`, `channels` and `devices`: a
    # SIGHUP rebinds them (`reload`); the backup and notification closures read them.
    tftp_apply: list[Callable[[Inventory], Reload]] = []  # the TFTP receiver's, once it runs

    async def reload() -> list[Device]:
        nonlocal inv, channels
        new = await asyncio.to_thread(load_inventory, STATE.inventory_path)
        new_devices = backup_devices(new, list(new.devices.values()))
        if not new_devices:
            raise InputError(f"{new.path.name}: no device to back up")
        try:
            new_channels, kept = load_channels(new), None
        except InputError as exc:
            new_channels, kept = channels, str(exc)
        if tftp_apply:
            pushing = tftp_apply[0](new)
            if pushing.error is not None:
                raise InputError(pushing.error)
        inv, channels = new, new_channels
        if kept:
            emit(ListenEvent("reload", message=f"notify channels not reloaded: {kept}"))
        return new_devices

    alongside = []
    if tftp:
        from opskit.backup import BackupReport
        from opskit.backup.tftp_serve import PushEvent, serve_pushes
        from opskit.commands.notify import notify_lines

        if STATE.verbose == 0:
            logging.getLogger("opskit.transport.tftp").setLevel(logging.ERROR)

        def tftp_event(event: PushEvent) -> None:
            if json_out:
                emit_json("tftp", to_jsonable(event))
            else:
                sys.stdout.write(event.line() + "\n")
                sys.stdout.flush()

        def tftp_ready(address: str) -> None:
            sys.stderr.write(f"opskit: backup listen: tftp on {address}\n")

        def tftp_stored(report: BackupReport) -> None:
            sent = notify_after(
                inv, report, channels, source="a config pushed by the device (backup listen)"
            )
            if json_out and (sent.deliveries or sent.errors):
                emit_json("tftp-notify", sent.to_dict())
            elif not json_out:
                for line in notify_lines(sent):
                    sys.stdout.write(line + "\n")
                sys.stdout.flush()

        alongside.append(
            lambda stop: serve_pushes(
                inv,
                None,
                tftp_event,
                tftp_ready,
                stop,
                30.0,
                VALUE_INSPECTOR,
                tftp_stored,
                share_apply=tftp_apply.append,  # this command reads the inventory on SIGHUP
            )
        )
    stats = listen(
        devices,
        settings,
        backup,
        on_event=emit,
        on_ready=ready,
        alongside=alongside,
        reload=reload,
    )
    if json_out:
        emit_json("stopped", {"stats": stats.to_dict()})
    else:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in stats.to_dict().items())
        sys.stderr.write(f"opskit: backup listen: stopped; {counts}\n")


def register(app: typer.Typer) -> None:
    """Add `listen` to the backup group."""
    app.command("listen")(listen_cmd)
