"""Golden configs per OS family: one with every weakness, one hardened (zero findings).

The configs go through `backup run` into a real git repository (scrubbed on the way), and
the audit reads them back from git. `weak.findings` lists the expected rule and line of
each finding; regenerate with OPSKIT_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opskit.audit import AuditReport, load_ruleset, run_audit
from opskit.inventory import load_inventory
from tests.audit.helpers import (
    FAMILIES,
    GOLDEN,
    back_up,
    golden,
    planted_secrets,
    platform_of,
    write_inventory,
)
from tests.backup.helpers import opskit


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every family's weak and hardened config, backed up in one run."""
    tmp = tmp_path_factory.mktemp("golden")
    devices = {
        f"{family}-{kind}": {"platform": platform_of(family)}
        for family in FAMILIES
        for kind in ("weak", "hardened")
    }
    inventory = write_inventory(tmp, devices)
    back_up(
        inventory,
        {
            f"{f}-{kind}": golden(f, f"{kind}.cfg")
            for f in FAMILIES
            for kind in ("weak", "hardened")
        },
    )
    return inventory


@pytest.fixture(scope="module")
def report(repo: Path) -> AuditReport:
    inv = load_inventory(repo)
    return run_audit(inv, list(inv.devices.values()))


def _findings(report: AuditReport, device: str) -> list[tuple[str, int]]:
    return sorted(
        ((f.rule, f.line) for f in report.findings if f.device == device),
        key=lambda x: (x[1], x[0]),
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_weak_config_breaks_every_rule_where_the_golden_file_says(
    report: AuditReport, family: str
) -> None:
    found = _findings(report, f"{family}-weak")
    expected_file = GOLDEN / family / "weak.findings"
    text = "".join(f"{rule} {line}\n" for rule, line in found)
    if os.environ.get("OPSKIT_UPDATE_GOLDEN"):
        expected_file.write_text(text)
    assert text == expected_file.read_text()
    ruleset = load_ruleset(family)
    assert {rule for rule, _ in found} == set(ruleset.by_id), "the weak config misses a rule"


@pytest.mark.parametrize("family", FAMILIES)
def test_hardened_config_has_no_finding(report: AuditReport, family: str) -> None:
    assert _findings(report, f"{family}-hardened") == []
    audited = next(d for d in report.devices if d.device == f"{family}-hardened")
    assert audited.status == "audited"


def test_evidence_is_the_stored_line(repo: Path, report: AuditReport) -> None:
    """Each finding's evidence is the line at file:line in the stored (scrubbed) config."""
    configs = repo.parent / "configs"
    for f in report.findings:
        if f.line:
            stored = (configs / f.path).read_text().split("\n")
            assert stored[f.line - 1] == f.evidence, f
        else:
            assert f.evidence == ""
    # the secret-value findings come from `backup run` and name a scrubbed line
    values = [f for f in report.findings if f.source == "values"]
    assert {f.rule for f in values} >= {"OPS-IOS-SNMP-1", "OPS-IOS-PW-8", "OPS-IOS-PW-9"}
    assert all("<removed>" in f.evidence for f in values)


def test_no_planted_secret_in_any_output(repo: Path) -> None:
    secrets = planted_secrets()
    outputs = []
    for fmt in ("text", "json", "sarif", "nagios"):
        proc = opskit(repo, "audit", "--format", fmt)
        assert proc.returncode in (1, 2), proc.stderr
        outputs += [proc.stdout, proc.stderr]
        if fmt in ("json", "sarif"):
            json.loads(proc.stdout)
    state = repo.parent / "state"
    outputs += [p.read_text() for p in state.iterdir() if p.is_file()]
    outputs += [p.read_text() for p in (repo.parent / "configs").rglob("*.cfg")]
    for secret in secrets:
        for out in outputs:
            assert secret not in out
    # and the outputs do name the findings
    assert "OPS-IOS-VTY-1" in outputs[0]
