"""The vendor type tables are data that must name real platforms; the examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest

from opskit.interop.maps import TABLES, canonical_platform, platform_table


@pytest.mark.parametrize("table", TABLES)
def test_every_mapped_platform_is_one_opskit_knows(table: str) -> None:
    unknown = {k: v for k, v in platform_table(table).items() if canonical_platform(v) is None}
    assert unknown == {}


@pytest.mark.parametrize(
    ("table", "name", "platform"),
    [
        ("rancid", "cisco", "cisco_ios"),
        ("rancid", "cisco-nx", "cisco_nxos"),
        ("rancid", "juniper", "juniper_junos"),
        ("rancid", "arista", "arista_eos"),
        ("rancid", "fortigate", "fortinet"),
        ("rancid", "mikrotik", "mikrotik_routeros"),
        ("rancid", "hp", "hp_procurve"),
        ("oxidized", "ios", "cisco_ios"),
        ("oxidized", "nxos", "cisco_nxos"),
        ("oxidized", "junos", "juniper_junos"),
        ("oxidized", "eos", "arista_eos"),
        ("oxidized", "fortios", "fortinet"),
        ("oxidized", "routeros", "mikrotik_routeros"),
        ("oxidized", "procurve", "hp_procurve"),
        ("librenms", "iosxe", "cisco_xe"),
        ("librenms", "fortigate", "fortinet"),
    ],
)
def test_the_common_names(table: str, name: str, platform: str) -> None:
    assert platform_table(table)[name] == platform


@pytest.mark.parametrize(
    "module",
    [
        "opskit.interop.common",
        "opskit.interop.maps",
        "opskit.interop.yamltext",
        "opskit.interop.include",
        "opskit.interop.apply",
        "opskit.interop.rancid",
        "opskit.interop.oxidized",
        "opskit.interop.netbox",
        "opskit.interop.http",
        "opskit.interop.export",
        "opskit.inventory.panels",
    ],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
