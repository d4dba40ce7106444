"""What an audit returns: findings, per-device results and the report (frozen dataclasses).

A finding names the rule, its severity, the device, and the evidence: the file and line
in the stored config and the line itself as stored (secrets `<removed>`). A finding whose
evidence is a missing line (no `enable secret`) has line 0 and empty evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low")
# Nagios status per severity: critical/high -> CRITICAL, medium -> WARNING, low -> OK.
NAGIOS_BY_SEVERITY = {"critical": 2, "high": 2, "medium": 1, "low": 0}

# Where a finding came from.
SOURCE_CONFIG = "config"  # a rule run on the stored (scrubbed) config
SOURCE_VALUES = "values"  # a secret-value rule run on the fetched text before scrubbing
SOURCE_INVENTORY = "inventory"  # the inventory itself (an expired waiver)


def severity_rank(severity: str) -> int:
    """0 for critical .. 3 for low (sorting key).

    >>> sorted(["low", "critical", "medium"], key=severity_rank)
    ['critical', 'medium', 'low']
    """
    return SEVERITIES.index(severity)


@dataclass(frozen=True, slots=True)
class Waived:
    """The waiver that covers a finding."""

    until: str  # ISO date
    reason: str
    where: str  # inventory file:line of the waiver


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule on one device (or in the inventory, for an expired waiver)."""

    rule: str
    severity: str
    title: str
    device: str
    site: str
    path: str  # the stored config (`<site>/<device>.cfg`) or the inventory file
    line: int  # 1-based; 0 when the evidence is a line that is missing
    evidence: str  # the offending line as stored, secrets <removed>; "" when missing
    remediation: tuple[str, ...] = ()
    cis: str | None = None
    source: str = SOURCE_CONFIG
    waived: Waived | None = None
    block: str = ""  # the block the evidence sits in (`line vty 5 15`), when a rule looked in one

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity across versions: device, rule and evidence (not the line number, which
        moves when lines above change)."""
        return (self.device, self.rule, self.evidence.strip())

    @property
    def where(self) -> str:
        """`path:line`, or just the path for a missing line."""
        return f"{self.path}:{self.line}" if self.line else self.path

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of a finding."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "title": self.title,
            "cis": self.cis,
            "device": self.device,
            "site": self.site,
            "path": self.path,
            "line": self.line,
            "evidence": self.evidence,
            "block": self.block,
            "remediation": list(self.remediation),
            "source": self.source,
            "waived": None
            if self.waived is None
            else {
                "until": self.waived.until,
                "reason": self.waived.reason,
                "where": self.waived.where,
            },
        }


@dataclass(frozen=True, slots=True)
class DeviceAudit:
    """One device's audit: `status` is `audited`, or why it was not (`no config`,
    `no rules`, `unrecognised format`)."""

    device: str
    site: str
    platform: str
    family: str | None
    path: str
    status: str
    findings: tuple[Finding, ...] = ()
    reason: str | None = None

    @property
    def audited(self) -> bool:
        """True when the device's stored config was checked."""
        return self.status == "audited"

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (findings listed at the report's top level)."""
        return {
            "device": self.device,
            "site": self.site,
            "platform": self.platform,
            "family": self.family,
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "findings": sum(1 for f in self.findings if f.waived is None),
            "waived": sum(1 for f in self.findings if f.waived is not None),
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    """An audit of a set of devices at one revision of the config repository."""

    repo: str
    commit: str | None
    devices: tuple[DeviceAudit, ...]
    inventory_findings: tuple[Finding, ...] = ()  # expired waivers

    @property
    def findings(self) -> list[Finding]:
        """Every finding not covered by a waiver, worst first."""
        return sort_findings(f for f in self._all() if f.waived is None)

    @property
    def waived(self) -> list[Finding]:
        """Findings covered by a valid waiver."""
        return sort_findings(f for f in self._all() if f.waived is not None)

    @property
    def not_audited(self) -> list[DeviceAudit]:
        """Devices whose config could not be checked (no stored config, unknown format)."""
        return [d for d in self.devices if not d.audited and d.status != "no rules"]

    def _all(self) -> Iterable[Finding]:
        for d in self.devices:
            yield from d.findings
        yield from self.inventory_findings

    def counts(self) -> dict[str, int]:
        """Open findings per severity."""
        out = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[f.severity] += 1
        return out

    def nagios_status(self) -> int:
        """0 OK, 1 WARNING, 2 CRITICAL: critical/high findings 2, medium 1; a device that
        could not be audited is at least WARNING."""
        status = max((NAGIOS_BY_SEVERITY[f.severity] for f in self.findings), default=0)
        return max(status, 1) if self.not_audited else status

    def exit_code(self) -> int:
        """0 when nothing is open and every device was audited, else 1."""
        return 1 if self.findings or self.not_audited else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of the report."""
        return {
            "ok": self.exit_code() == 0,
            "repo": self.repo,
            "commit": self.commit,
            "summary": {
                "devices": len(self.devices),
                "audited": sum(1 for d in self.devices if d.audited),
                "not_audited": len(self.not_audited),
                "findings": len(self.findings),
                "waived": len(self.waived),
                **self.counts(),
            },
            "devices": [d.to_dict() for d in self.devices],
            "findings": [f.to_dict() for f in self.findings],
            "waived": [f.to_dict() for f in self.waived],
        }


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first, then by device, file line and rule."""
    return sorted(findings, key=lambda f: (severity_rank(f.severity), f.device, f.line, f.rule))


@dataclass(frozen=True, slots=True)
class FindingsDiff:
    """What changed between two audits of the same devices."""

    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "new": [f.to_dict() for f in self.new],
            "fixed": [f.to_dict() for f in self.fixed],
        }


def diff_findings(old: Iterable[Finding], new: Iterable[Finding]) -> FindingsDiff:
    """New and fixed findings between two audits (for the `changes` notification).

    Findings are the same when device, rule and evidence line agree, so a finding whose
    line only moved is neither new nor fixed. Waived findings count as open in neither.

    >>> line = "enable password <removed>"
    >>> a = Finding("R-1", "high", "t", "r1", "lab", "lab/r1.cfg", 3, line)
    >>> b = Finding("R-2", "low", "t", "r1", "lab", "lab/r1.cfg", 0, "")
    >>> moved = Finding("R-1", "high", "t", "r1", "lab", "lab/r1.cfg", 9, line)
    >>> d = diff_findings([a, b], [moved])
    >>> [f.rule for f in d.new], [f.rule for f in d.fixed]
    ([], ['R-2'])
    """
    old_open = {f.key: f for f in old if f.waived is None}
    new_open = {f.key: f for f in new if f.waived is None}
    return FindingsDiff(
        new=tuple(sort_findings(f for k, f in new_open.items() if k not in old_open)),
        fixed=tuple(sort_findings(f for k, f in old_open.items() if k not in new_open)),
    )
