"""Warning/critical limits with defaults, overridable in the inventory's `thresholds:`
(merged defaults -> site -> role -> device by the inventory loader).

    thresholds:
      cpu: {warn: 80, crit: 95}        # percent
      temperature: {warn: 55, crit: 70}
      if_down: critical                # admin up + oper down: ok | warning | critical
      reboot: warning                  # uptime went backwards since the last poll
      sensor_unavailable: ok           # ENTITY-SENSOR state 2; ok = shown, not graded
      sensor_nonoperational: ok        # ENTITY-SENSOR state 3

Keys this module does not know are left alone: other checks (UPS) read their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opskit.errors import InputError
from opskit.monitor.model import Status


@dataclass(frozen=True, slots=True)
class Limit:
    """Upper limits: a value at or above `crit` is CRITICAL, at or above `warn` WARNING."""

    warn: float | None = None
    crit: float | None = None

    def judge(self, value: float | None) -> Status:
        """The status of `value` against these limits (UNKNOWN for None).

        >>> Limit(80, 95).judge(90).name
        'WARNING'
        """
        if value is None:
            return Status.UNKNOWN
        if self.crit is not None and value >= self.crit:
            return Status.CRITICAL
        if self.warn is not None and value >= self.warn:
            return Status.WARNING
        return Status.OK


LIMIT_DEFAULTS: dict[str, Limit] = {
    "cpu": Limit(80, 95),  # percent, 5-minute average where the device has one
    "memory": Limit(85, 95),  # percent used
    "swap": Limit(50, 80),  # percent used
    "temperature": Limit(60, 75),  # celsius, when the device reports no limit of its own
    "disk": Limit(85, 95),  # percent of space used
    "inodes": Limit(85, 95),  # percent of inodes used
    "load": Limit(2.0, 4.0),  # 5-minute load average per core
    "if_errors": Limit(1, 10),  # errors per second, in or out
    "if_discards": Limit(10, 100),  # discards per second, in or out
    "if_utilization": Limit(90, None),  # percent of the interface speed
}
STATUS_DEFAULTS: dict[str, Status] = {
    "if_down": Status.WARNING,  # admin up, oper down (many shops leave unused ports up)
    "reboot": Status.WARNING,  # uptime lower than at the last poll
    # ENTITY-SENSOR sensors the device itself calls unavailable / nonoperational: shown,
    # not graded (an Arista 7150S reports its six empty fan slots so); a shop may grade.
    "sensor_unavailable": Status.OK,
    "sensor_nonoperational": Status.OK,
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Merged limits for one device; `raw` keeps every key for other checks."""

    limits: Mapping[str, Limit]
    statuses: Mapping[str, Status]
    raw: Mapping[str, Any]

    def limit(self, name: str) -> Limit:
        """The limit for a check (no limits when unknown)."""
        return self.limits.get(name, Limit())

    def status(self, name: str) -> Status:
        """The configured status for an event check (if_down, reboot)."""
        return self.statuses.get(name, Status.WARNING)


def merge_thresholds(section: Mapping[str, Any] | None, *, where: str = "") -> Thresholds:
    """Defaults overlaid with an inventory `thresholds:` mapping.

    Args:
        section: the device's merged `thresholds` section (may be None or empty).
        where: names the device in error messages.

    Returns:
        The thresholds.

    Raises:
        InputError: a known key with a bad shape (e.g. `cpu: high`).

    >>> merge_thresholds({"cpu": {"warn": 50}}).limit("cpu")
    Limit(warn=50.0, crit=95.0)
    """
    section = section or {}
    prefix = f"{where}: " if where else ""
    limits = dict(LIMIT_DEFAULTS)
    statuses = dict(STATUS_DEFAULTS)
    for key, value in section.items():
        if key in LIMIT_DEFAULTS:
            if not isinstance(value, Mapping) or set(value) - {"warn", "crit"}:
                raise InputError(f"{prefix}thresholds.{key} must be {{warn: N, crit: N}}")
            base = limits[key]
            try:
                warn = value.get("warn", base.warn)
                crit = value.get("crit", base.crit)
                limits[key] = Limit(
                    None if warn is None else float(warn), None if crit is None else float(crit)
                )
            except (TypeError, ValueError):
                raise InputError(f"{prefix}thresholds.{key}: warn/crit must be numbers") from None
        elif key in STATUS_DEFAULTS:
            name = str(value).upper()
            if name not in ("OK", "WARNING", "CRITICAL"):
                raise InputError(f"{prefix}thresholds.{key} must be ok, warning or critical")
            statuses[key] = Status[name]
    return Thresholds(limits=limits, statuses=statuses, raw=dict(section))
