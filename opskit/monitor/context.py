"""What a checker gets besides its device: the run's context and `settings.monitor`.

Kept apart from the service so checkers (device, server, UPS) import it without importing
the service that runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opskit.errors import InputError
from opskit.inventory import settings_section
from opskit.monitor.model import Status
from opskit.monitor.thresholds import Thresholds, merge_thresholds

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory
    from opskit.transport.snmp import SnmpClient

MONITOR_SETTINGS_KEYS = ("unreachable", "concurrency", "device_timeout", "cache_seconds")


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """`settings.monitor` in the inventory, with defaults."""

    unreachable: Status = Status.UNKNOWN
    concurrency: int = 50
    device_timeout: float | None = None
    cache_seconds: float = 10.0

    @classmethod
    def from_inventory(cls, inventory: Inventory) -> MonitorSettings:
        """Parse `settings.monitor` (unknown keys and bad values are InputErrors)."""
        raw, where = settings_section(inventory, "monitor", MONITOR_SETTINGS_KEYS)
        try:
            unreachable = parse_unreachable(str(raw.get("unreachable", "unknown")))
            conc = int(raw.get("concurrency", 50))
            dt = raw.get("device_timeout")
            cache = float(raw.get("cache_seconds", 10.0))
            return cls(unreachable, max(1, conc), None if dt is None else float(dt), cache)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: {exc}") from None


def parse_unreachable(text: str) -> Status:
    """`unknown` or `critical` as a Status.

    >>> parse_unreachable("critical").name
    'CRITICAL'
    """
    value = text.strip().upper()
    if value not in ("UNKNOWN", "CRITICAL"):
        raise ValueError(f"unreachable must be 'unknown' or 'critical', not '{text}'")
    return Status[value]


@dataclass
class CheckContext:
    """What a checker gets besides its device (one per run)."""

    inventory: Inventory
    snmp: SnmpClient
    now: float
    settings: MonitorSettings = field(default_factory=lambda: MonitorSettings())
    state: Mapping[str, Any] = field(default_factory=dict)
    new_state: dict[str, Any] = field(default_factory=dict)

    def previous(self, device: Device) -> Mapping[str, Any]:
        """What the checker saved for this device at the last poll ({} the first time)."""
        value = self.state.get(device.name)
        return value if isinstance(value, Mapping) else {}

    def save(self, device: Device, data: Mapping[str, Any]) -> None:
        """Keep JSON-able `data` for this device's next poll."""
        self.new_state[device.name] = dict(data)

    def thresholds(self, device: Device) -> Thresholds:
        """Built-in defaults overlaid with the device's merged `thresholds:`."""
        return merge_thresholds(device.thresholds, where=device.name)
