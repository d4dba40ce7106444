"""`opskit audit`: read the stored configs from git and run each family's rules on them.

Calls go one way: read (`opskit.backup`'s git store, one `git cat-file --batch` for all
devices) -> `evaluate_config` / `evaluate_values` (pure) -> merge the secret-value
findings recorded by `backup run` -> waivers -> an `AuditReport`. Nothing is printed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence

from opskit.audit.evaluate import Hit, config_format_ok, evaluate_config
from opskit.audit.model import (
    SOURCE_CONFIG,
    SOURCE_VALUES,
    AuditReport,
    DeviceAudit,
    Finding,
    FindingsDiff,
    diff_findings,
)
from opskit.audit.rules import RuleSet, family_for, load_ruleset
from opskit.audit.store import blob_id, load_value_findings
from opskit.audit.values import ValueFinding, evaluate_values
from opskit.audit.waivers import Waiver, apply_waivers, expired_waivers, parse_waivers
from opskit.errors import InputError
from opskit.inventory import Device, Inventory

log = logging.getLogger(__name__)

Scrub = Callable[[str], str]


def _scrubber(platform: str) -> Scrub:
    """The backup profile's scrubber (text in, text out), memoised (many devices share
    lines)."""
    from opskit.platforms import load_profile
    from opskit.platforms.clean import scrub

    profile = load_profile(platform)
    memo: dict[str, str] = {}

    def scrub_text(text: str) -> str:
        out = memo.get(text)
        if out is None:
            out = memo[text] = scrub(text, profile)
        return out

    return scrub_text


def _locate(lines: Sequence[str], found: ValueFinding) -> int:
    """The 1-based line holding a recorded value finding's evidence (0 if none does)."""
    seen = 0
    for i, line in enumerate(lines):
        if line == found.evidence:
            seen += 1
            if seen == found.occurrence:
                return i + 1
    return 0


def audit_text(
    ruleset: RuleSet,
    device: Device,
    path: str,
    text: str,
    scrub: Scrub,
    recorded: Sequence[ValueFinding] = (),
) -> tuple[Finding, ...]:
    """The findings of one stored config.

    Runs the rules on `text`, the secret-value rules on it too (they find something only in
    a config stored with its secrets), and adds the value findings `backup run` recorded
    for this text. Every evidence line goes through `scrub` before it is returned, so a
    `keep_secrets` device's secrets stay out of the report.
    """
    lines = text.split("\n")
    out: list[Finding] = []
    seen: set[tuple[str, int]] = set()

    def add(rule_id: str, line: int, evidence: str, section: str, source: str) -> None:
        if (rule_id, line) in seen and line:
            return
        seen.add((rule_id, line))
        rule = ruleset.by_id[rule_id]
        block = scrub(section).split("\n")[0] if section else ""
        out.append(
            Finding(
                rule=rule_id,
                severity=rule.severity,
                title=rule.title,
                device=device.name,
                site=device.site,
                path=path,
                line=line,
                evidence=scrub(evidence).split("\n")[0] if evidence else "",
                remediation=tuple(r.replace("{section}", block) for r in rule.remediation),
                cis=rule.cis,
                source=source,
                block=block,
            )
        )

    hits: list[Hit] = evaluate_config(ruleset, text)
    for hit in hits:
        add(hit.rule.id, hit.line, hit.text, hit.section, SOURCE_CONFIG)
    for found in (*evaluate_values(ruleset, text, scrub), *recorded):
        if found.rule in ruleset.by_id:
            add(
                found.rule,
                _locate(lines, found) if found.evidence else 0,
                found.evidence,
                "",
                SOURCE_VALUES,
            )
    return tuple(out)


