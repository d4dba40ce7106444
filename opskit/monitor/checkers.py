"""The monitor's checkers by name: a platform file's `monitor.checker` picks one.

A plain dict filled at import: the checker modules do not register themselves, so none
of them imports the service that runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from opskit.monitor.device import check_snmp_device
from opskit.monitor.model import Checker
from opskit.monitor.server import check_snmp_server
from opskit.monitor.ups_check import check_nut, check_snmp
from opskit.platforms import resolve

if TYPE_CHECKING:
    from opskit.inventory import Device


@dataclass(frozen=True, slots=True)
class CheckerEntry:
    """A checker and what a device needs for it to run.

    `requires` names a device section (`snmp`) without which the device is skipped (a
    `linux` box only backed up over SSH); `needs_host` skips devices without a host.
    """

    check: Checker
    requires: str | None = None
    needs_host: bool = False


CHECKERS: dict[str, CheckerEntry] = {
    # routers and switches; every platform without a checker of its own
    "snmp": CheckerEntry(check_snmp_device, requires="snmp", needs_host=True),
    # HOST-RESOURCES/UCD-SNMP of a Linux server
    "server": CheckerEntry(check_snmp_server, requires="snmp"),
    "ups_nut": CheckerEntry(check_nut),
    "ups_snmp": CheckerEntry(check_snmp),
}


def checker_for(device: Device) -> Checker | None:
    """The checker for a device, or None when it is not monitored (patch panels,
    devices whose checker needs an `snmp:` section they lack, no host)."""
    name = resolve(device.platform).monitor_checker
    entry = CHECKERS.get(name) if name else None
    if entry is None:
        return None
    if entry.requires and not getattr(device, entry.requires, None):
        return None
    if entry.needs_host and not device.host:
        return None
    return entry.check
