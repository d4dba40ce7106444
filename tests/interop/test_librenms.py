"""`opskit inventory import librenms` against LibreNMS's /api/v0/devices on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.interop.conftest import snapshot
from tests.lab.netbox import LIBRENMS_TOKEN


def test_devices_from_librenms(cli, netbox_api, main_inventory: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LIBRENMS_TOKEN", LIBRENMS_TOKEN)
    url = netbox_api("4.5")
    res = cli(main_inventory, "inventory", "import", "librenms", "--url", url)
    assert res.code == 0, res.err
    text = (main_inventory.parent / "imported" / "librenms.yaml").read_text()
    assert text.split("devices:\n", 1)[1] == (
        "  core-1:\n"
        "    site: head-office-rack-1\n"
        "    host: core-1.example.net\n"
        "    platform: cisco_xe\n"
        '  "192.0.2.20":\n'
        "    site: librenms\n"
        '    host: "192.0.2.20"\n'
        "    platform: juniper_junos\n"
        "  fw1:\n"
        "    site: head-office-rack-1\n"
        "    host: fw1.example.net\n"
        "    platform: fortinet\n"
        '    description: "LibreNMS: disabled"\n'
        "    backup: {enabled: false}\n"
        "  ups1:\n"
        "    site: lab\n"
        "    host: ups1.example.net\n"
        "    platform: ups_snmp\n"
        '    description: "LibreNMS: ignored"\n'
        "    backup: {enabled: false}\n"
    )
    assert 'head-office-rack-1: {description: "Head Office, Rack 1"}' in text
    # the SNMP communities LibreNMS lists stay out
    assert "public-not-a-secret-1" not in "".join(
        v.decode() for v in snapshot(main_inventory.parent).values()
    )
    assert cli(main_inventory, "inventory", "validate").code == 0


def test_wrong_token_is_one_line(cli, netbox_api, main_inventory: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LIBRENMS_TOKEN", "not-the-token")
    before = snapshot(main_inventory.parent)
    res = cli(main_inventory, "inventory", "import", "librenms", "--url", netbox_api("4.5"))
    assert res.code == 1
    assert res.err.count("\n") == 1 and "HTTP 401" in res.err and "Unauthenticated" in res.err
    assert "not-the-token" not in res.err
    assert snapshot(main_inventory.parent) == before


@pytest.mark.parametrize("unset", [True])
def test_missing_token_variable(cli, main_inventory: Path, monkeypatch, unset: bool) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("LIBRENMS_TOKEN", raising=False)
    res = cli(
        main_inventory, "inventory", "import", "librenms", "--url", "http://127.0.0.1:9", "--json"
    )
    assert res.code == 2
    assert json.loads(res.out)["error"]["message"] == (
        "import librenms: environment variable LIBRENMS_TOKEN (the API token) is not set"
    )
