"""The platform table: every file loads, every name the inventory accepts means the same
family to backup, firmware and monitor, and the files' patterns are usable."""

from __future__ import annotations

import re

import pytest

from opskit.errors import InputError
from opskit.firmware.discover import cli_command_for, snmp_oids_for, uses_nut
from opskit.firmware.versions import SCHEMES, family_of, parse_version
from opskit.inventory import known_platforms
from opskit.inventory.model import Device
from opskit.monitor.checkers import CHECKERS, checker_for
from opskit.platforms import (
    GENERIC,
    accepted_names,
    backup_profile,
    family_names,
    load_profile,
    profile_name_for,
    resolve,
    sysdescr_rules,
    version_schemes,
)
from opskit.platforms import family_of as platform_family

NAMES = sorted(accepted_names())


def _device(platform: str) -> Device:
    return Device(
        name="d1", site="s", host="127.0.0.1", platform=platform, snmp={"credentials": "ro"}
    )


def test_the_inventory_accepts_exactly_the_table_s_names() -> None:
    assert known_platforms() == accepted_names()
    # the names opskit adds to netmiko's come from platform files
    for name in ("ups_snmp", "ups_nut", "patch_panel", "generic", "server"):
        assert name in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_backup_firmware_and_monitor_agree_on_every_name(name: str) -> None:
    """Each capability, asked through its own API, treats a name as its family does."""
    found = resolve(name)
    family = found.family
    # backup: the same model, or none for both
    if found.backup:
        assert load_profile(name) is load_profile(family)
        assert profile_name_for(name) == family
    else:
        with pytest.raises(InputError):
            load_profile(name)
        assert profile_name_for(name) is None
    # firmware: the same scheme, version command, SNMP OIDs, NUT path and canonical name
    assert family_of(name) == family_of(family) == found.firmware.scheme
    assert cli_command_for(name) == cli_command_for(family)
    assert snmp_oids_for(name) == snmp_oids_for(family)
    assert uses_nut(_device(name)) == uses_nut(_device(family))
    assert found.name == (name if family == GENERIC else family)
    # monitor: the same checker
    assert checker_for(_device(name)) is checker_for(_device(family))


