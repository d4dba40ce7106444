"""`opskit inventory export`: NetBox CSV parsed back, router.db, Prometheus file_sd."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from opskit.inventory import load_inventory
from tests.interop.conftest import DATA
from tests.lab.netbox import NETBOX_TOKEN


def _rows(directory: Path, name: str) -> list[dict[str, str]]:
    with (directory / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_netbox_csv_parses_back_to_the_same_devices_ports_and_cables(  # type: ignore[no-untyped-def]
    cli, netbox_api, main_inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETBOX_TOKEN", NETBOX_TOKEN)
    url = netbox_api("4.5")
    assert cli(main_inventory, "inventory", "import", "netbox", "--url", url).code == 0
    out = tmp_path / "netbox-csv"
    res = cli(main_inventory, "inventory", "export", "netbox-csv", str(out), "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["counts"]["cables"] == 8
    inv = load_inventory(main_inventory)
    # devices
    devices = {r["name"]: r for r in _rows(out, "08-devices.csv")}
    assert set(devices) == set(inv.devices)
    assert devices["sw1"]["role"] == "access" and devices["sw1"]["platform"] == "cisco_ios"
    assert (devices["sw1"]["rack"], devices["sw1"]["position"]) == ("R1", "40")
    # ports: interfaces, and each panel's front -> rear wiring exactly
    ports = {(r["device"], r["name"], None) for r in _rows(out, "09-interfaces.csv")}
    ports |= {(r["device"], r["name"], "rear") for r in _rows(out, "10-rear-ports.csv")}
    fronts = _rows(out, "11-front-ports.csv")
    ports |= {(r["device"], r["name"], "front") for r in fronts}
    assert ports == {(d.name, p.name, p.side) for d in inv.devices.values() for p in d.ports}
    wiring = {
        (r["device"], r["name"]): (r["rear_port"], int(r["rear_port_position"])) for r in fronts
    }
    assert wiring[("ppa", "1")] == ("4", 1) and wiring[("cas2", "A")] == ("MPO", 2)
    positions = {(r["device"], r["name"]): r["positions"] for r in _rows(out, "10-rear-ports.csv")}
    assert positions[("cas1", "MPO")] == "2"
    # cables: ends, label, colour, length
    kinds = {"dcim.interface": None, "dcim.frontport": "front", "dcim.rearport": "rear"}
    parsed = {}
    for r in _rows(out, "12-cables.csv"):
        a = (r["side_a_device"], r["side_a_name"], kinds[r["side_a_type"]])
        b = (r["side_b_device"], r["side_b_name"], kinds[r["side_b_type"]])
        length = float(r["length"]) if r["length"] else None
        parsed[r["label"]] = (a, b, r["color"], length, r["status"])
    colors = {"blue": "2196f3", "red": "f44336", "green": "4caf50", "#00bcd5": "00bcd5", None: ""}
    assert parsed == {
        c.label: (c.a.key, c.b.key, colors[c.color], c.length_m, c.status or "connected")
        for c in inv.cables.values()
    }
    assert parsed["HQ trunk 1/4"][3] == 1.5


def test_router_db_export_both_ages(cli, main_inventory: Path) -> None:  # type: ignore[no-untyped-def]
    db = DATA / "rancid" / "legacy" / "router.db"
    assert cli(main_inventory, "inventory", "import", "rancid", str(db)).code == 0
    new = cli(main_inventory, "inventory", "export", "rancid")
    assert new.out == (
        "gw.example.net;cisco;up\nsw-old.example.net;hp;down\nfw.example.net;fortigate;up\n"
    )
    old = cli(main_inventory, "inventory", "export", "rancid", "--old")
    assert old.out == new.out.replace(";", ":")


def test_prometheus_file_sd(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "sites:\n  hq: {}\ndefaults:\n  snmp: {version: 2c}\n"
        "devices:\n"
        "  sw1: {site: hq, host: 192.0.2.1, platform: cisco_ios, role: access}\n"
        "  ups1: {site: hq, host: 192.0.2.9, platform: ups_snmp, snmp: {port: 1161}}\n"
        "  pp1: {site: hq, platform: patch_panel}\n"
    )
    target = tmp_path / "sd" / "opskit.json"
    target.parent.mkdir()
    res = cli(inventory, "inventory", "export", "prometheus-sd", str(target))
    assert res.code == 0, res.err
    assert json.loads(target.read_text()) == [
        {
            "targets": ["192.0.2.1"],
            "labels": {"device": "sw1", "site": "hq", "platform": "cisco_ios", "role": "access"},
        },
        {
            "targets": ["192.0.2.9:1161"],
            "labels": {"device": "ups1", "site": "hq", "platform": "ups_snmp"},
        },
    ]
    names = cli(inventory, "inventory", "export", "prometheus-sd", "--target", "name")
    assert [g["targets"] for g in json.loads(names.out)] == [["sw1"], ["ups1"]]
