"""Discovery against real peers: snmpsim serving real devices' recordings over SNMP, and a
fake Cisco switch's `show version` over SSH; the remembered state and its stale fallback."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

from opskit.firmware.catalog import load_catalog
from opskit.firmware.discover import match_sysdescr, parse_cli_output
from opskit.firmware.service import check_firmware
from opskit.firmware.state import Discovery, load_state, save_discoveries
from opskit.inventory import load_inventory
from opskit.lab import free_port
from opskit.lab.snmp import start_snmpsim
from tests.firmware.recordings import REAL, trimmed_recordings

ROOT = Path(__file__).resolve().parents[2]

# Real sysDescr strings (the first eight from the snmpsim-data recordings) -> expected.
SYSDESCR = [
    (
        "Cisco IOS Software, C3750 Software (C3750-IPBASE-M), Version 12.2(50)SE5, RELEASE "
        "SOFTWARE (fc1)",
        "cisco_ios", "12.2(50)SE5", "C3750",
    ),
    (
        "Cisco IOS Software, C3560 Software (C3560-IPSERVICESK9-M), Version 12.2(55)SE3, "
        "RELEASE SOFTWARE (fc1)\r\nTechnical Support: http://www.cisco.com/techsupport",
        "cisco_ios", "12.2(55)SE3", "C3560",
    ),
    (
        "Cisco NX-OS(tm) n5000, Software (n5000-uk9), Version 6.0(2)N2(3), RELEASE SOFTWARE "
        "Copyright (c) 2002-2012 by Cisco Systems, Inc. Device Manager Version 6.2(1),",
        "cisco_nxos", "6.0(2)N2(3)", "n5000",
    ),
    (
        "Arista Networks EOS version 4.20.5F running on an Arista Networks DCS-7150S-52-CL",
        "arista_eos", "4.20.5F", "DCS-7150S-52-CL",
    ),
    (
        "Juniper Networks, Inc. mx960 internet router, kernel JUNOS 16.1R6.7, Build date: "
        "2017-11-22 02:47:00 UTC Copyright (c) 1996-2017 Juniper Networks, Inc.",
        "juniper_junos", "16.1R6.7", "mx960",
    ),
    (
        "ProCurve 516733-B21 6120XG Blade Switch, revision Z.14.31, ROM Z.14.09 "
        "(/ws/swbuildm/ec_Z_zint4b_qaoff/code/build/vern(ec_Z_zint",
        "hp_procurve", "Z.14.31", "516733-B21",
    ),
    ("Palo Alto Networks PA-5000 series firewall", "paloalto_panos", None, "PA-5000"),
    (
        "Linux SM-PMDA 2.6.32-573.el6.x86_64 #1 SMP Wed Jul 1 18:23:37 EDT 2015 x86_64",
        "linux", "2.6.32-573.el6.x86_64", None,
    ),
    (
        "Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software (CAT9K_IOSXE), Version "
        "17.3.4a, RELEASE SOFTWARE (fc3)",
        "cisco_xe", "17.3.4a", "CAT9K_IOSXE",
    ),
    (
        "Linux files 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64",
        "linux", "6.1.119", None,
    ),
    # Formats as these devices print them (not from a recording).
    (
        "HP J9728A 2920-48G Switch, revision WB.16.10.0009, ROM WB.16.03 (/ws/swbuildm/"
        "rel_ukiah_qaoff/code/build/bom(swbuildm_rel_ukiah_qaoff_rel_ukiah)) (Formerly ProCurve)",
        "hp_procurve", "WB.16.10.0009", "J9728A",
    ),
    ("Aruba JL668A 6300F 24G 4SFP56 Swch FL.10.08.1010", "aruba_aoscx", "FL.10.08.1010", "JL668A"),
    ("RouterOS RB4011iGS+", "mikrotik_routeros", None, "RB4011iGS+"),
    (
        "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 PN:apc_hw05_aos_696.bin AF1:v6.9.6 "
        "AN1:apc_hw05_sumx_696.bin MN:AP9630 HR:05 SN: ZA1234567890 MFG:07/15/2014)",
        "ups_snmp", "6.9.6", "AP9630",
    ),
    (
        "Cisco Internetwork Operating System Software \r\nIOS (tm) C2950 Software "
        "(C2950-I6K2L2Q4-M), Version 12.1(22)EA14, RELEASE SOFTWARE (fc1)",
        "cisco_ios", "12.1(22)EA14", "C2950",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("descr", "platform", "version", "model"), SYSDESCR, ids=[s[1] for s in SYSDESCR]
)
def test_match_sysdescr(descr: str, platform: str, version: str | None, model: str | None) -> None:
    found = match_sysdescr(descr)
    assert found is not None
    assert (found.platform, found.version, found.model) == (platform, version, model)


def test_unrecognised_sysdescr() -> None:
    assert match_sysdescr("EATON 93E 80") is None
    # FortiGate's sysDescr is its host name: only the sysObjectID tells (real recording)
    assert match_sysdescr("xcu") is None
    found = match_sysdescr("xcu", "1.3.6.1.4.1.12356.101.1.30000")
    assert found is not None and found.platform == "fortinet"


def test_parse_show_version_textfsm() -> None:
    from fake_switches.cisco.command_processor.enabled import version_text

    out = version_text(hostname="sw1", vlan_port_count=1, port_count=24)
    assert parse_cli_output("cisco_ios", out) == ("12.2(58)SE2", "WS-C3750G-24TS-1U")


CATALOG = """\
platforms:
  cisco_ios:
    releases:
      - {version: "12.2(58)SE2", status: vulnerable, advisories: [cisco-sa-20180328-smi2],
         models: ["*3750*"]}
      - {version: "12.2(55)SE12", status: end-of-life, models: ["*3750*"]}
  cisco_nxos:
    releases: [{version: "6.0(2)N2(7)", status: recommended}]
  arista_eos:
    releases: [{version: "4.20.5F"}]
  juniper_junos:
    releases: [{version: "16.1R7.8", status: recommended}]
  fortinet:
    releases: [{version: "5.4.5", status: end-of-life}]
  paloalto_panos:
    releases: [{version: "8.0.1", status: end-of-life}]
  hp_procurve:
    releases: [{version: "Z.14.31"}]
  linux:
    releases: [{version: "2.6.32"}]
  ups_snmp:
    releases: [{version: "6.00"}, {version: "6.10", status: recommended}]
