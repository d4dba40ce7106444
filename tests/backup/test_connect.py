"""`open_cli`: the logged-in connection other capabilities use (firmware, restore)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opskit.backup.connect import open_cli
from opskit.errors import DeviceError
from opskit.inventory import load_inventory
from opskit.lab.fakeswitch import FakeSwitch
from tests.backup.helpers import write_inventory


def test_open_cli_gives_an_enabled_session(tmp_path: Path, fake_switch: FakeSwitch) -> None:
    inv = load_inventory(
        write_inventory(
            tmp_path,
            {
                "sw1": {
                    "port": fake_switch.ssh_port,
                    "platform": "cisco_ios",
                    "credentials": "fake",
                },
                "bad": {
                    "port": fake_switch.ssh_port,
                    "platform": "cisco_ios",
                    "credentials": "wrong",
                },
            },
            credentials={
                "fake": {"username": "admin", "password": "admin", "enable_password": "enablepw"},
                "wrong": {"username": "admin", "password": "not-it"},
            },
        )
    )
    with open_cli(inv, inv.devices["sw1"]) as conn:
        assert conn.find_prompt() == "sw1#"
        assert "Cisco IOS Software" in conn.send_command("show version")
    with pytest.raises(DeviceError) as err, open_cli(inv, inv.devices["bad"]):
        pass
    assert str(err.value) == "login failed: authentication rejected for user 'admin'"
    assert "not-it" not in str(err.value)
