"""Each rule against a config that breaks it and a near miss that does not.

The cases are data (`tests/audit/cases/<family>.yaml`); every rule of every family must
have one. All cases are backed up in one `backup run` into a real git repository and
audited once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from opskit.audit import AuditReport, load_ruleset, run_audit
from opskit.audit.rules import all_rulesets, parse_ruleset
from opskit.errors import InputError
from opskit.inventory import load_inventory
from opskit.platforms import load_profile
from tests.audit.helpers import CASES, FAMILIES, HERE, back_up, platform_of, write_inventory


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for family in FAMILIES:
        data = yaml.safe_load((CASES / f"{family}.yaml").read_text())
        out += [(family, rule_id, case) for rule_id, case in data.items()]
    return out


CASE_LIST = _cases()


def _device(rule_id: str, kind: str) -> str:
    return f"{rule_id.lower()}-{kind}"


def _config(family: str, snippet: str) -> str:
    """A case's snippet as a device prints it (with the profile's end marker if it has one)."""
    end = load_profile(platform_of(family)).end_marker_text
    text = snippet if snippet.endswith("\n") else snippet + "\n"
    return text + f"{end}\n" if end and not text.rstrip().endswith(end) else text


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> AuditReport:
    tmp = tmp_path_factory.mktemp("cases")
    devices = {
        _device(rule_id, kind): {"platform": platform_of(family)}
        for family, rule_id, _ in CASE_LIST
        for kind in ("trigger", "near_miss")
    }
    inventory = write_inventory(tmp, devices)
    back_up(
        inventory,
        {
            _device(rule_id, kind): _config(family, case[kind])
            for family, rule_id, case in CASE_LIST
            for kind in ("trigger", "near_miss")
        },
    )
    inv = load_inventory(inventory)
    return run_audit(inv, list(inv.devices.values()))


def test_every_rule_has_a_case() -> None:
    rule_ids = {rule_id for rs in all_rulesets() for rule_id in rs.by_id}
    assert {rule_id for _, rule_id, _ in CASE_LIST} == rule_ids


def test_rule_ids_are_stable() -> None:
    """Ids are named by waivers, SARIF baselines and notifications: never rename or reuse
    one. A new rule appends its id to rule-ids.txt."""
    known = (HERE / "rule-ids.txt").read_text().split()
    current = sorted(rule_id for rs in all_rulesets() for rule_id in rs.by_id)
    assert sorted(known) == current


@pytest.mark.parametrize(("family", "rule_id", "case"), CASE_LIST, ids=[c[1] for c in CASE_LIST])
def test_trigger_breaks_the_rule(
    report: AuditReport, family: str, rule_id: str, case: dict[str, Any]
) -> None:
    device = _device(rule_id, "trigger")
    found = [f for f in report.findings if f.device == device and f.rule == rule_id]
    assert found, f"{rule_id} did not fire on {case['trigger']!r}"
    if "evidence" in case:
        assert case["evidence"] in [f.evidence for f in found]
    if "line" in case:
        assert case["line"] in [f.line for f in found]
    assert all(f.severity == load_ruleset(family).by_id[rule_id].severity for f in found)


@pytest.mark.parametrize(("family", "rule_id", "case"), CASE_LIST, ids=[c[1] for c in CASE_LIST])
def test_near_miss_does_not(
    report: AuditReport, family: str, rule_id: str, case: dict[str, Any]
) -> None:
    device = _device(rule_id, "near_miss")
    found = [f for f in report.findings if f.device == device and f.rule == rule_id]
    assert not found, f"{rule_id} fired on the near miss {case['near_miss']!r}"


def test_every_family_names_a_hier_config_platform_and_a_backup_profile() -> None:
    from hier_config import Platform

    for rs in all_rulesets():
        assert rs.hier_config.upper() in Platform.__members__, rs.family
        for platform in rs.platforms:
            assert load_profile(platform).name == platform


def _rule(**fields: Any) -> dict[str, Any]:
    rule = {"id": "OPS-X-Y-1", "severity": "low", "title": "t", "check": {"present": "^x"}}
    return {**rule, **fields}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": [_rule(id="bad")]}, "id must look like"),
        ({"rules": [_rule(severity="urgent")]}, "severity must be"),
        ({"rules": [_rule(check={"present": "^a\\s+b"})]}, "may not cross a line end"),
        ({"rules": [_rule(check={"present": "^a [^ ]+"})]}, "may not cross a line end"),
        ({"rules": [_rule(check={"present": "enable"})]}, "must start at a line start"),
        ({"rules": [_rule(check={"absent": "^x", "missing_section": True})]}, "needs a section"),
        ({"rules": [_rule(check={"presnt": "^x"})]}, "unknown key 'presnt'"),
        ({"values": [_rule(match="^a (?P<value>\\S+)", check=None)]}, "unknown key 'check'"),
        ({"rules": [_rule(), _rule()]}, "used twice"),
    ],
)
def test_a_bad_rules_file_is_refused_with_the_rule_named(data: Any, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_ruleset({"family": "x", **data}, "audit rules x.yaml")


def test_a_value_rule_needs_a_value_group() -> None:
    value = {"id": "OPS-X-Y-1", "severity": "low", "title": "t", "match": "^a (\\S+)", "is": ["x"]}
    with pytest.raises(InputError, match=re.escape("needs a group (?P<value>...)")):
        parse_ruleset({"family": "x", "values": [value]}, "audit rules x.yaml")


def test_rules_files_are_listed_in_the_package_data(tmp_path: Path) -> None:
    """The rule files ship with the package: pyproject's package-data covers **/*.yaml."""
    pyproject = (HERE.parents[1] / "pyproject.toml").read_text()
    assert '"**/*.yaml"' in pyproject
    assert len(FAMILIES) == len(all_rulesets()) == 7
