"""`opskit worker`: run shards' backups and polls on a schedule, with failover through leases.

The loop, leases and cycles are `opskit.scheduler` and `opskit.coordinator`; this module
only parses the options and wires the jobs to the backup and monitor services (the one
place allowed to call both).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from opskit.commands.options import JsonOpt
from opskit.errors import ExitCode, InputError

if TYPE_CHECKING:
    from opskit.coordinator import Leases
    from opskit.inventory import Inventory
    from opskit.scheduler import Event, JobOutcome


def _names(text: str | None, option: str) -> list[str]:
    from opskit.inventory.shards import SHARD_NAME

    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    for n in names:
        if not SHARD_NAME.match(n):
            raise InputError(f"{option}: '{n}' is not a shard name")
    return names


def worker(
    shards: Annotated[
        str | None,
        typer.Option("--shards", metavar="A,B", help="The shards this worker owns."),
    ] = None,
    standby: Annotated[
        str | None,
        typer.Option(
            "--standby",
            metavar="C,D",
            help="Shards it takes over when their owner's lease lapses (needs a coordinator).",
        ),
    ] = None,
    worker_id: Annotated[
        str | None,
        typer.Option("--id", help="This worker's name in the leases (default host:pid)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run each shard's jobs on settings.schedule (backup: 1h, monitor: 1m by default).

    With settings.coordinator (Redis), each shard is held as a lease: a standby shard is
    taken over when its owner stops renewing, and given back when the owner returns.
    One line per event on stderr; stops on SIGTERM or Ctrl-C after the running jobs (with
    --json, one JSON object of what ran). Exit 0, or 1 when a job failed.
    """
    import os
    import signal
    import socket
    import threading

    from opskit.cli import STATE
    from opskit.inventory import ScheduleSpec, inventory_shards, load_inventory
    from opskit.output import print_json
    from opskit.scheduler import Scheduler

    own, spare = _names(shards, "--shards"), _names(standby, "--standby")
    if not own and not spare:
        raise InputError("give --shards (and --standby with a coordinator): no shard to run")
    inventory = load_inventory(STATE.inventory_path)
    settings = inventory.settings
    known = set(inventory_shards(inventory))
    for name in own + spare:
        if name not in known:
            raise InputError(f"{inventory.path.name}: no shard '{name}' (opskit inventory shards)")
    if spare and settings.coordinator is None:
        raise InputError(
            "--standby needs settings.coordinator (a redis:// URL): without one, shards are "
            "static and only their owner runs them"
        )
    schedule = settings.schedule or ScheduleSpec(jobs={"backup": 3600.0, "monitor": 60.0})
    if not schedule.jobs:
        raise InputError(f"{inventory.path.name}: settings.schedule names no job (backup, monitor)")
    me = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    jobs = _Jobs(STATE.inventory_path, inventory, me)
    leases = _leases(inventory, me)
    ttl = settings.coordinator.ttl if settings.coordinator else schedule.tick * 3

    def say(event: Event) -> None:
        sys.stderr.write(f"opskit worker {me}: {event.shard}: {event.message}\n")
        sys.stderr.flush()

    scheduler = Scheduler(
        leases,
        own,
        spare,
        {job: getattr(jobs, job) for job in schedule.jobs},
        schedule.jobs,
        tick=schedule.tick,
        ttl=ttl,
        on_event=say,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stderr.write(
        f"opskit worker {me}: shards {','.join(own) or '-'}, standby {','.join(spare) or '-'}, "
        + ", ".join(f"{job} every {secs:g} s" for job, secs in schedule.jobs.items())
        + "\n"
    )
    scheduler.run(stop)
    runs = scheduler.runs
    if json_out:
        print_json(
            {
                "ok": all(r.ok for r in runs),
                "worker": me,
                "shards": own,
                "standby": spare,
                "runs": [r.to_dict() for r in runs],
                "events": [
                    {"time": round(e.time, 3), "kind": e.kind, "shard": e.shard, "text": e.message}
                    for e in scheduler.events
                ],
            }
        )
    if not all(r.ok for r in runs):
        raise typer.Exit(ExitCode.FAILED)


def _leases(inventory: Inventory, me: str) -> Leases:
    from opskit.coordinator import RedisLeases, StaticLeases
    from opskit.inventory import resolve_credentials

    spec = inventory.settings.coordinator
    if spec is None:
        return StaticLeases(me)
    creds = resolve_credentials(inventory, spec.credentials, device="coordinator")
    return RedisLeases(
        spec.url,
        me,
        spec.ttl,
        username=creds.username,
        password=creds.password.get_secret_value() if creds.password else None,
    )


class _Jobs:
    """The jobs a worker runs for a shard: the inventory is read again when it changed."""

    def __init__(self, path: object, inventory: Inventory, me: str) -> None:
        self.path = path
        self.inventory = inventory
        self.me = me
        self._signature = self._stat()

    def _stat(self) -> tuple[tuple[str, float, int], ...]:
        """The main file's and every included file's (mtime, size)."""
        from pathlib import Path

        out = []
        for path in dict.fromkeys([Path(str(self.path)), *self.inventory.files]):
            try:
                st = path.stat()
            except OSError:
                out.append((str(path), 0.0, -1))
                continue
            out.append((str(path), st.st_mtime, st.st_size))
        return tuple(out)

    def _current(self) -> Inventory:
        from opskit.inventory import load_inventory

        if self._stat() != self._signature:
            self.inventory = load_inventory(str(self.path))  # a bad edit: the job fails
            self._signature = self._stat()
        return self.inventory

    def backup(self, shard: str, cycle: int) -> JobOutcome:
        """Back up the shard's devices (and push, with settings.backup_remote)."""
        from opskit.backup.history import backup_devices
        from opskit.backup.service import run_backup
        from opskit.inventory import select_devices
        from opskit.scheduler import JobOutcome

        inv = self._current()
        devices = backup_devices(inv, select_devices(inv, shard=shard))
        if not devices:
            return JobOutcome(True, "no devices to back up")
        title = f"opskit worker {self.me}: backup of shard {shard}, cycle {cycle}"
        report = run_backup(inv, devices, title=title)
        s = report.to_dict()["summary"]
        text = f"{s['devices']} devices, {s['ok']} ok, {s['failed']} failed, {s['changed']} changed"
        if report.push is not None:
            text += f", pushed {report.push.pushed}" if report.push.ok else f"; {report.push.error}"
        return JobOutcome(report.ok, text)

    def monitor(self, shard: str, cycle: int) -> JobOutcome:
        """Poll the shard's devices; the exposition goes to <state_dir>/monitor-shard-S.prom."""
        from opskit.inventory import select_devices
        from opskit.monitor.render import render_prometheus, write_textfile
        from opskit.monitor.service import check_devices, monitored_devices
        from opskit.scheduler import JobOutcome

        inv = self._current()
        targets = monitored_devices(select_devices(inv, shard=shard))
        if not targets:
            return JobOutcome(True, "no devices to poll")
        report = check_devices(inv, targets)
        path = inv.settings.state_dir / f"monitor-shard-{shard}.prom"
        write_textfile(render_prometheus(report, {"shard": shard}), str(path))
        up = sum(1 for d in report.devices if not d.error)
        polled = len(report.devices)
        return JobOutcome(True, f"{polled} devices polled, {up} up, {report.status.name}")
