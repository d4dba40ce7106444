"""`opskit audit` as cron and Nagios run it: formats, exit codes, SARIF against the schema,
--rev, device selection and errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.audit.helpers import HERE, back_up, golden, write_inventory
from tests.backup.helpers import opskit

HARDENED = golden("ios", "hardened.cfg")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """r-weak (everything wrong), r-good (hardened), one config per severity, a Junos
    config in curly-brace form, a server without rules, a device never backed up."""
    tmp = tmp_path_factory.mktemp("cli")
    inventory = write_inventory(
        tmp,
        {
            "r-weak": {"platform": "cisco_ios"},
            "r-good": {"platform": "cisco_ios_telnet"},
            "r-low": {"platform": "cisco_ios"},
            "r-medium": {"platform": "cisco_xe"},
            "r-high": {"platform": "cisco_ios"},
            "j-braces": {"platform": "juniper_junos"},
            "srv1": {"platform": "linux"},
            "r-new": {"platform": "cisco_ios"},
        },
        audit={
            "waive": [
                {
                    "rule": "OPS-IOS-MGMT-3",
                    "device": "r-weak",
                    "until": "2099-12-31",
                    "reason": "brake is on the firewall",
                },
            ]
        },
    )
    back_up(
        inventory,
        {
            "r-weak": golden("ios", "weak.cfg"),
            "r-good": HARDENED,
            "r-low": HARDENED.replace("logging host 192.0.2.20\n", ""),
            "r-medium": HARDENED.replace("ip ssh version 2\n", ""),
            "r-high": HARDENED.replace(" transport input none\n", " transport input all\n"),
            "j-braces": "system {\n    services {\n        telnet;\n    }\n}\n",
        },
    )
    return inventory


@pytest.mark.parametrize(
    ("device", "nagios", "word", "exit_text"),
    [
        ("r-good", 0, "OK", 0),
        ("r-low", 0, "OK", 1),
        ("r-medium", 1, "WARNING", 1),
        ("r-high", 2, "CRITICAL", 1),
    ],
)
def test_exit_codes(repo: Path, device: str, nagios: int, word: str, exit_text: int) -> None:
    proc = opskit(repo, "audit", device, "--format", "nagios")
    assert proc.returncode == nagios, proc.stdout + proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"AUDIT {word} - ")
    assert " | critical=" in first
    assert opskit(repo, "audit", device).returncode == exit_text


def test_text_report(repo: Path) -> None:
    proc = opskit(repo, "audit", "r-weak", "r-high")
    assert proc.returncode == 1
    out = proc.stdout
    assert "r-high  lab/r-high.cfg" in out
    assert "OPS-IOS-VTY-1" in out and "[CIS 1.2.2]" in out
    assert "lab/r-high.cfg:41: transport input all  (in line vty 5 15)" in out
    assert "fix: line vty 5 15" in out
    assert "waived:\n" in out and "brake is on the firewall" in out
    assert out.rstrip().splitlines()[-1].startswith("2 devices audited at ")


def test_json_report(repo: Path) -> None:
    proc = opskit(repo, "audit", "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["ok"] is False and len(data["commit"]) == 40
    status = {d["device"]: d["status"] for d in data["devices"]}
    # srv1 (linux) has no rules and is not selected by default
    assert status == {
        "r-weak": "audited",
        "r-good": "audited",
        "r-low": "audited",
        "r-medium": "audited",
        "r-high": "audited",
        "j-braces": "unrecognised format",
        "r-new": "no config",
    }
    assert data["summary"]["not_audited"] == 2
    f = next(f for f in data["findings"] if f["rule"] == "OPS-IOS-PW-2")
    assert f == {
        "rule": "OPS-IOS-PW-2",
        "severity": "high",
        "title": "An enable password (clear text or reversible type 7)",
        "cis": "1.4.1",
        "device": "r-weak",
        "site": "lab",
        "path": "lab/r-weak.cfg",
        "line": 10,
        "evidence": "enable password 7 <removed>",
        "block": "",
        "remediation": ["no enable password", "enable algorithm-type scrypt secret <new-secret>"],
        "source": "config",
        "waived": None,
    }
    assert [w["rule"] for w in data["waived"]] == ["OPS-IOS-MGMT-3"]


def test_sarif_validates_against_the_sarif_2_1_0_schema(repo: Path) -> None:
    proc = opskit(repo, "audit", "--format", "sarif")
    assert proc.returncode == 1
    log = json.loads(proc.stdout)
    schema = json.loads((HERE / "sarif-schema-2.1.0.json").read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    (run,) = log["runs"]
    results = run["results"]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(ids) == len(set(ids))
    assert all(ids[r["ruleIndex"]] == r["ruleId"] for r in results)
    suppressed = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == ["OPS-IOS-MGMT-3"]
    assert suppressed[0]["suppressions"][0]["kind"] == "external"
    located = next(r for r in results if r["ruleId"] == "OPS-IOS-PW-2")
    where = located["locations"][0]["physicalLocation"]
    assert where["artifactLocation"] == {"uri": "lab/r-weak.cfg", "uriBaseId": "CONFIGS"}
    assert where["region"]["startLine"] == 10
    assert run["originalUriBaseIds"]["CONFIGS"]["uri"].startswith("file:///")
    # the same finding keeps its fingerprint in the next run
    again = json.loads(opskit(repo, "audit", "--format", "sarif").stdout)
    assert (
        again["runs"][0]["results"][0]["partialFingerprints"] == results[0]["partialFingerprints"]
    )


def test_a_schema_violation_is_caught(repo: Path) -> None:
    """The schema test can fail: a result with a bad level is refused."""
    log = json.loads(opskit(repo, "audit", "r-high", "--format", "sarif").stdout)
    log["runs"][0]["results"][0]["level"] = "critical"
    schema = json.loads((HERE / "sarif-schema-2.1.0.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)


def test_rev_audits_a_past_version(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, {"r1": {"platform": "cisco_ios"}})
    back_up(inventory, {"r1": golden("ios", "weak.cfg")})
    back_up(inventory, {"r1": HARDENED})
    assert opskit(inventory, "audit").returncode == 0
    old = opskit(inventory, "audit", "--rev", "HEAD~1", "--json")
    assert old.returncode == 1
    rules = {f["rule"] for f in json.loads(old.stdout)["findings"]}
    assert "OPS-IOS-VTY-1" in rules
    # the value findings recorded when that version was fetched come back with it
    assert "OPS-IOS-SNMP-1" in rules
    bad = opskit(inventory, "audit", "--rev", "no-such-rev")
    assert bad.returncode == 2 and "no such revision 'no-such-rev'" in bad.stderr


def test_errors(tmp_path: Path, repo: Path) -> None:
    empty = write_inventory(tmp_path, {"r1": {"platform": "cisco_ios"}})
    proc = opskit(empty, "audit")
    assert proc.returncode == 2 and "run 'opskit backup run' first" in proc.stderr
    nagios = opskit(empty, "audit", "--format", "nagios")
    assert nagios.returncode == 3 and nagios.stdout.startswith("AUDIT UNKNOWN - ")
    as_json = opskit(empty, "audit", "--format", "json")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["ok"] is False
    named = opskit(repo, "audit", "srv1")
    assert named.returncode == 2 and "srv1: no audit rules" in named.stderr
    unknown = opskit(repo, "audit", "r-wek")
    assert unknown.returncode == 2 and "did you mean 'r-weak'" in unknown.stderr
    site = opskit(repo, "audit", "--site", "mars")
    assert site.returncode == 2 and "no site 'mars'" in site.stderr
    lab = json.loads(opskit(repo, "audit", "--site", "lab", "--json").stdout)
    assert len(lab["devices"]) == 7
    fmt = opskit(repo, "audit", "--format", "xml")
    assert fmt.returncode == 2 and "--format must be one of" in fmt.stderr


def test_list_rules(repo: Path) -> None:
    proc = opskit(repo, "audit", "--list-rules")
    assert proc.returncode == 0
    ids = [line.split()[0] for line in proc.stdout.splitlines()]
    assert ids == sorted(ids, key=ids.index) and len(ids) == len(
        (HERE / "rule-ids.txt").read_text().split()
    )
    assert "(secret value, checked by backup run)" in proc.stdout
