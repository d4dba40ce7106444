"""An `AuditReport` as text, SARIF 2.1.0 or a Nagios plugin line (JSON is `to_dict`).

Pure functions: they return strings or dicts, the command prints them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from opskit.audit.model import SEVERITIES, AuditReport, Finding
from opskit.audit.rules import all_rulesets

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
# SARIF levels, and GitHub code scanning's 0-10 security-severity, per opskit severity.
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
NAGIOS_WORD = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def _summary(report: AuditReport) -> str:
    counts = report.counts()
    parts = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    n = len(report.findings)
    text = f"{n} finding{'' if n == 1 else 's'}" + (f" ({parts})" if parts else "")
    if report.waived:
        text += f", {len(report.waived)} waived"
    return text


def _commit(report: AuditReport) -> str:
    return report.commit[:10] if report.commit else "-"


def render_text(report: AuditReport) -> str:
    """The human report: findings per device (worst first), waived, not audited, a summary."""
    out: list[str] = []
    by_device: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_device.setdefault(f.device, []).append(f)
    for device, findings in by_device.items():
        out.append(f"{device}  {findings[0].path}")
        for f in findings:
            cis = f"  [CIS {f.cis}]" if f.cis else ""
            out.append(f"  {f.severity:<8} {f.rule:<18} {f.title}{cis}")
            evidence = f.evidence.strip() if f.evidence else "(not configured)"
            if f.block and f.block != evidence:
                evidence += f"  (in {f.block})"
            out.append(f"  {'':<8} {f.where}: {evidence}")
            for i, fix in enumerate(f.remediation):
                out.append(f"  {'':<8} {'fix:' if i == 0 else '':<4} {fix}")
        out.append("")
    if report.waived:
        out.append("waived:")
        for f in report.waived:
            assert f.waived is not None
            out.append(
                f"  {f.severity:<8} {f.rule:<18} {f.device}  {f.where}  until {f.waived.until}: "
                f"{f.waived.reason} ({f.waived.where})"
            )
        out.append("")
    if report.not_audited:
        out.append("not audited:")
        for d in report.not_audited:
            out.append(f"  {d.device}  {d.status}: {d.reason}")
        out.append("")
    audited = sum(1 for d in report.devices if d.audited)
    out.append(
        f"{audited} device{'' if audited == 1 else 's'} audited at {_commit(report)}: "
        f"{_summary(report)}"
    )
    return "\n".join(out) + "\n"


def render_nagios(report: AuditReport) -> str:
    """A Nagios plugin output: status line with perfdata, then one line per finding."""
    status = report.nagios_status()
    counts = report.counts()
    audited = sum(1 for d in report.devices if d.audited)
    perf = " ".join(f"{s}={counts[s]}" for s in SEVERITIES)
    perf += f" waived={len(report.waived)} not_audited={len(report.not_audited)}"
    head = (
        f"AUDIT {NAGIOS_WORD[status]} - {audited} device{'' if audited == 1 else 's'}: "
        f"{_summary(report)}"
    )
    if report.not_audited:
        head += f", {len(report.not_audited)} not audited"
    lines = [f"{head} | {perf}"]
    for f in report.findings:
        lines.append(f"{f.severity.upper()} {f.rule} {f.device} {f.where} {f.evidence.strip()}")
    for d in report.not_audited:
        lines.append(f"NOT AUDITED {d.device}: {d.reason}")
    return "\n".join(line.replace("|", "/") if i else line for i, line in enumerate(lines)) + "\n"


def _fingerprint(f: Finding) -> str:
    return hashlib.sha256("\0".join(f.key).encode()).hexdigest()[:32]


def _rule_descriptor(f: Finding) -> dict[str, Any]:
    remediation = "\n".join(f.remediation)
    descriptor: dict[str, Any] = {
        "id": f.rule,
        "shortDescription": {"text": f.title},
        "defaultConfiguration": {"level": SARIF_LEVEL[f.severity]},
        "properties": {
            "severity": f.severity,
            "security-severity": SECURITY_SEVERITY[f.severity],
            "tags": ["security", "configuration"],
        },
    }
    if remediation:
        descriptor["help"] = {"text": f"Remediation:\n{remediation}"}
    if f.cis:
        descriptor["properties"]["cis"] = f.cis
    return descriptor


def render_sarif(report: AuditReport, inventory_dir: Path, version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run, one result per finding (waived ones with an accepted
    external suppression), locations relative to the config repository (`CONFIGS`) or
    the inventory's directory (`INVENTORY`, for an expired waiver)."""
    findings = [*report.findings, *report.waived]
    rules: dict[str, dict[str, Any]] = {}
    for f in findings:
        rules.setdefault(f.rule, _rule_descriptor(f))
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    results = []
    for f in findings:
        base = "INVENTORY" if f.source == "inventory" else "CONFIGS"
        location: dict[str, Any] = {"artifactLocation": {"uri": f.path, "uriBaseId": base}}
        if f.line:
            location["region"] = {"startLine": f.line, "snippet": {"text": f.evidence}}
        evidence = f.evidence.strip() or "not configured"
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.device}: {f.title}: {evidence}"},
            "locations": [{"physicalLocation": location}],
            "partialFingerprints": {"opskitFinding/v1": _fingerprint(f)},
            "properties": {
                "device": f.device,
                "site": f.site,
                "severity": f.severity,
                "source": f.source,
                "remediation": list(f.remediation),
            },
        }
        if f.block:
            result["properties"]["block"] = f.block
        if f.waived is not None:
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": f"{f.waived.reason} (until {f.waived.until}, "
                    f"{f.waived.where})",
                }
            ]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "opskit audit",
                "version": version,
                "rules": list(rules.values()),
            }
        },
        "originalUriBaseIds": {
            "CONFIGS": {"uri": _dir_uri(Path(report.repo))},
            "INVENTORY": {"uri": _dir_uri(inventory_dir)},
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if report.commit:
        run["versionControlProvenance"] = [
            {
                "repositoryUri": Path(report.repo).absolute().as_uri(),
                "revisionId": report.commit,
                "mappedTo": {"uriBaseId": "CONFIGS"},
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _dir_uri(path: Path) -> str:
    uri = path.absolute().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def rules_catalogue() -> list[dict[str, Any]]:
    """Every rule of every family (for `opskit audit --list-rules`)."""
    out = []
    for rs in all_rulesets():
        for rule in rs.by_id.values():
            out.append(
                {
                    "id": rule.id,
                    "family": rs.family,
                    "severity": rule.severity,
                    "cis": rule.cis,
                    "title": rule.title,
                    "needs_value": rule in rs.values,
                    "remediation": list(rule.remediation),
                }
            )
    return out