def _device_audit(
    device: Device,
    path: str,
    text: str | None,
    values: Mapping[tuple[str, str], tuple[ValueFinding, ...]],
    scrubbers: dict[str, Scrub],
) -> DeviceAudit:
    family = family_for(device.platform)
    base = DeviceAudit(device.name, device.site, device.platform, family, path, "audited")
    if family is None:
        return _replace(base, "no rules", f"no audit rules for platform '{device.platform}'")
    if text is None:
        return _replace(base, "no config", f"no stored config {path} at this revision")
    ruleset = load_ruleset(family)
    if not config_format_ok(ruleset, text):
        return _replace(
            base,
            "unrecognised format",
            f"{path} is not in the form the {family} rules read ({ruleset.description})",
        )
    scrub = scrubbers.get(device.platform)
    if scrub is None:
        scrub = scrubbers[device.platform] = _scrubber(device.platform)
    recorded = values.get((device.name, blob_id(text)), ())
    findings = audit_text(ruleset, device, path, text, scrub, recorded)
    return DeviceAudit(device.name, device.site, device.platform, family, path, "audited", findings)


def _replace(base: DeviceAudit, status: str, reason: str) -> DeviceAudit:
    return DeviceAudit(
        base.device, base.site, base.platform, base.family, base.path, status, reason=reason
    )


def run_audit(
    inventory: Inventory,
    devices: Sequence[Device],
    *,
    rev: str | None = None,
    today: dt.date | None = None,
) -> AuditReport:
    """Audit the stored configs of `devices` at `rev` (default: the latest backup).

    Devices whose platform has no rules are listed as `no rules`; a device without a
    stored config at `rev` as `no config` (and the report is not OK).

    Raises:
        InputError: no backup repository yet, no such revision, or a waiver naming an
            unknown rule, device or site (with its inventory line).
    """
    from opskit.store import device_path, open_store
    from opskit.store.git import GitError

    store = open_store(inventory)
    if store.head() is None:
        raise InputError(f"no backups in {store.root} yet: run 'opskit backup run' first")
    try:
        commit = store.resolve(rev or "HEAD")
    except GitError as exc:
        raise InputError(str(exc)) from None
    today = today or dt.date.today()
    waivers = parse_waivers(inventory)
    paths = [device_path(d) for d in devices]
    texts = store.read_many(paths, rev=commit)
    values = load_value_findings(inventory.settings.state_dir)
    scrubbers: dict[str, Scrub] = {}
    audits = []
    for device, path in zip(devices, paths, strict=True):
        audit = _device_audit(device, path, texts.get(path), values, scrubbers)
        if waivers and audit.findings:
            audit = _with_findings(audit, apply_waivers(audit.findings, waivers, device, today))
        audits.append(audit)
    return AuditReport(
        repo=str(store.root),
        commit=commit,
        devices=tuple(audits),
        inventory_findings=expired_waivers(_concerning(waivers, devices), today),
    )


def _with_findings(audit: DeviceAudit, findings: tuple[Finding, ...]) -> DeviceAudit:
    return DeviceAudit(
        audit.device,
        audit.site,
        audit.platform,
        audit.family,
        audit.path,
        audit.status,
        findings,
        audit.reason,
    )


def _concerning(waivers: Sequence[Waiver], devices: Sequence[Device]) -> list[Waiver]:
    """The waivers that could cover one of `devices` (an expired waiver for a device not
    audited in this run is not this run's finding)."""
    names = {d.name for d in devices}
    sites = {d.site for d in devices}
    tags = {t for d in devices for t in d.tags}
    wanted = {"device": names, "site": sites, "tag": tags}
    return [w for w in waivers if w.name in wanted[w.scope]]


def audit_changes(
    inventory: Inventory, devices: Sequence[Device], commit: str, *, today: dt.date | None = None
) -> FindingsDiff:
    """New and fixed findings of `devices` between `commit`'s parent and `commit`.

    For the `changes` notification after a backup run: pass the devices the run changed
    and its commit. A first commit (no parent) makes every finding new.
    """
    from opskit.store import open_store
    from opskit.store.git import GitError

    new = run_audit(inventory, devices, rev=commit, today=today)
    try:
        parent: str | None = open_store(inventory).resolve(f"{commit}^")
    except GitError:
        parent = None
    old = run_audit(inventory, devices, rev=parent, today=today) if parent else None
    return diff_findings(old.findings if old else (), new.findings)