# netmiko spells one device type several ways; each way must land in one family.
PINNED = {
    "cisco_ios_ssh": ("cisco_ios", "ios"),
    "cisco_ios_telnet": ("cisco_ios", "ios"),
    "cisco_xe_ssh": ("cisco_xe", "iosxe"),
    "arista_eos_ssh": ("arista_eos", "eos"),
    "juniper_junos_ssh": ("juniper_junos", "junos"),
    "juniper": ("juniper_junos", "junos"),
    "mikrotik_routeros_ssh": ("mikrotik_routeros", "routeros"),
    "hp_procurve_ssh": ("hp_procurve", "procurve"),
    "paloalto_panos_telnet": ("paloalto_panos", "panos"),
    "server": ("linux", "generic"),
    "generic": ("generic", "generic"),
    "cisco_asa": ("cisco_asa", "asa"),
    "brocade_fastiron": ("ruckus_fastiron", "fastiron"),
    "ubiquiti_edge": ("ubiquiti_edgeswitch", "generic"),
    "ubiquiti_edgerouter_ssh": ("ubiquiti_edgerouter", "generic"),
    "dell_os9": ("dell_force10", "ftos"),
    "huawei_vrp": ("huawei", "vrp"),
    "aruba_osswitch": ("hp_procurve", "procurve"),
    "f5_linux": ("generic", "generic"),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_names(name: str) -> None:
    family, scheme = PINNED[name]
    assert (resolve(name).family, resolve(name).firmware.scheme) == (family, scheme)


def test_netmiko_variants_of_a_family_name_are_its_aliases() -> None:
    """`X_ssh`/`X_telnet` (netmiko's spellings of X) resolve where X does: a new family
    that forgets to list them fails here."""
    missing = []
    for name in NAMES:
        for suffix in ("_ssh", "_telnet"):
            base = name.removesuffix(suffix)
            family = platform_family(base)
            if base != name and base in NAMES and family not in (GENERIC, platform_family(name)):
                missing.append(f"{name} (-> {family})")
    assert missing == []


def test_every_family_builds() -> None:
    for family in family_names():
        p = resolve(family)
        assert p.name == p.family == family and p.description
        assert p.firmware.scheme in SCHEMES
        assert all(s in family_names() for s in p.firmware.siblings)
        assert p.monitor_checker is None or p.monitor_checker in CHECKERS
        profile = backup_profile(family)
        assert (profile is not None) == p.backup
        if profile is not None:
            assert profile.commands or profile.files, family
            assert profile.cli.netmiko_ssh or profile.cli.netmiko_telnet, family


def test_every_scheme_parses_a_version_of_its_own() -> None:
    examples = {
        "ios": "15.2(7)E10",
        "iosxe": "17.9.4a",
        "nxos": "9.3(10)",
        "junos": "21.4R3-S5",
        "eos": "4.30.2F",
        "fortios": "7.2.10",
        "routeros": "7.15rc2",
        "panos": "10.2.7-h3",
        "aoscx": "FL.10.13.1000",
        "procurve": "WC.16.10.0009",
        "generic": "1.2.3",
        "iosxr": "7.9.2",
        "asa": "9.8(3)21",
        "comware": "7.1.070, Release 3208P08",
        "ftos": "9.14(2.4)",
        "vrp": "V200R011C10SPC600",
        "gaia": "R81.20",
        "fastiron": "08.0.95dT213",
        "zynos": "V4.50(ABBH.7)",
    }
    assert set(examples) == set(version_schemes())
    owner = {resolve(f).firmware.scheme: f for f in family_names() if f != "linux"}
    for scheme, text in examples.items():
        assert parse_version(owner[scheme], text).known, scheme


def test_sysdescr_and_discovery_patterns_are_usable() -> None:
    """Every pattern names its groups; OIDs are numeric; every family is known."""
    rules = sysdescr_rules()
    assert [r.order for r in rules] == sorted(r.order for r in rules)
    for rule in rules:
        assert rule.platform in family_names()
        if rule.version is not None:
            assert any(g.startswith("version") for g in rule.version.groupindex)
        if rule.model is not None:
            assert "model" in rule.model.groupindex
    for family in family_names():
        fw = resolve(family).firmware
        if fw.snmp is not None:
            for oid in (fw.snmp.version, fw.snmp.model):
                assert oid is None or all(p.isdigit() for p in oid.split(".")), oid
        if fw.show_version is not None:
            assert fw.show_version.command
            assert fw.show_version.version is not None or fw.show_version.field
            if fw.show_version.version is not None:
                assert any(g.startswith("version") for g in fw.show_version.version.groupindex)


def test_bad_platform_files_are_refused(tmp_path: pytest.TempPathFactory) -> None:
    from opskit.platforms import _inherit, _merge

    assert _merge({"a": [1], "m": {"x": 1, "y": 2}}, {"a+": [2], "m": {"y": 3}}) == {
        "a": [1, 2],
        "m": {"x": 1, "y": 3},
    }
    with pytest.raises(InputError, match="circular"):
        _inherit("a", {"a": {"extends": "b"}, "b": {"extends": "a"}}, ())


def test_extends_passes_syslog_on_whole() -> None:
    from opskit.platforms import _inherit

    raw = {
        "base": {"syslog": ["A"], "cli": {"enable": True}},
        "heir": {"extends": "base"},
        "own": {"extends": "base", "syslog": ["B"]},
    }
    assert _inherit("heir", raw, ())["syslog"] == ["A"]
    assert _inherit("own", raw, ())["syslog"] == ["B"]  # replaced, not appended
    # the real files: IOS-XE extends IOS and logs the same %SYS-5-CONFIG_I
    assert resolve("cisco_xe_ssh").syslog == resolve("cisco_ios").syslog != ()


def test_syslog_patterns_are_checked() -> None:
    from opskit.platforms.model import build_platform

    with pytest.raises(InputError, match=r"platform file x\.yaml: bad regex '\(oops'"):
        build_platform("x", {"syslog": ["(oops"]})
    with pytest.raises(InputError, match="syslog must be a list"):
        build_platform("x", {"syslog": "UI_COMMIT"})
    for family in family_names():
        for pattern in resolve(family).syslog:
            assert set(re.compile(pattern).groupindex) <= {"user", "line", "address", "via"}


def test_doctests() -> None:
    import doctest

    import opskit.platforms

    result = doctest.testmod(opskit.platforms)
    assert result.attempted > 0 and result.failed == 0
