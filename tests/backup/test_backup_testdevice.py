"""Backups from the scriptable test device: misbehaviours, truncation, secrets, legacy SSH."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opskit.backup import run_backup
from opskit.inventory import load_inventory
from opskit.lab.testdevice import Options, canned_config, huge_config
from opskit.store.state import load_state
from tests.backup.helpers import TD_CREDS, TD_ENV, commit_count, git, opskit, write_inventory
from tests.lab.testdevice import TestDevice

ENV, CREDS = TD_ENV, TD_CREDS


def td_inventory(tmp_path: Path, dev: TestDevice, **extra: Any) -> Path:
    devices = {
        "core-r1": {
            "port": dev.ssh_port,
            "platform": "cisco_ios",
            "credentials": "td",
            "backup": {"timeout": 6},
            **extra,
        },
    }
    return write_inventory(tmp_path, devices, credentials=CREDS)


@pytest.fixture
def baseline(
    tmp_path: Path, test_device: TestDevice, td_env: None
) -> Iterator[tuple[Path, TestDevice]]:
    """An inventory whose device has one good backup stored already."""
    inv = td_inventory(tmp_path, test_device)
    report = run_backup(load_inventory(inv), list(load_inventory(inv).devices.values()))
    assert report.ok, report.results
    yield inv, test_device


MISBEHAVIOURS = [
    ("wrong-password", "login failed"),
    ("drop", "connection closed by the device in the middle of 'show running-config'"),
    ("hang", "timed out after 6 s"),
    ("invalid", "device answered with an error: % Invalid input detected"),
    ("empty", "empty output"),
    ("half", "no end marker 'end'"),
    ("bare-prompt", "only a prompt"),
]


@pytest.mark.parametrize(("mode", "reason"), MISBEHAVIOURS, ids=[m for m, _ in MISBEHAVIOURS])
def test_misbehaviour_leaves_stored_config_untouched(
    baseline: tuple[Path, TestDevice], mode: str, reason: str
) -> None:
    inv_path, dev = baseline
    repo = inv_path.parent / "configs"
    before_head = git(repo, "rev-parse", "HEAD")
    before_text = (repo / "lab/core-r1.cfg").read_text()
    good_time = load_state(inv_path.parent / "state")["core-r1"].last_good

    dev.set_mode(mode)
    inv = load_inventory(inv_path)
    report = run_backup(inv, list(inv.devices.values()))

    (result,) = report.results
    assert result.status == "failed"
    assert result.reason is not None and reason in result.reason, result.reason
    assert "\n" not in result.reason
    assert git(repo, "rev-parse", "HEAD") == before_head
    assert (repo / "lab/core-r1.cfg").read_text() == before_text
    state = load_state(inv_path.parent / "state")["core-r1"]
    assert state.last_status == "failed" and state.last_reason == result.reason
    assert state.last_good == good_time


def test_shrink_is_refused_unless_forced(baseline: tuple[Path, TestDevice]) -> None:
    inv_path, dev = baseline
    repo = inv_path.parent / "configs"
    small = inv_path.parent / "small.cfg"
    small.write_text("!\nversion 15.4\nhostname core-r1\n!\nend\n")
    dev.set_mode("ok", config=str(small))
    result = opskit(inv_path, "backup", "run", "--json", env=ENV)
    assert result.returncode == 1
    (dev_result,) = json.loads(result.stdout)["devices"]
    assert "shrank" in dev_result["reason"] and "--force" in dev_result["reason"]
    assert commit_count(repo) == 1
    forced = opskit(inv_path, "backup", "run", "--force", "core-r1", env=ENV)
    assert forced.returncode == 0, forced.stderr
    assert commit_count(repo) == 2
    assert (repo / "lab/core-r1.cfg").read_text().startswith("!\nversion 15.4\nhostname")


@pytest.mark.parametrize("method", ["ssh", "telnet"])
def test_one_megabyte_config_with_prompt_like_text_arrives_whole(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice], td_env: None, method: str
) -> None:
    dev = test_device_factory(mode="huge")
    port = dev.ssh_port if method == "ssh" else dev.telnet_port
    platform = "cisco_ios" if method == "ssh" else "cisco_ios_telnet"
    inv_path = write_inventory(
        tmp_path,
        {"core-r1": {"port": port, "platform": platform, "credentials": "td"}},
        credentials=CREDS,
    )
    inv = load_inventory(inv_path)
    report = run_backup(inv, list(inv.devices.values()))
    assert report.ok, report.results
    stored = (tmp_path / "configs/lab/core-r1.cfg").read_text()
    sent = huge_config(Options("core-r1", "", "", "", "ok", None, canned_config()), 1_000_000)
    assert len(stored) > 900_000
    assert stored.count("interface Vlan") == sent.count("interface Vlan")
    assert stored.endswith("\nend\n")
    assert "\ncore-r1#\ncore-r1>\n>\n" in stored  # the banner, whole


def test_no_secret_anywhere(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice], td_env: None
) -> None:
    good = test_device_factory()
    bad = test_device_factory(mode="wrong-password", hostname="core-r2")
    devices = {
        "core-r1": {"port": good.ssh_port, "platform": "cisco_ios", "credentials": "td"},
        "core-r1-telnet": {
            "port": good.telnet_port,
            "platform": "cisco_ios_telnet",
            "credentials": "td",
        },
        "core-r2": {"port": bad.ssh_port, "platform": "cisco_ios", "credentials": "td"},
    }
    inv = write_inventory(tmp_path, devices, credentials=CREDS)
    outputs = []
    for args in (("-vv", "backup", "run", "--json"), ("-vv", "backup", "run")):
        r = opskit(inv, *args, env=ENV)
        assert r.returncode == 1  # core-r2 refuses the login
        outputs += [r.stdout, r.stderr]
    report = json.loads(outputs[0])
    assert {d["device"]: d["status"] for d in report["devices"]} == {
        "core-r1": "ok",
        "core-r1-telnet": "ok",
        "core-r2": "failed",
    }
    for args in (("backup", "status", "--json"), ("backup", "show", "core-r1")):
        r = opskit(inv, *args, env=ENV)
        outputs += [r.stdout, r.stderr]
    repo = tmp_path / "configs"
    outputs.append(git(repo, "log", "-p", "--all"))
    for path in [*repo.rglob("*"), *(tmp_path / "state").rglob("*")]:
        if path.is_file() and ".git" not in path.parts:
            outputs.append(path.read_text(errors="replace"))
    everything = "\n".join(outputs)
    assert "enable secret 5 <removed>" in everything  # the config did arrive
    for secret in (*good.secrets, ENV["TD_PW"], ENV["TD_EN"]):
        assert secret not in everything, f"secret {secret!r} leaked"


def test_keep_secrets_keeps_them(tmp_path: Path, test_device: TestDevice, td_env: None) -> None:
    inv = td_inventory(tmp_path, test_device)
    r = opskit(inv, "backup", "run", "--keep-secrets", env=ENV)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "configs/lab/core-r1.cfg").read_text()
    assert "TdevRoCommunity" in text and "<removed>" not in text


def test_legacy_ssh_device(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice], td_env: None
) -> None:
    dev = test_device_factory(legacy=True)
    inv_path = td_inventory(tmp_path, dev)
    inv = load_inventory(inv_path)
    (result,) = run_backup(inv, list(inv.devices.values())).results
    assert result.status == "failed"
    assert result.reason is not None
    assert result.reason.startswith("SSH negotiation failed: no common key exchange")
    assert "diffie-hellman-group1-sha1" in result.reason  # what the device offers
    assert "\n" not in result.reason

    legacy = {
        "ssh": {
            "kex": ["diffie-hellman-group14-sha1"],
            "host_key_algorithms": ["ssh-rsa"],
            "ciphers": ["aes128-cbc"],
        }
    }
    inv = load_inventory(td_inventory(tmp_path, dev, **legacy))
    (result,) = run_backup(inv, list(inv.devices.values())).results
    assert result.status == "ok", result.reason
    stored = (tmp_path / "configs/lab/core-r1.cfg").read_text()
    assert re.search(r"^hostname core-r1$", stored, re.M)


def test_bad_input_exits_2(tmp_path: Path, test_device: TestDevice) -> None:
    inv = td_inventory(tmp_path, test_device)
    r = opskit(inv, "backup", "run", "--device", "nosuch", env=ENV)
    assert r.returncode == 2 and "no device 'nosuch'" in r.stderr
    r = opskit(inv, "backup", "status", "--max-age", "soon", env=ENV)
    assert r.returncode == 2
    assert not any(k in os.environ for k in ENV)
    r = opskit(inv, "backup", "run", "--json")
    assert r.returncode == 1  # the device fails with a clear reason; the run goes on
    assert "TD_PW" in json.loads(r.stdout)["devices"][0]["reason"]


def test_linux_server_files(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice], td_env: None
) -> None:
    root = tmp_path / "srv-root"
    (root / "etc/network").mkdir(parents=True)
    (root / "etc/network/interfaces").write_text(
        "auto wlan0\niface wlan0 inet dhcp\n    wpa-ssid office\n    wpa-psk LinuxWifiPsk9\n"
    )
    (root / "etc/nftables.conf").write_text("table inet filter {\n}\n")
    dev = test_device_factory(hostname="srv1", linux_root=root)
    inv_path = write_inventory(
        tmp_path,
        {
            "srv1": {
                "port": dev.ssh_port,
                "platform": "linux",
                "credentials": "td",
                "backup": {"files": ["/etc/network/interfaces", "/etc/nftables.conf", "/etc/gone"]},
            }
        },
        credentials=CREDS,
    )
    inv = load_inventory(inv_path)
    (result,) = run_backup(inv, list(inv.devices.values())).results
    assert result.ok, result.reason
    stored = (tmp_path / "configs/lab/srv1.cfg").read_text()
    assert "### FILE /etc/network/interfaces\nauto wlan0\n" in stored
    assert "    wpa-psk <removed>\n" in stored and "LinuxWifiPsk9" not in stored
    assert "### FILE /etc/nftables.conf\ntable inet filter {\n}\n### RC 0" in stored
    assert "cat: /etc/gone: No such file or directory\n### RC 1" in stored


def test_paged_output_is_read_whole(baseline: tuple[Path, TestDevice]) -> None:
    """A session where `terminal length 0` did not take: ` --More-- ` pages."""
    inv_path, dev = baseline
    repo = inv_path.parent / "configs"
    before = (repo / "lab/core-r1.cfg").read_text()
    dev.set_mode("paged")
    inv = load_inventory(inv_path)
    (result,) = run_backup(inv, list(inv.devices.values())).results
    assert result.ok, result.reason
    assert not result.changed  # the same config, without pager debris
    assert (repo / "lab/core-r1.cfg").read_text() == before
    assert commit_count(repo) == 1
