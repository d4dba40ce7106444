"""Waivers: `audit: {waive: [{rule, device|site|tag, until, reason}]}` in the inventory.

A waiver covers the findings of `rule` (an id, or a pattern such as `OPS-IOS-LOG-*`) on
one device, every device of a site, or every device with a tag, until the end of the day
`until`. A covered finding is listed as waived and does not count; past `until` the waiver
covers nothing and is itself a finding (`OPS-AUDIT-WAIVER-1`), so a waiver cannot be
forgotten. The inventory checks each waiver's shape; this module checks what it names.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from opskit.audit.model import SOURCE_INVENTORY, Finding, Waived
from opskit.audit.rules import all_rulesets
from opskit.errors import InputError
from opskit.inventory import Device, Inventory, line_of

EXPIRED_RULE = "OPS-AUDIT-WAIVER-1"
EXPIRED_TITLE = "An expired audit waiver"
EXPIRED_SEVERITY = "medium"


@dataclass(frozen=True, slots=True)
class Waiver:
    """One entry of `audit.waive`."""

    rule: str
    scope: str  # "device" | "site" | "tag"
    name: str
    until: dt.date
    reason: str
    file: str
    line: int

    @property
    def where(self) -> str:
        """`inventory.yaml:LINE` of the waiver."""
        return f"{self.file}:{self.line}" if self.line else self.file

    def covers(self, finding: Finding, device: Device | None) -> bool:
        """True when this waiver names the finding's rule and device (dates aside)."""
        if not fnmatch.fnmatchcase(finding.rule, self.rule):
            return False
        if self.scope == "device":
            return finding.device == self.name
        if device is None:
            return False
        if self.scope == "site":
            return device.site == self.name
        return self.name in device.tags


def parse_waivers(inventory: Inventory) -> list[Waiver]:
    """The inventory's waivers, each naming a known rule and an existing device or site.

    Raises:
        InputError: `inventory.yaml:LINE: ...` for a waiver that names no known rule, or a
            device or site the inventory does not have.
    """
    entries = (inventory.audit or {}).get("waive") or []
    if not entries:
        return []
    known = [rule_id for rs in all_rulesets() for rule_id in rs.by_id]
    path = inventory.path
    out = []
    for i, entry in enumerate(entries):
        line = line_of(path, ("audit", "waive", i))
        where = f"{path.name}:{line}" if line else path.name
        rule = str(entry["rule"])
        if not any(fnmatch.fnmatchcase(k, rule) for k in known) and rule != EXPIRED_RULE:
            raise InputError(f"{where}: audit waiver: no audit rule matches '{rule}'")
        scope = next(k for k in ("device", "site", "tag") if k in entry)
        name = str(entry[scope])
        if scope == "device" and name not in inventory.devices:
            raise InputError(f"{where}: audit waiver: no device '{name}'")
        if scope == "site" and name not in inventory.sites:
            raise InputError(f"{where}: audit waiver: no site '{name}'")
        until = entry["until"]
        if not isinstance(until, dt.date):
            until = dt.date.fromisoformat(str(until))
        out.append(Waiver(rule, scope, name, until, str(entry["reason"]), path.name, line))
    return out


def apply_waivers(
    findings: Iterable[Finding],
    waivers: Sequence[Waiver],
    device: Device | None,
    today: dt.date,
) -> tuple[Finding, ...]:
    """`findings` with those a valid waiver covers marked as waived."""
    valid = [w for w in waivers if w.until >= today]
    out = []
    for f in findings:
        waiver = next((w for w in valid if w.covers(f, device)), None)
        if waiver is not None:
            f = replace(f, waived=Waived(waiver.until.isoformat(), waiver.reason, waiver.where))
        out.append(f)
    return tuple(out)


def expired_waivers(waivers: Sequence[Waiver], today: dt.date) -> tuple[Finding, ...]:
    """One finding per waiver past its date."""
    return tuple(
        Finding(
            rule=EXPIRED_RULE,
            severity=EXPIRED_SEVERITY,
            title=EXPIRED_TITLE,
            device=w.name if w.scope == "device" else f"{w.scope}:{w.name}",
            site=w.name if w.scope == "site" else "",
            path=w.file,
            line=w.line,
            evidence=f"rule {w.rule}, {w.scope} {w.name}, until {w.until.isoformat()}: {w.reason}",
            remediation=(
                "fix the findings and remove the waiver, or set a new 'until' with a reason",
            ),
            source=SOURCE_INVENTORY,
        )
        for w in waivers
        if w.until < today
    )
