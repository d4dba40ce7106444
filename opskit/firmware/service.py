"""`firmware check`: discover (or remember) each device's running version and judge it.

Calls point one way: the CLI calls `check_firmware`, which loads the catalogue, runs
discovery (SNMP first, the CLI for devices without an `snmp:` section), remembers what
it found, falls back to the remembered version (marked stale, with its age) for devices
that did not answer, and evaluates every device. It returns a frozen report; it never
prints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opskit.errors import InputError
from opskit.firmware.catalog import Catalog, load_catalog
from opskit.firmware.evaluate import NAGIOS, Evaluation, evaluate, worst_exit_code
from opskit.firmware.state import Discovery, load_state, save_discoveries
from opskit.firmware.versions import family_of, parse_version
from opskit.inventory import SECTION_KEYS
from opskit.platforms import resolve

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory

FIRMWARE_KEYS = SECTION_KEYS["firmware"]  # a device's own `firmware:` policy


@dataclass(frozen=True, slots=True)
class FirmwareResult:
    """One device's firmware verdict."""

    device: str
    site: str
    platform: str
    status: str
    exit_code: int
    running: str | None = None
    model: str | None = None
    source: str | None = None  # "snmp", "cli" (this run or remembered), None
    discovered_at: dt.datetime | None = None
    stale: bool = False
    age_s: float | None = None
    error: str | None = None
    detected_platform: str | None = None
    judged_as: str | None = None  # the platform whose releases judged it
    evaluation: Evaluation = field(default_factory=lambda: Evaluation("unknown-version"))

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of one device."""
        ev = self.evaluation
        return {
            "device": self.device,
            "site": self.site,
            "platform": self.platform,
            "model": self.model,
            "running": self.running,
            "family": ev.family,
            "train": ev.train,
            "status": self.status,
            "exit_code": self.exit_code,
            "target": ev.target,
            "target_source": ev.target_source,
            "minimum": ev.minimum,
            "recommended": ev.recommended,
            "newest_in_train": ev.newest_in_train,
            "newest": ev.newest,
            "release_status": ev.release_status,
            "advisories": list(ev.advisories),
            "reasons": list(ev.reasons),
            "source": self.source,
            "discovered_at": self.discovered_at.isoformat() if self.discovered_at else None,
            "stale": self.stale,
            "age_s": None if self.age_s is None else round(self.age_s, 1),
            "error": self.error,
            "detected_platform": self.detected_platform,
            "judged_as": self.judged_as,
        }


@dataclass(frozen=True, slots=True)
class FirmwareReport:
    """The result of one `firmware check` run."""

    results: tuple[FirmwareResult, ...]
    catalog: Path
    offline: bool = False

    @property
    def exit_code(self) -> int:
        """Worst of the devices: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
        return worst_exit_code([r.status for r in self.results])

    @property
    def counts(self) -> dict[str, int]:
        """How many devices have each status."""
        return dict(Counter(r.status for r in self.results))

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of the report."""
        return {
            "ok": self.exit_code == 0,
            "status": NAGIOS[self.exit_code],
            "exit_code": self.exit_code,
            "catalog": str(self.catalog),
            "offline": self.offline,
            "counts": self.counts,
            "devices": [r.to_dict() for r in self.results],
        }


def firmware_section(device: Device) -> dict[str, Any]:
    """The device's `firmware:` inventory section, checked.

    Raises:
        InputError: unknown keys (naming the device's file and line).
    """
    section: Mapping[str, Any] = device.firmware or {}
    unknown = sorted(set(section) - set(FIRMWARE_KEYS))
    if unknown:
        where = f"{device.source}: " if device.source else ""
        raise InputError(
            f"{where}device '{device.name}': unknown firmware key(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(FIRMWARE_KEYS)})"
        )
    return dict(section)


def _age(now: dt.datetime, then: dt.datetime) -> float:
    return max(0.0, (now - then).total_seconds())


def format_age(seconds: float) -> str:
    """A short human age.

    >>> format_age(90), format_age(7200), format_age(3 * 86400)
    ('1m', '2h', '3d')
    """
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def _judged_platform(
    platform: str, running: str | None, discovery: Discovery | None, catalog: Catalog
) -> str:
    """The platform whose scheme and releases judge the device.

    The inventory's (by its canonical name: `cisco_ios` for `cisco_ios_ssh`), unless its
    scheme rejects the running version and a sibling platform's accepts it (an IOS-XE
    switch entered as cisco_ios, as netmiko allows) or the sysDescr named another
    platform whose scheme accepts it, and the catalogue lists that platform.
    """
    found = resolve(platform)
    platform = found.name
    if not running or parse_version(platform, running).known:
        return platform
    candidates = list(found.firmware.siblings)
    if discovery is not None and discovery.detected_platform:
        candidates.insert(0, discovery.detected_platform)
    for alt in candidates:
        if alt != platform and catalog.has_platform(alt) and parse_version(alt, running).known:
            return alt
    return platform


def judge_device(
    device: Device,
    catalog: Catalog,
    discovery: Discovery | None,
    *,
    now: dt.datetime,
    fresh: bool,
    error: str | None = None,
) -> FirmwareResult:
    """Evaluate one device from its (fresh or remembered) discovery."""
    section = firmware_section(device)
    model = device.model or (discovery.model if discovery else None)
    running = discovery.version if discovery else None
    judged_as = _judged_platform(device.platform, running, discovery, catalog)
    policy = catalog.policy_for(judged_as, device.site, device.name, section)
    ev = evaluate(judged_as, running, catalog, policy, model=model)
    reasons = list(ev.reasons)
    if judged_as != resolve(device.platform).name:
        reasons.append(
            f"judged as {judged_as}: '{running}' is a {family_of(judged_as)} version, not a "
            f"{family_of(device.platform)} one (the inventory says {device.platform})"
        )
    stale = discovery is not None and not fresh
    age = _age(now, discovery.at) if discovery else None
    if stale and age is not None:
        via = discovery.source if discovery else ""
        reasons.append(f"remembered from {format_age(age)} ago (via {via})")
    if error and not fresh:
        reasons.append(f"not reached now: {error}")
    if (
        discovery is not None
        and discovery.detected_platform
        and family_of(discovery.detected_platform) != family_of(judged_as)
        and ev.status == "unknown-version"
    ):
        reasons.append(
            f"the device looks like {discovery.detected_platform}: check its inventory platform"
        )
    ev = dataclasses.replace(ev, reasons=tuple(reasons))
    return FirmwareResult(
        device=device.name,
        site=device.site,
        platform=device.platform,
        status=ev.status,
        exit_code=ev.exit_code,
        running=running,
        model=model,
        source=discovery.source if discovery else None,
        discovered_at=discovery.at if discovery else None,
        stale=stale,
        age_s=age,
        error=error,
        detected_platform=discovery.detected_platform if discovery else None,
        judged_as=judged_as,
        evaluation=ev,
    )


def check_firmware(
    inventory: Inventory,
    devices: Sequence[Device],
    *,
    offline: bool = False,
    catalog: Catalog | None = None,
    now: dt.datetime | None = None,
) -> FirmwareReport:
    """Check every device's running version against the catalogue.

    Args:
        inventory: the loaded inventory.
        devices: the devices to check (patch panels and `firmware: {ignore: true}` are
            left out).
        offline: use remembered discoveries only (no network).
        catalog: a loaded catalogue (default: settings.firmware_catalog).
        now: the time of the run (tests).

    Returns:
        The report.

    Raises:
        InputError: bad catalogue, bad `firmware:` section, unreadable state file.
    """
    stamp = now or dt.datetime.now(dt.UTC)
    cat = catalog or load_catalog(inventory.settings.firmware_catalog)
    wanted = [
        d
        for d in devices
        if resolve(d.platform).firmware.check and not firmware_section(d).get("ignore")
    ]
    state_dir = Path(inventory.settings.state_dir)
    remembered = load_state(state_dir)
    fresh: dict[str, Discovery] = {}
    errors: dict[str, str] = {}
    if not offline and wanted:
        from opskit.firmware.discover import discover_devices

        for name, outcome in discover_devices(inventory, wanted, stamp).items():
            if isinstance(outcome, Discovery) and outcome.version:
                fresh[name] = outcome
            elif isinstance(outcome, Discovery):
                # The device answered but showed no version we recognise: say what it
                # said, and keep judging on the last version we did recognise.
                shown = f": '{outcome.detail[:80]}'" if outcome.detail else ""
                errors[name] = f"{name}: answered over {outcome.source} without a version{shown}"
            else:
                errors[name] = outcome
        save_discoveries(state_dir, fresh.values())
    results = []
    for d in wanted:
        if d.name in fresh:
            results.append(judge_device(d, cat, fresh[d.name], now=stamp, fresh=True))
        else:
            results.append(
                judge_device(
                    d,
                    cat,
                    remembered.get(d.name),
                    now=stamp,
                    fresh=False,
                    error=errors.get(d.name),
                )
            )
    return FirmwareReport(tuple(results), cat.path, offline=offline)
