"""Health-check results shared by every kind of check (SNMP devices, UPSes, servers).

Statuses follow Nagios: OK/WARNING/CRITICAL/UNKNOWN map to exit codes 0/1/2/3.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Status(IntEnum):
    """A check's status; the value is the Nagios exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def severity(self) -> int:
        """Order for "worst of": OK < WARNING < UNKNOWN < CRITICAL."""
        return {0: 0, 1: 1, 3: 2, 2: 3}[int(self)]


def worst(statuses: list[Status] | tuple[Status, ...]) -> Status:
    """The worst status of several (OK when there are none).

    >>> worst([Status.OK, Status.UNKNOWN, Status.WARNING]).name
    'UNKNOWN'
    """
    return max(statuses, key=lambda s: s.severity, default=Status.OK)


@dataclass(frozen=True, slots=True)
class Reading:
    """One measured value and how it was judged.

    `check` is the kind (uptime, interface, cpu, memory, temperature, fan, psu, disk,
    ups_status, ups_input_voltage, ...); `subject` names the instance (an interface, a
    sensor, a filesystem; "" when the device has one). `value` is a number, or a string
    for states; `unit` follows Prometheus base units where it can (seconds, bytes, celsius,
    volts, percent, ratio, bits_per_second).
    """

    check: str
    subject: str
    value: float | str | None
    status: Status
    unit: str = ""
    message: str = ""
    warn: float | None = None
    crit: float | None = None
    min: float | None = None
    max: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # Lower limits, for values where low is bad (battery charge, runtime left, mains
    # voltage): `warn`/`crit` are upper limits. Nagios perfdata renders both as a range.
    warn_low: float | None = None
    crit_low: float | None = None
    # The device's own word on the thing measured, where it gives one (ENTITY-SENSOR's
    # entPhySensorOperStatus: "ok", "unavailable", "nonoperational"); "" otherwise.
    state: str = ""
    # False for a reading opskit shows but does not judge (a sensor the device says is
    # unavailable): its status is OK unless thresholds say otherwise, and no perfdata.
    graded: bool = True


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """The health of one device: its readings and the worst status among them.

    `error` is set when the device could not be polled at all (then `status` is UNKNOWN
    or CRITICAL, by setting).
    """

    device: str
    site: str
    kind: str  # "snmp", "ups", "server"
    status: Status
    readings: tuple[Reading, ...] = ()
    error: str | None = None
    duration_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_readings(
        cls, device: str, site: str, kind: str, readings: Iterable[Reading], info: dict[str, Any]
    ) -> DeviceHealth:
        """A polled device's health: its status is the worst of its readings.

        >>> DeviceHealth.from_readings("sw1", "lab", "snmp", [], {}).status.name
        'OK'
        """
        kept = tuple(readings)
        return cls(
            device=device,
            site=site,
            kind=kind,
            status=worst([r.status for r in kept]),
            readings=kept,
            info=info,
        )

    def problems(self) -> list[Reading]:
        """Readings that are not OK, worst first."""
        bad = [r for r in self.readings if r.status != Status.OK]
        return sorted(bad, key=lambda r: -r.status.severity)


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The result of one `monitor check` run over several devices."""

    devices: tuple[DeviceHealth, ...]

    @property
    def status(self) -> Status:
        """Worst status over all devices."""
        return worst(tuple(d.status for d in self.devices))


# A checker polls one device and returns its health. Checkers are registered by platform
# (or by the "*snmp" fallback) so each capability adds its own without touching the
# service: see opskit.monitor.service.
Checker = Callable[..., Awaitable[DeviceHealth]]
