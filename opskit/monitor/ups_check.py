"""The UPS checkers: `check_nut` (upsd) and `check_snmp` (UPS-MIB / PowerNet-MIB), the
monitor's checkers for the `ups_nut` and `ups_snmp` platforms.

They poll one device and hand the reading to the pure rules of `opskit.monitor.ups`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from opskit.errors import DeviceError, InputError
from opskit.monitor.model import DeviceHealth, Status
from opskit.monitor.ups import (
    LastSeen,
    health_from_reading,
    health_from_silence,
    parse_thresholds,
    reading_from_nut,
)
from opskit.monitor.ups_snmp import read_snmp_ups, reading_from_snmp
from opskit.targets import nut_target, snmp_target

if TYPE_CHECKING:
    from opskit.inventory import Device
    from opskit.monitor.context import CheckContext


def _unreachable_status(ctx: CheckContext) -> Status:
    return ctx.settings.unreachable


async def check_nut(ctx: CheckContext, device: Device) -> DeviceHealth:
    """Checker for platform `ups_nut`: read the UPS from upsd and apply the rules.

    Args:
        ctx: the run's `opskit.monitor.context.CheckContext`.
        device: an inventory device with platform `ups_nut`.

    Returns:
        The UPS's health. A UPS that gives no data is UNKNOWN (stale data) or the
        unreachable status (no upsd), CRITICAL when last seen on battery.

    Raises:
        InputError: a bad `nut:` or `thresholds.ups` section.
    """
    from opskit.transport.nut import NutError, read_ups

    target = nut_target(ctx.inventory, device)
    thresholds = parse_thresholds(device)
    last = LastSeen.from_state(ctx.previous(device))
    info = {
        "source": "nut",
        "ups_name": target.ups,
        "target": f"{target.host}:{target.port}",
        "tls": target.tls,
    }
    try:
        # One budget for the whole session (connect, STARTTLS, login, list), inside the
        # service's per-device deadline, so a hung upsd is judged here by our rules.
        async with asyncio.timeout(target.timeout * 1.5):
            variables = await read_ups(target)
    except NutError as exc:
        otherwise = Status.UNKNOWN if exc.stale else _unreachable_status(ctx)
        return health_from_silence(
            device, str(exc), last, otherwise=otherwise, now=ctx.now, info=info
        )
    except TimeoutError:
        message = f"{target.label}: no complete answer within {target.timeout * 1.5:g}s"
        return health_from_silence(
            device, message, last, otherwise=_unreachable_status(ctx), now=ctx.now, info=info
        )
    reading = reading_from_nut(variables)
    ctx.save(device, LastSeen(reading.status, ctx.now).to_state())
    return health_from_reading(device, reading, thresholds, info=info)


async def check_snmp(ctx: CheckContext, device: Device) -> DeviceHealth:
    """Checker for platform `ups_snmp`: UPS-MIB or PowerNet-MIB over the run's SNMP engine.

    Args:
        ctx: the run's `opskit.monitor.context.CheckContext` (`ctx.snmp` is the engine).
        device: an inventory device with platform `ups_snmp` and an `snmp:` section.

    Returns:
        The UPS's health (see `check_nut` for a silent UPS). An agent that serves neither
        MIB is UNKNOWN with an error that says so.

    Raises:
        InputError: a bad `snmp:` or `thresholds.ups` section.
    """
    target = snmp_target(ctx.inventory, device)
    thresholds = parse_thresholds(device)
    last = LastSeen.from_state(ctx.previous(device))
    info: dict[str, Any] = {"source": "snmp", "target": f"{target.host}:{target.port}"}
    try:
        kind, values = await read_snmp_ups(ctx.snmp, target)
    except InputError:
        raise
    except DeviceError as exc:
        return health_from_silence(
            device, str(exc), last, otherwise=_unreachable_status(ctx), now=ctx.now, info=info
        )
    reading = reading_from_snmp(values)
    if reading is None:
        message = f"{target.label}: the agent serves neither UPS-MIB nor PowerNet-MIB"
        return health_from_silence(device, message, None, now=ctx.now, info=info)
    info["mib"] = kind
    ctx.save(device, LastSeen(reading.status, ctx.now).to_state())
    return health_from_reading(device, reading, thresholds, info=info)
