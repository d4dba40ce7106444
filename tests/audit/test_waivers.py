"""Waivers from the inventory: waived findings are listed as waived, an expired waiver is a
finding, and a waiver naming what does not exist is an error with its line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from opskit.audit import run_audit
from opskit.errors import InputError
from opskit.inventory import load_inventory
from tests.audit.helpers import back_up, golden, write_inventory
from tests.backup.helpers import opskit

TODAY = dt.date(2027, 3, 1)


def _line(path: Path, text: str, nth: int = 1) -> int:
    """The 1-based line of the `nth` line of `path` containing `text`."""
    hits = [i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln]
    return hits[nth - 1]


def _repo(tmp_path: Path, waivers: list[dict[str, Any]]) -> Path:
    inventory = write_inventory(
        tmp_path,
        {
            "r1": {"platform": "cisco_ios", "tags": ["branch"]},
            "r2": {"platform": "cisco_ios", "site": "hq"},
        },
        audit={"waive": waivers},
        sites=("lab", "hq"),
    )
    weak = golden("ios", "weak.cfg")
    back_up(inventory, {"r1": weak, "r2": weak})
    return inventory


def test_waivers_by_device_site_tag_and_pattern(tmp_path: Path) -> None:
    inventory = _repo(
        tmp_path,
        [
            {
                "rule": "OPS-IOS-LOG-1",
                "device": "r1",
                "until": "2027-03-01",
                "reason": "syslog in Q2",
            },
            {
                "rule": "OPS-IOS-SNMP-*",
                "tag": "branch",
                "until": "2027-12-31",
                "reason": "NMS move",
            },
            {"rule": "OPS-IOS-NTP-1", "site": "hq", "until": "2028-01-01", "reason": "GPS clock"},
        ],
    )
    inv = load_inventory(inventory)
    report = run_audit(inv, list(inv.devices.values()), today=TODAY)
    waived = {(f.device, f.rule) for f in report.waived}
    assert waived == {
        ("r1", "OPS-IOS-LOG-1"),
        ("r1", "OPS-IOS-SNMP-1"),
        ("r1", "OPS-IOS-SNMP-2"),
        ("r1", "OPS-IOS-SNMP-3"),
        ("r1", "OPS-IOS-SNMP-4"),
        ("r2", "OPS-IOS-NTP-1"),
    }
    open_rules = {(f.device, f.rule) for f in report.findings}
    assert ("r2", "OPS-IOS-LOG-1") in open_rules and ("r2", "OPS-IOS-SNMP-2") in open_rules
    assert not waived & open_rules
    w = next(f for f in report.waived if f.rule == "OPS-IOS-LOG-1")
    assert w.waived is not None and w.waived.reason == "syslog in Q2"
    assert w.waived.where == f"inventory.yaml:{_line(inventory, '- rule: OPS-IOS-LOG-1')}"
    assert report.inventory_findings == ()


def test_an_expired_waiver_covers_nothing_and_is_a_finding(tmp_path: Path) -> None:
    inventory = _repo(
        tmp_path,
        [{"rule": "OPS-IOS-LOG-1", "device": "r1", "until": "2021-02-28", "reason": "old"}],
    )
    proc = opskit(inventory, "audit", "r1", "--format", "json")  # today: past 2021
    data = json.loads(proc.stdout)
    rules = [(f["rule"], f["device"]) for f in data["findings"]]
    assert ("OPS-IOS-LOG-1", "r1") in rules  # no longer waived (the date is in the past)
    expired = [f for f in data["findings"] if f["rule"] == "OPS-AUDIT-WAIVER-1"]
    assert len(expired) == 1
    assert expired[0]["path"] == "inventory.yaml"
    assert expired[0]["line"] == _line(inventory, "- rule: OPS-IOS-LOG-1")
    assert "until 2021-02-28" in expired[0]["evidence"]
    assert data["waived"] == []


def test_an_expired_waiver_for_a_device_not_audited_is_not_reported(tmp_path: Path) -> None:
    inventory = _repo(
        tmp_path,
        [{"rule": "OPS-IOS-LOG-1", "device": "r2", "until": "2020-01-01", "reason": "old"}],
    )
    inv = load_inventory(inventory)
    assert run_audit(inv, [inv.devices["r1"]], today=TODAY).inventory_findings == ()
    assert len(run_audit(inv, [inv.devices["r2"]], today=TODAY).inventory_findings) == 1


@pytest.mark.parametrize(
    ("waiver", "message"),
    [
        ({"rule": "OPS-IOS-NOPE-1", "device": "r1"}, "no audit rule matches 'OPS-IOS-NOPE-1'"),
        ({"rule": "OPS-IOS-LOG-1", "device": "r9"}, "no device 'r9'"),
        ({"rule": "OPS-IOS-LOG-1", "site": "mars"}, "no site 'mars'"),
    ],
)
def test_a_waiver_naming_what_does_not_exist_is_refused(
    tmp_path: Path, waiver: dict[str, str], message: str
) -> None:
    inventory = _repo(tmp_path, [{**waiver, "until": "2027-12-31", "reason": "r"}])
    inv = load_inventory(inventory)
    where = f"inventory.yaml:{_line(inventory, '- rule:')}"
    with pytest.raises(InputError, match=f"{where}: audit waiver: {message}"):
        run_audit(inv, list(inv.devices.values()), today=TODAY)
    proc = opskit(inventory, "audit")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"opskit: error: {where}: audit waiver:")


def test_inventory_validate_names_a_malformed_waiver_with_its_line(tmp_path: Path) -> None:
    inventory = write_inventory(
        tmp_path,
        {"r1": {"platform": "cisco_ios"}},
        audit={
            "waive": [
                {
                    "rule": "OPS-IOS-LOG-1",
                    "device": "r1",
                    "site": "lab",
                    "until": "soon",
                    "reason": "",
                    "owner": "me",
                },
            ],
            "ignore": [],
        },
    )
    proc = opskit(inventory, "inventory", "validate")
    assert proc.returncode == 2
    out = proc.stdout + proc.stderr
    for key, message in (
        ("ignore:", "audit: unknown key 'ignore'"),
        ("- rule:", "audit waiver: give exactly one of device, site, tag"),
        ("until:", "audit waiver: until must be a date (2027-03-31)"),
        ("reason:", "audit waiver: reason must be a non-empty text"),
        ("owner:", "audit waiver: unknown key 'owner'"),
    ):
        assert f"inventory.yaml:{_line(inventory, key)}: {message}" in out, out
