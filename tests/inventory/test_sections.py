"""The section keys `inventory validate` accepts are the keys the capabilities read
(the threshold names are the monitor's own table, so they are compared here)."""

from __future__ import annotations

from opskit.backup.sshopts import SSH_KEYS
from opskit.firmware.service import FIRMWARE_KEYS
from opskit.inventory.model import INHERITED_SECTIONS
from opskit.inventory.sections import SECTION_KEYS, UPS_THRESHOLD_KEYS
from opskit.monitor.nut import NUT_KEYS
from opskit.monitor.snmp import SNMP_KEYS
from opskit.monitor.thresholds import LIMIT_DEFAULTS, STATUS_DEFAULTS
from opskit.monitor.ups import THRESHOLD_KEYS


def test_every_inherited_section_has_its_keys() -> None:
    assert set(SECTION_KEYS) == set(INHERITED_SECTIONS)


def test_section_keys_match_the_capabilities() -> None:
    assert set(SECTION_KEYS["snmp"]) == set(SNMP_KEYS)
    assert set(SECTION_KEYS["nut"]) == set(NUT_KEYS)
    assert set(SECTION_KEYS["ssh"]) == set(SSH_KEYS)
    assert set(SECTION_KEYS["firmware"]) == set(FIRMWARE_KEYS)
    assert set(SECTION_KEYS["thresholds"]) == {*LIMIT_DEFAULTS, *STATUS_DEFAULTS, "ups"}
    assert set(UPS_THRESHOLD_KEYS) == set(THRESHOLD_KEYS)
