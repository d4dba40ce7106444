"""`open_cli`: the logged-in CLI session every capability uses (backup, firmware, restore),
its target built by `opskit.targets` from the inventory."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opskit.errors import DeviceError, DeviceTimeout
from opskit.inventory import load_inventory
from opskit.inventory.model import Secret
from opskit.lab.fakeswitch import FakeSwitch
from opskit.targets import cli_target
from opskit.transport.cli import CliTarget, open_cli
from tests.backup.helpers import write_inventory
from tests.lab.testdevice import TestDevice


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


def _td_target(tmp_path: Path, dev: TestDevice, method: str, **settings: Any) -> CliTarget:
    port = dev.ssh_port if method == "ssh" else dev.telnet_port
    platform = "cisco_ios" if method == "ssh" else "cisco_ios_telnet"
    inv = load_inventory(
        write_inventory(
            tmp_path,
            {"core-r1": {"port": port, "platform": platform, "credentials": "td"}},
            credentials={
                "td": {
                    "username": dev.username,
                    "password": dev.password,
                    "enable_password": dev.enable_secret,
                },
                "td-wrong-enable": {
                    "username": dev.username,
                    "password": dev.password,
                    "enable_password": "En-Not-It-0000",
                },
            },
            settings=settings,
        )
    )
    return cli_target(inv, inv.devices["core-r1"])


def _lines(dev: TestDevice) -> list[str]:
    return [ln.split("] ", 1)[1] for ln in dev.peer.log_text().splitlines() if ln.startswith("[")]


@pytest.mark.parametrize("method", ["ssh", "telnet"])
def test_enable_sends_the_secret_after_a_stray_prompt(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice], method: str
) -> None:
    """The reported failure: a late `core-r1>` between the echo of `enable` and
    `Password:`. The secret must still be sent (the device logs what it got)."""
    dev = test_device_factory(mode="stray-prompt", log_lines=True)
    with open_cli(_td_target(tmp_path, dev, method)) as conn:
        assert conn.find_prompt() == "core-r1#"
    lines = _lines(dev)
    assert lines[lines.index("enable") + 1] == "<secret ok>"
    assert "<blank>" not in lines and "<secret wrong>" not in lines


def test_enable_waits_for_a_slow_password_prompt(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice]
) -> None:
    dev = test_device_factory(log_lines=True)
    dev.set_mode("slow-enable", delay=1.5)
    with open_cli(_td_target(tmp_path, dev, "ssh", timeouts={"connect": 4})) as conn:
        assert conn.find_prompt() == "core-r1#"
    assert "<secret ok>" in _lines(dev)


def test_enable_without_a_password_prompt_says_so(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice]
) -> None:
    dev = test_device_factory(log_lines=True)
    dev.set_mode("slow-enable", delay=3600)
    target = _td_target(tmp_path, dev, "ssh", timeouts={"connect": 2})
    with pytest.raises(DeviceTimeout) as err, open_cli(target):
        pass
    assert str(err.value) == "enable failed: no password prompt within 2 s"
    assert not any(ln.startswith("<secret") for ln in _lines(dev))  # nothing was refused


@pytest.mark.parametrize("method", ["ssh", "telnet"])
def test_a_wrong_enable_secret_is_refused(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice], method: str
) -> None:
    dev = test_device_factory(log_lines=True)
    target = _td_target(tmp_path, dev, method)
    target = dataclasses.replace(target, enable_password=Secret("En-Not-It-0000"))
    with pytest.raises(DeviceError) as err, open_cli(target):
        pass
    assert str(err.value) == "enable failed: the device refused the enable secret"
    assert "En-Not-It-0000" not in str(err.value)
    assert "<secret wrong>" in _lines(dev)
