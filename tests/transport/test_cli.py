"""`open_cli`: the logged-in CLI session every capability uses (backup, firmware, restore),
its target built by `opskit.targets` from the inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from opskit.errors import DeviceError
from opskit.inventory import load_inventory
from opskit.lab.fakeswitch import FakeSwitch
from opskit.targets import cli_target
from opskit.transport.cli import open_cli
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
    with open_cli(cli_target(inv, inv.devices["sw1"])) as conn:
        assert conn.find_prompt() == "sw1#"
        assert "Cisco IOS Software" in conn.send_command("show version")
    with pytest.raises(DeviceError) as err, open_cli(cli_target(inv, inv.devices["bad"])):
        pass
    assert str(err.value) == "login failed: authentication rejected for user 'admin'"
    assert "not-it" not in str(err.value)


def test_a_cli_target_keeps_its_secrets_out_of_sight(tmp_path: Path) -> None:
    inv = load_inventory(
        write_inventory(
            tmp_path,
            {"sw1": {"port": 2222, "platform": "cisco_ios_telnet", "credentials": "c"}},
            credentials={
                "c": {"username": "ops", "password": "pw-1-x", "enable_password": "en-2-y"}
            },
        )
    )
    target = cli_target(inv, inv.devices["sw1"])
    assert (target.method, target.username, target.timeout) == ("telnet", "ops", 25.0)
    assert sorted(target.secret_values()) == ["en-2-y", "pw-1-x"]
    assert "pw-1-x" not in repr(target) and "en-2-y" not in repr(target)
