"""The rules that need a secret's value, run by `backup run` before scrubbing: over SSH
against a real fake switch, for a router's TFTP push (store_fetched), and for a device
that keeps its secrets in git."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from opskit.audit import VALUE_INSPECTOR, audit_changes, run_audit
from opskit.backup import store_fetched
from opskit.inventory import load_inventory
from opskit.lab.fakeswitch import FakeSwitches
from tests.audit.helpers import back_up, golden, write_inventory
from tests.backup.helpers import opskit
from tests.backup.helpers import write_inventory as write_ssh_inventory

# The switch's config: a default community, a user whose password is its name, and a
# type 7 line password that decodes to "cisco". The rest are fake secrets to grep for.
SWITCH_CONFIG = """\
!
version 15.2
service password-encryption
hostname {hostname}
!
enable secret 9 $9$FakeHookSalt$FakeHookEnableScryptHash
username netops privilege 15 password 0 netops
username audit privilege 15 password 0 FakeHookAuditPassword
aaa new-model
ip ssh version 2
snmp-server community public RO 10
snmp-server community FakeHookRwCommunity RW 10
!
line vty 0 4
 password 7 030752180500
 transport input ssh
!
end
"""
SECRETS = (
    "FakeHookEnableScryptHash",
    "FakeHookAuditPassword",
    "FakeHookRwCommunity",
    "030752180500",
)


def test_backup_over_ssh_records_value_findings_the_audit_reports(
    tmp_path: Path, fake_switches: Callable[..., FakeSwitches]
) -> None:
    template = tmp_path / "running-config.txt"
    template.write_text(SWITCH_CONFIG)
    sw = fake_switches(["sw1"], running_config=template, telnet=False)["sw1"]
    inventory = write_ssh_inventory(
        tmp_path, {"sw1": {"port": sw.ssh_port, "platform": "cisco_ios", "credentials": "fake"}}
    )
    backup = opskit(inventory, "backup", "run", "--json")
    assert backup.returncode == 0, backup.stderr
    audit = opskit(inventory, "audit", "--format", "json")
    assert audit.returncode == 1, audit.stderr
    findings = json.loads(audit.stdout)["findings"]
    values = {(f["rule"], f["line"], f["evidence"]) for f in findings if f["source"] == "values"}
    assert values == {
        ("OPS-IOS-SNMP-1", 11, "snmp-server community <removed> RO 10"),
        ("OPS-IOS-PW-8", 7, "username netops privilege 15 password 0 <removed>"),
        ("OPS-IOS-PW-9", 15, " password 7 <removed>"),
    }
    outputs = [backup.stdout, backup.stderr, audit.stdout, audit.stderr]
    outputs += [opskit(inventory, "audit", "--format", f).stdout for f in ("text", "sarif")]
    outputs += [p.read_text() for p in (tmp_path / "state").iterdir()]
    for secret in SECRETS:
        assert not any(secret in out for out in outputs), secret


def test_a_tftp_push_gets_the_same_check(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, {"r1": {"platform": "cisco_ios"}})
    inv = load_inventory(inventory)
    pushed = golden("ios", "hardened.cfg").replace(
        "snmp-server community FakeIosGoodCommunity RO SNMP",
        "snmp-server community private RO SNMP",
    )
    assert store_fetched(inv, inv.devices["r1"], pushed, inspector=VALUE_INSPECTOR).ok
    report = run_audit(inv, [inv.devices["r1"]])
    assert [(f.rule, f.source, f.evidence) for f in report.findings] == [
        ("OPS-IOS-SNMP-1", "values", "snmp-server community <removed> RO SNMP")
    ]
    # The community is changed on the router: the stored (scrubbed) text is the same, so
    # nothing is committed, but the new check replaces the old one.
    result = store_fetched(
        inv, inv.devices["r1"], golden("ios", "hardened.cfg"), inspector=VALUE_INSPECTOR
    )
    assert result.ok and not result.changed
    assert run_audit(inv, [inv.devices["r1"]]).findings == []


def test_a_device_that_keeps_its_secrets_is_checked_by_the_audit_and_printed_scrubbed(
    tmp_path: Path,
) -> None:
    inventory = write_inventory(
        tmp_path,
        {"r1": {"platform": "cisco_ios", "backup": {"method": "memory", "keep_secrets": True}}},
    )
    back_up(inventory, {"r1": golden("ios", "weak.cfg")})
    stored = (tmp_path / "configs" / "lab" / "r1.cfg").read_text()
    assert "FakeIosRwCommunity" in stored  # kept, as asked
    (tmp_path / "state" / "audit-values.json").unlink()  # the audit finds them itself
    outputs = [
        opskit(inventory, "audit", "--format", f) for f in ("text", "json", "sarif", "nagios")
    ]
    assert all(p.returncode in (1, 2) for p in outputs)
    for secret in (
        "FakeIosRwCommunity",
        "0822455D0A16",
        "08074D450C350C19173B1B53",
        "FakeIosMd5HashWeak001",
    ):
        assert not any(secret in p.stdout + p.stderr for p in outputs), secret
    data = json.loads(outputs[1].stdout)
    rules = {f["rule"] for f in data["findings"] if f["source"] == "values"}
    assert rules == {"OPS-IOS-SNMP-1", "OPS-IOS-PW-8", "OPS-IOS-PW-9"}
    snmp2 = next(f for f in data["findings"] if f["rule"] == "OPS-IOS-SNMP-2")
    assert snmp2["evidence"] == "snmp-server community <removed> RW"


def test_audit_changes_after_a_backup_run(tmp_path: Path) -> None:
    """New and fixed findings between a run's commit and the one before (for the `changes`
    notification); a finding whose line only moved is neither."""
    inventory = write_inventory(tmp_path, {"r1": {"platform": "cisco_ios"}})
    good = golden("ios", "hardened.cfg")
    v1 = good.replace("no ip http server\n", "ip http server\n").replace(
        "snmp-server community FakeIosGoodCommunity RO SNMP", "snmp-server community FakeX RO"
    )
    v2 = (
        v1.replace("ip http server\n", "no ip http server\n")
        .replace("logging host 192.0.2.20\n", "")
        .replace("version 15.2\n", "version 15.2\n!\n!\n")
    )
    first = back_up(inventory, {"r1": v1})
    second = back_up(inventory, {"r1": v2})
    inv = load_inventory(inventory)
    assert first.commit and second.commit
    diff = audit_changes(inv, [inv.devices["r1"]], second.commit)
    assert [f.rule for f in diff.new] == ["OPS-IOS-LOG-1"]
    assert [f.rule for f in diff.fixed] == ["OPS-IOS-MGMT-1"]
    everything = audit_changes(inv, [inv.devices["r1"]], first.commit)
    assert {f.rule for f in everything.new} == {"OPS-IOS-MGMT-1", "OPS-IOS-SNMP-3"}
    assert everything.fixed == ()
