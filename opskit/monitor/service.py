"""Run health checks over inventory devices: pick a checker per device, poll them all
concurrently through the runner, keep the small state that rates and reboot detection
need.

A device's checker is named by its platform file (`monitor.checker`; `opskit.platforms`)
and looked up in `opskit.monitor.checkers.CHECKERS`. A checker is

    async def checker(ctx: CheckContext, device: Device) -> DeviceHealth

It may raise `OpskitError` (the device is then reported unreachable, UNKNOWN or CRITICAL
by setting) and must not catch `asyncio.CancelledError`/`TimeoutError` from the
per-device deadline. `ctx.snmp` is the run's one SNMP engine; `ctx.previous(device)` is
what the checker saved last poll and `ctx.save(device, data)` what it keeps for the next
(JSON-able); `ctx.thresholds(device)` the merged thresholds.

The event loop is started once, here, at the service edge (`check_devices`, through
`opskit.runner.run_edge`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opskit.errors import InputError, OpskitError
from opskit.fileio import make_private_dir, write_atomic
from opskit.monitor.checkers import checker_for
from opskit.monitor.context import (
    MONITOR_SETTINGS_KEYS,
    CheckContext,
    MonitorSettings,
    parse_unreachable,
)
from opskit.monitor.model import Checker, DeviceHealth, HealthReport, Status
from opskit.runner import Deadline, Result, run_async, run_edge
from opskit.targets import snmp_budget, snmp_target

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory

__all__ = [
    "MONITOR_SETTINGS_KEYS",
    "STATE_FILE",
    "CheckContext",
    "HealthSession",
    "MonitorSettings",
    "check_devices",
    "check_devices_async",
    "checker_for",
    "monitored_devices",
    "parse_unreachable",
]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

STATE_FILE = "monitor-state.json"


def monitored_devices(devices: Iterable[Device]) -> list[Device]:
    """The devices `monitor check` polls (see `checker_for`)."""
    return [d for d in devices if checker_for(d) is not None]


def load_state(path: Path) -> dict[str, Any]:
    """The state of the last poll ({} when absent or unreadable: rates start again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(path: Path, data: Mapping[str, Any]) -> None:
    """Write the state atomically (temp file in the same directory, fsync, replace)."""
    make_private_dir(path.parent)  # the state directory: the owner's only
    write_atomic(path, json.dumps(data, separators=(",", ":")), suffix="")


def device_deadline(device: Device, inventory: Inventory, settings: MonitorSettings) -> float:
    """Seconds one device's poll may take (`settings.monitor.device_timeout`, else from
    its SNMP timeout and retries)."""
    if settings.device_timeout is not None:
        return settings.device_timeout
    # A health poll is a handful of sequential request rounds; a slow agent gets that
    # many full budgets and no more, so one bad device never holds up the run. A dead
    # device fails sooner, at its first request's timeout x tries. The floor leaves room
    # for a busy CPU: decoding is CPU-bound and 50 devices share it.
    return max(30.0, 4 * snmp_budget(inventory, device) + 2)


def _health(
    device: Device, result: Result[DeviceHealth], settings: MonitorSettings
) -> DeviceHealth:
    """A device's health from its runner result: the checker's, or its failure."""
    duration = round(result.duration, 3)
    if result.value is not None:
        health = result.value
        return health if health.duration_s else dataclasses.replace(health, duration_s=duration)
    if not result.internal:
        log.info("%s", result.error)
    return DeviceHealth(
        device=device.name,
        site=device.site,
        kind="snmp" if device.snmp else "device",
        # a checker bug is UNKNOWN; a device that does not answer is `unreachable`
        status=Status.UNKNOWN if result.internal else settings.unreachable,
        error=result.error,
        duration_s=duration,
    )


class HealthSession:
    """Polls devices on one SNMP engine for as long as it lives: `check_devices` makes one
    per run, `monitor serve` one for the whole server (its scrapes share the client, the
    poll slots and the state, rates and reboot detection, kept in memory).

    Make it inside the running event loop (the SNMP client binds to it); `close()` it.

    Args:
        inventory: the loaded inventory.
        settings: `settings.monitor` (read from the inventory when None).
        state: what checkers saved at earlier polls (the state file's contents).
    """

    def __init__(
        self,
        inventory: Inventory,
        settings: MonitorSettings | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        from opskit.transport.snmp import SnmpClient

        self.inventory = inventory
        self.settings = settings or MonitorSettings.from_inventory(inventory)
        self.state: dict[str, Any] = dict(state or {})
        self.client = SnmpClient(max_in_flight=self.settings.concurrency)
        # The runner's slots also keep the requests in flight near `concurrency` (a poll
        # is a few sequential requests); shared by every check of the session.
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._warm: set[str] = set()
        self.polls = 0

    async def check(self, devices: Iterable[Device]) -> tuple[list[DeviceHealth], dict[str, Any]]:
        """Poll the devices that have a checker, concurrently.

        Returns:
            One DeviceHealth per polled device, in the order given, and what their
            checkers saved for the next poll (also kept in `state`).

        Raises:
            InputError: a bad `snmp:` or `thresholds:` section stops the check.
        """
        inventory, settings = self.inventory, self.settings
        chosen = [(d, c) for d in devices if (c := checker_for(d)) is not None]
        ctx = CheckContext(
            inventory=inventory, snmp=self.client, now=time.time(), state=self.state,
            settings=settings,
        )  # fmt: skip

        async def check(pair: tuple[Device, Checker], _deadline: Deadline) -> DeviceHealth:
            device, checker = pair
            health: DeviceHealth = await checker(ctx, device)
            return health

        # Engine discovery for every v3 agent first: a burst of first contacts makes
        # each agent answer a discovery per request, and some time out.
        v3 = []
        for d, _c in chosen:
            if d.name in self._warm:
                continue
            if str((d.snmp or {}).get("version", "2c")).lower().removeprefix("v") == "3":
                with contextlib.suppress(OpskitError):  # the checker reports it
                    v3.append(snmp_target(inventory, d))
                self._warm.add(d.name)
        if v3:
            await self.client.warm_up(v3)
        results = await run_async(
            chosen,
            check,
            name=lambda pair: pair[0].name,
            seconds=lambda pair: device_deadline(pair[0], inventory, settings),
            concurrency=settings.concurrency,
            what="check",
            reraise=(InputError,),
            slots=self._slots,
        )
        self.polls += len(chosen)
        self.state.update(ctx.new_state)
        healths = [_health(d, r, settings) for (d, _c), r in zip(chosen, results, strict=True)]
        return healths, ctx.new_state

    def close(self) -> None:
        """Close the SNMP client's sockets."""
        self.client.close()


async def _check_all(
    inventory: Inventory,
    devices: list[Device],
    settings: MonitorSettings,
    state: Mapping[str, Any],
) -> tuple[list[DeviceHealth], dict[str, Any]]:
    session = HealthSession(inventory, settings, state)
    try:
        return await session.check(devices)
    finally:
        session.close()


async def check_devices_async(
    inventory: Inventory,
    devices: Iterable[Device],
    *,
    settings: MonitorSettings | None = None,
    keep_state: bool = True,
) -> HealthReport:
    """The coroutine behind `check_devices` (one process), for callers in an event loop."""
    settings = settings or MonitorSettings.from_inventory(inventory)
    state_path = inventory.settings.state_dir / STATE_FILE
    state = load_state(state_path) if keep_state else {}
    results, new_state = await _check_all(inventory, list(devices), settings, state)
    if keep_state and new_state:
        save_state(state_path, {**state, **new_state})
    return HealthReport(devices=tuple(results))


def check_devices(
    inventory: Inventory,
    devices: Iterable[Device],
    *,
    unreachable: Status | None = None,
    keep_state: bool = True,
) -> HealthReport:
    """Poll every device that has a checker, concurrently, and judge the readings.

    One process, one event loop (`run_edge` here, the edge): the own v1/v2c codec
    made decoding cheap enough that the forked worker pool of old no longer paid
    (docs/notes/issue-12.md has the figures).

    Args:
        inventory: the loaded inventory (settings.monitor, thresholds, state_dir).
        devices: the devices asked for; those without a checker are skipped.
        unreachable: the status of a device that cannot be polled (default from
            `settings.monitor.unreachable`, else UNKNOWN).
        keep_state: read and write the state file (rates, reboot detection).

    Returns:
        One DeviceHealth per polled device, in the order given.

    Raises:
        InputError: a bad `settings.monitor`, `snmp:` or `thresholds:` section.
    """
    settings = MonitorSettings.from_inventory(inventory)
    if unreachable is not None:
        settings = dataclasses.replace(settings, unreachable=unreachable)
    chosen = [d for d in devices if checker_for(d) is not None]
    return run_edge(
        check_devices_async(inventory, chosen, settings=settings, keep_state=keep_state)
    )
