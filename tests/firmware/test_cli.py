"""`opskit firmware ...` as a real process: output, --json, exit codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from opskit.firmware.state import Discovery, save_discoveries
from tests.conftest import run_opskit

ROOT = Path(__file__).resolve().parents[2]

CATALOG = """\
platforms:
  cisco_ios:
    releases:
      - {version: "15.2(7)E8"}
      - {version: "15.2(7)E9", status: vulnerable, advisories: [cisco-sa-demo]}
      - {version: "15.2(7)E10", status: recommended}
  linux:
    releases: [{version: "6.1.119", status: recommended}]
policy:
  platforms:
    cisco_ios: {minimum: "15.2(7)E8"}
"""


def shop(tmp_path: Path, versions: dict[str, str]) -> Path:
    (tmp_path / "firmware.yaml").write_text(CATALOG)
    inv = tmp_path / "inventory.yaml"
    devices = "".join(
        f"  {name}:\n    site: hq\n    host: 127.0.0.1\n"
        f"    platform: {'linux' if name.startswith('srv') else 'cisco_ios'}\n"
        for name in versions
    )
    inv.write_text(f"settings: {{state_dir: st}}\nsites:\n  hq: {{}}\ndevices:\n{devices}")
    at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    save_discoveries(
        tmp_path / "st",
        [Discovery(n, "x", v, "snmp", at) for n, v in versions.items() if v],
    )
    return inv


def test_versions_prints_vendor_order() -> None:
    r = run_opskit("firmware", "versions", "mikrotik_routeros", "7.15", "7.15rc2", "6.49.10",
                   "7.15beta4", "7.14.1")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == [
        "6.49.10", "7.14.1", "7.15beta4", "7.15rc2", "7.15"
    ]  # fmt: skip
    r = run_opskit("firmware", "versions", "juniper_junos", "21.4R3-S5", "nonsense", "21.4R3",
                   "--json")  # fmt: skip
    assert r.returncode == 3  # an unknown version is never silently ordered
    data = json.loads(r.stdout)
    assert [v["version"] for v in data["ordered"]] == ["21.4R3", "21.4R3-S5"]
    assert data["unknown"][0]["version"] == "nonsense"


def test_check_offline_exit_codes(tmp_path: Path) -> None:
    cases = [
        ({"sw1": "15.2(7)E10", "srv1": "6.1.119"}, 0, "OK"),
        ({"sw1": "15.2(7)E8"}, 1, "WARNING"),
        ({"sw1": "15.2(7)E9"}, 2, "CRITICAL"),
        ({"sw1": "15.2(4)E10"}, 2, "CRITICAL"),
        ({"sw1": ""}, 3, "UNKNOWN"),
    ]
    for i, (versions, code, nagios) in enumerate(cases):
        d = tmp_path / str(i)
        d.mkdir()
        inv = shop(d, versions)
        r = run_opskit("-i", str(inv), "firmware", "check", "--offline", "--json")
        assert r.returncode == code, (versions, r.stdout, r.stderr)
        data = json.loads(r.stdout)
        assert data["status"] == nagios and data["exit_code"] == code
        r = run_opskit("-i", str(inv), "firmware", "check", "--offline", "--format", "nagios")
        assert r.returncode == code
        assert r.stdout.startswith(f"FIRMWARE {nagios} - ")


def test_check_text_and_json_shape(tmp_path: Path) -> None:
    inv = shop(tmp_path, {"sw1": "15.2(7)E9", "sw2": "15.2(7)E8", "srv1": "6.1.119"})
    r = run_opskit("-i", str(inv), "firmware", "check", "--offline", "--json", "--device", "sw1")
    data = json.loads(r.stdout)
    (dev,) = data["devices"]
    assert dev["device"] == "sw1" and dev["status"] == "vulnerable"
    assert dev["advisories"] == ["cisco-sa-demo"]
    assert dev["target"] == "15.2(7)E10" and dev["newest_in_train"] == "15.2(7)E10"
    assert dev["stale"] is True and 5 * 3600 - 60 < dev["age_s"] < 5 * 3600 + 600
    r = run_opskit("-i", str(inv), "firmware", "check", "--offline")
    assert r.returncode == 2
    lines = r.stdout.splitlines()
    assert lines[0].split() == [
        "DEVICE", "PLATFORM", "RUNNING", "TARGET", "TRAIN", "NEWEST", "NEWEST", "STATUS"
    ]  # fmt: skip
    row = next(ln for ln in lines if ln.startswith("sw1 "))
    assert "15.2(7)E9 (stale 5h)" in row and "vulnerable (cisco-sa-demo)" in row


def test_catalog_validate_and_import(tmp_path: Path) -> None:
    r = run_opskit("firmware", "catalog", "validate", str(ROOT / "firmware.yaml"))
    assert r.returncode == 0 and "ok:" in r.stdout
    cat = tmp_path / "firmware.yaml"
    cat.write_text(CATALOG)
    src = tmp_path / "new.csv"
    src.write_text("platform,version,date,status,advisories\n"
                   "cisco_ios,15.2(7)E11,2024-10-01,recommended,\n"
                   "cisco_ios,15.2.7E11,,,\n")  # fmt: skip
    r = run_opskit("firmware", "catalog", "import", str(src), "--catalog", str(cat), "--json")
    assert r.returncode == 1  # one entry was not understood: reported, and the run says so
    data = json.loads(r.stdout)
    assert data["added"] == ["cisco_ios 15.2(7)E11"] and data["written"] is True
    assert data["rejected"][0]["where"] == "new.csv:3"
    bad = tmp_path / "bad.yaml"
    bad.write_text("platforms:\n  cisco_ios:\n    releses: []\n")
    r = run_opskit("firmware", "catalog", "validate", str(bad))
    assert r.returncode == 2
    assert "bad.yaml:3: unknown key 'releses'" in r.stderr


def test_check_over_ssh_keeps_secrets_out(tmp_path: Path, fake_switch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "firmware.yaml").write_text(
        "platforms:\n  cisco_ios:\n    releases:\n"
        '      - {version: "12.2(58)SE2", status: end-of-life}\n'
    )
    (tmp_path / "enable.secret").write_text("enablepw\n")
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "settings: {state_dir: st, timeouts: {connect: 10, command: 20}}\n"
        "credentials:\n"
        "  lab: {username: admin, password_env: FW_TEST_PW, enable_password_file: enable.secret}\n"
        "sites: {hq: {}}\n"
        "devices:\n"
        f"  sw1: {{site: hq, host: 127.0.0.1, port: {fake_switch.ssh_port}, "
        "platform: cisco_ios, credentials: lab}\n"
    )
    r = run_opskit("-i", str(inv), "firmware", "check", "--json", env={"FW_TEST_PW": "admin"})
    assert r.returncode == 1, r.stderr  # end-of-life: WARNING
    data = json.loads(r.stdout)
    (dev,) = data["devices"]
    assert (dev["running"], dev["source"], dev["status"]) == ("12.2(58)SE2", "cli", "end-of-life")
    state = (tmp_path / "st" / "firmware.json").read_text()
    for text in (r.stdout, r.stderr, state):
        assert "enablepw" not in text


@pytest.mark.parametrize(
    "platform",
    ["cisco_ios_ssh", "cisco_ios_telnet", "cisco_xe_ssh", "arista_eos_ssh", "juniper_junos_ssh",
     "mikrotik_routeros_ssh", "hp_procurve_ssh"],
)  # fmt: skip
def test_versions_of_an_alias_order_like_its_family(platform: str) -> None:
    """netmiko's other spellings of a platform use its family's scheme (they exited 3)."""
    family = platform.removesuffix("_ssh").removesuffix("_telnet")
    sample = {
        "cisco_ios": ["15.2(7)E10", "15.2(4)E8"],
        "cisco_xe": ["17.9.4", "16.12.10a"],
        "arista_eos": ["4.30.2F", "4.28.10.1M"],
        "juniper_junos": ["22.2R1.9", "21.4R3-S5"],
        "mikrotik_routeros": ["7.15", "7.15rc2"],
        "hp_procurve": ["WC.16.10.0009", "WC.16.02.0005"],
    }[family]
    alias = run_opskit("firmware", "versions", platform, *sample, "--json")
    own = run_opskit("firmware", "versions", family, *sample, "--json")
    assert alias.returncode == own.returncode == 0, alias.stderr
    a, b = json.loads(alias.stdout), json.loads(own.stdout)
    assert a["ordered"] == b["ordered"] and a["family"] == b["family"]
    assert [v["version"] for v in a["ordered"]] == sample[::-1]