"""

PLATFORMS = {
    "cisco-c3750": "cisco_ios",
    "cisco-n5000": "cisco_nxos",
    "arista-7150s": "arista_eos",
    "juniper-mx960": "juniper_junos",
    "fortinet-xcu": "fortinet",
    "paloalto-pa5000": "paloalto_panos",
    "procurve-6120xg": "hp_procurve",
    "linux-el6": "linux",
    "eaton-93e": "ups_snmp",
}
EXPECTED = {
    "cisco-c3750": ("12.2(50)SE5", "update-available"),  # not listed; newer in its train
    "cisco-n5000": ("6.0(2)N2(3)", "update-available"),
    "arista-7150s": ("4.20.5F", "current"),
    "juniper-mx960": ("16.1R6.7", "update-available"),
    "fortinet-xcu": ("v5.4.5,build1138,170531 (GA)", "end-of-life"),  # build ignored
    "paloalto-pa5000": ("8.0.1", "end-of-life"),
    "procurve-6120xg": ("Z.14.31", "current"),
    "linux-el6": ("2.6.32-573.el6.x86_64", "current"),
    "eaton-93e": ("6.00", "update-available"),  # "Network Management Card V6.00 JH"
}


def write_inventory(tmp_path: Path, devices: str, credentials: str = "") -> Path:
    (tmp_path / "firmware.yaml").write_text(CATALOG)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "settings:\n"
        "  state_dir: state\n"
        "  timeouts: {snmp: 0.5, connect: 10, command: 20}\n"
        "  snmp_retries: 0\n"
        "credentials:\n"
        f"{credentials}"
        "sites:\n"
        "  lab: {}\n"
        "devices:\n"
        f"{devices}"
    )
    return inv


@pytest.fixture(scope="module")
def real_agent(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    work = tmp_path_factory.mktemp("fw-snmpsim")
    files = trimmed_recordings(work / "recordings")
    agent = start_snmpsim(files, work, ready_timeout=60)
    yield agent
    agent.stop()


def test_snmp_discovery_of_real_recordings(tmp_path: Path, real_agent) -> None:  # type: ignore[no-untyped-def]
    creds = "".join(f"  {c}: {{community: {c}}}\n" for c in REAL)
    devs = "".join(
        f"  {c}:\n    site: lab\n    host: 127.0.0.1\n    platform: {PLATFORMS[c]}\n"
        f"    snmp: {{version: 2c, port: {real_agent.port}, credentials: {c}}}\n"
        for c in REAL
    )
    inv = load_inventory(write_inventory(tmp_path, devs, creds))
    report = check_firmware(inv, list(inv.devices.values()))
    got = {r.device: (r.running, r.status) for r in report.results}
    assert got == EXPECTED
    for r in report.results:
        assert r.source == "snmp" and not r.stale and r.error is None
    c3750 = next(r for r in report.results if r.device == "cisco-c3750")
    assert c3750.model == "C3750"
    eaton = next(r for r in report.results if r.device == "eaton-93e")
    assert eaton.model == "EATON 93E 80"
    # remembered with its time, for --offline and for devices that stop answering
    state = load_state(inv.settings.state_dir)
    assert set(state) == set(REAL)
    assert state["juniper-mx960"].version == "16.1R6.7"
    assert state["juniper-mx960"].source == "snmp"


def test_silent_device_falls_back_to_remembered_version(tmp_path: Path) -> None:
    dead = free_port(socket.SOCK_DGRAM)  # nothing listens here
    devs = (
        "  r1:\n    site: lab\n    host: 127.0.0.1\n    platform: juniper_junos\n"
        f"    snmp: {{version: 2c, port: {dead}, credentials: ro}}\n"
        "  r2:\n    site: lab\n    host: 127.0.0.1\n    platform: juniper_junos\n"
        f"    snmp: {{version: 2c, port: {dead}, credentials: ro}}\n"
    )
    inv = load_inventory(write_inventory(tmp_path, devs, "  ro: {community: public}\n"))
    then = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    save_discoveries(
        inv.settings.state_dir,
        [Discovery("r1", "juniper_junos", "16.1R6.7", "snmp", then, "mx960")],
    )
    now = then + dt.timedelta(days=3)
    report = check_firmware(inv, list(inv.devices.values()), now=now)
    r1, r2 = report.results
    assert (r1.running, r1.stale, r1.status) == ("16.1R6.7", True, "update-available")
    assert r1.age_s == 3 * 86400
    assert r1.error and r1.error.startswith("r1 (127.0.0.1")
    assert "timed out" in r1.error or "no SNMP response" in r1.error
    assert any("remembered from 3d ago" in x for x in r1.evaluation.reasons)
    assert (r2.running, r2.status) == (None, "unknown-version")
    # --offline: no network, the same remembered answer
    offline = check_firmware(inv, list(inv.devices.values()), offline=True, now=now)
    assert offline.results[0].running == "16.1R6.7" and offline.results[0].error is None


def test_show_version_over_ssh_from_fake_switch(tmp_path: Path, fake_switch) -> None:  # type: ignore[no-untyped-def]
    devs = (
        "  sw1:\n    site: lab\n    host: 127.0.0.1\n    platform: cisco_ios\n"
        f"    port: {fake_switch.ssh_port}\n    credentials: lab\n"
    )
    creds = "  lab: {username: admin, password: admin, enable_password: enablepw}\n"
    inv = load_inventory(write_inventory(tmp_path, devs, creds))
    report = check_firmware(inv, list(inv.devices.values()))
    (r,) = report.results
    assert r.source == "cli", r.error
    assert (r.running, r.model) == ("12.2(58)SE2", "WS-C3750G-24TS-1U")
    assert r.status == "vulnerable"
    assert r.evaluation.advisories == ("cisco-sa-20180328-smi2",)
    assert report.exit_code == 2
    assert load_catalog(tmp_path / "firmware.yaml").has_platform("cisco_ios")


def test_answer_without_version_keeps_last_known(tmp_path: Path, real_agent) -> None:  # type: ignore[no-untyped-def]
    # The Eaton card's sysDescr ("EATON 93E 80") says nothing a linux pattern knows.
    devs = (
        "  odd:\n    site: lab\n    host: 127.0.0.1\n    platform: linux\n"
        f"    snmp: {{version: 2c, port: {real_agent.port}, credentials: ups}}\n"
    )
    inv = load_inventory(write_inventory(tmp_path, devs, "  ups: {community: eaton-93e}\n"))
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    save_discoveries(inv.settings.state_dir, [Discovery("odd", "linux", "2.6.32", "cli", then)])
    (r,) = check_firmware(inv, list(inv.devices.values())).results
    assert (r.running, r.stale, r.source) == ("2.6.32", True, "cli")
    assert r.error == "odd: answered over snmp without a version: 'EATON 93E 80'"
    assert load_state(inv.settings.state_dir)["odd"].version == "2.6.32"  # not overwritten


def test_iosxe_entered_as_cisco_ios_is_judged_as_cisco_xe(tmp_path: Path) -> None:
    (tmp_path / "firmware.yaml").write_text(
        "platforms:\n"
        "  cisco_xe:\n    releases:\n"
        '      - {version: "17.9.4", status: vulnerable, advisories: [cisco-sa-iosxe-webui]}\n'
        '      - {version: "17.9.4a", status: recommended}\n'
        "  cisco_ios:\n    releases: [{version: '15.2(7)E10'}]\n"
    )
    (tmp_path / "inventory.yaml").write_text(
        "settings: {state_dir: st}\nsites: {hq: {}}\ndevices:\n"
        "  cat9k: {site: hq, host: 127.0.0.1, platform: cisco_ios}\n"
        "  c2960: {site: hq, host: 127.0.0.1, platform: cisco_ios}\n"
    )
    inv = load_inventory(tmp_path / "inventory.yaml")
    at = dt.datetime.now(dt.UTC)
    save_discoveries(
        inv.settings.state_dir,
        [
            Discovery("cat9k", "cisco_ios", "17.09.04", "cli", at),
            Discovery("c2960", "cisco_ios", "15.2(7)E10", "cli", at),
        ],
    )
    report = check_firmware(inv, list(inv.devices.values()), offline=True)
    by = {r.device: r for r in report.results}
    assert (by["cat9k"].status, by["cat9k"].judged_as) == ("vulnerable", "cisco_xe")
    assert any("judged as cisco_xe" in x for x in by["cat9k"].evaluation.reasons)
    assert (by["c2960"].status, by["c2960"].judged_as) == ("current", "cisco_ios")


def test_platform_aliases_are_judged_alike_on_the_same_agent(
    tmp_path: Path,
    real_agent,  # type: ignore[no-untyped-def]
) -> None:
    """issue 13: `cisco_ios_telnet` was judged `unknown-platform` while `cisco_ios` was
    `below-minimum`, for the same agent's answer."""
    (tmp_path / "firmware.yaml").write_text(
        "platforms:\n  cisco_ios:\n    releases: [{version: '15.2(7)E8', status: recommended}]\n"
        "policy:\n  platforms:\n    cisco_ios: {minimum: '15.2(7)E8'}\n"
    )
    names = ("cisco_ios", "cisco_ios_telnet", "cisco_ios_ssh")
    devs = "".join(
        f"  sw-{p}:\n    site: lab\n    host: 127.0.0.1\n    platform: {p}\n"
        f"    snmp: {{version: 2c, port: {real_agent.port}, credentials: c3750}}\n"
        for p in names
    )
    inv_path = tmp_path / "inventory.yaml"
    inv_path.write_text(
        "settings: {state_dir: state, timeouts: {snmp: 1}}\n"
        "credentials:\n  c3750: {community: cisco-c3750}\n"
        f"sites:\n  lab: {{}}\ndevices:\n{devs}"
    )
    inv = load_inventory(inv_path)
    report = check_firmware(inv, list(inv.devices.values()))
    got = {r.device: (r.running, r.status, r.judged_as) for r in report.results}
    assert got == {f"sw-{p}": ("12.2(50)SE5", "below-minimum", "cisco_ios") for p in names}
