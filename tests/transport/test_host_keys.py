"""SSH host keys checked like OpenSSH (issue 13): trust on first use, a changed key
refused before any password is sent, `opskit backup trust`, strict and off.

The test device logs every password and enable secret it receives, and makes a new host
key each time it starts: restarting it on the same ports is a device whose key changed
(or a man in the middle that took its address).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.backup.helpers import TD_CREDS, TD_ENV, opskit, write_inventory
from tests.lab.testdevice import TestDevice

RECEIVED_ALL = ["password for netops: correct", "enable secret: correct"]


def ssh_inventory(tmp_path: Path, dev: TestDevice, **ssh: Any) -> Path:
    device: dict[str, Any] = {"port": dev.ssh_port, "platform": "cisco_ios", "credentials": "td"}
    if ssh:
        device["ssh"] = ssh
    return write_inventory(tmp_path, {"core-r1": device}, credentials=TD_CREDS)


def backup(inv: Path) -> tuple[int, dict[str, Any]]:
    r = opskit(inv, "backup", "run", "--json", env=TD_ENV)
    (device,) = json.loads(r.stdout)["devices"]
    return r.returncode, device


def restart(dev: TestDevice, factory: Callable[..., TestDevice]) -> TestDevice:
    """The same device (address, ports, credentials) with a new host key."""
    dev.peer.stop()
    return factory(ports=(dev.ssh_port, dev.telnet_port))


def test_a_changed_key_is_refused_before_the_password_and_trust_accepts_it(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice]
) -> None:
    """`backup run` said ok and sent the password and enable secret to the new key."""
    dev = test_device_factory()
    inv = ssh_inventory(tmp_path, dev)
    code, result = backup(inv)
    assert (code, result["status"]) == (0, "ok"), result
    known_hosts = tmp_path / "state" / "known_hosts"
    old_key, old_fp = dev.host_key()
    assert known_hosts.read_text() == f"[127.0.0.1]:{dev.ssh_port} {old_key}\n"
    assert dev.secrets_received() == RECEIVED_ALL

    new = restart(dev, test_device_factory)
    new_key, new_fp = new.host_key()
    assert new_fp != old_fp
    code, result = backup(inv)
    assert code == 1
    assert result["reason"] == (
        f"host key changed: [127.0.0.1]:{dev.ssh_port} offers ssh-ed25519 {new_fp}, "
        f"{known_hosts} has ssh-ed25519 {old_fp}; not logged in (no password sent). "
        "If the device's key really changed, run `opskit backup trust core-r1`"
    )
    assert new.secrets_received() == []  # neither the password nor the enable secret
    assert known_hosts.read_text() == f"[127.0.0.1]:{dev.ssh_port} {old_key}\n"

    wrong = opskit(inv, "backup", "trust", "core-r1", "--fingerprint", old_fp)
    assert wrong.returncode == 1
    assert f"offers ssh-ed25519 {new_fp}, not {old_fp}; nothing written" in wrong.stderr
    assert known_hosts.read_text() == f"[127.0.0.1]:{dev.ssh_port} {old_key}\n"

    trusted = opskit(inv, "backup", "trust", "core-r1", "--fingerprint", new_fp)
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stdout == (
        f"core-r1: trusting [127.0.0.1]:{dev.ssh_port} ssh-ed25519 {new_fp} "
        f"(replacing {old_fp}) in {known_hosts}\n"
    )
    assert known_hosts.read_text() == f"[127.0.0.1]:{dev.ssh_port} {new_key}\n"
    assert new.secrets_received() == []  # trust does the key exchange only
    code, result = backup(inv)
    assert (code, result["status"]) == (0, "ok"), result
    assert new.secrets_received() == RECEIVED_ALL


def test_strict_accepts_only_keys_on_file(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice]
) -> None:
    dev = test_device_factory()
    preloaded = tmp_path / "ssh_known_hosts"
    other, _fp = test_device_factory().host_key()  # some other device's key
    preloaded.write_text(f"# the shop's own file\nother.example {other}\n")
    inv = ssh_inventory(tmp_path, dev, host_key_check="strict", known_hosts=str(preloaded))
    code, result = backup(inv)
    assert code == 1
    key, fp = dev.host_key()
    assert result["reason"] == (
        f"host key not known: [127.0.0.1]:{dev.ssh_port} offers ssh-ed25519 {fp}, which is "
        f"not in {preloaded} (ssh.host_key_check: strict); after checking it, run "
        "`opskit backup trust core-r1`"
    )
    assert dev.secrets_received() == []
    assert "[127.0.0.1]" not in preloaded.read_text()  # strict never writes

    # A shop pre-loads the key (as ssh-keyscan would write it): accepted, file untouched.
    preloaded.write_text(preloaded.read_text() + f"[127.0.0.1]:{dev.ssh_port} {key}\n")
    before = preloaded.read_text()
    code, result = backup(inv)
    assert (code, result["status"]) == (0, "ok"), result
    assert preloaded.read_text() == before
    assert not (tmp_path / "state" / "known_hosts").exists()


def test_off_is_warned_about_and_takes_any_key(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice]
) -> None:
    dev = test_device_factory()
    inv = ssh_inventory(tmp_path, dev, host_key_check="off")
    v = opskit(inv, "inventory", "validate")
    assert (
        "device 'core-r1': ssh.host_key_check off accepts any SSH host key (whoever answers "
        "in the device's place gets the password)"
    ) in v.stdout + v.stderr
    assert backup(inv)[0] == 0
    new = restart(dev, test_device_factory)
    assert backup(inv)[0] == 0
    assert new.secrets_received() == RECEIVED_ALL
    assert not (tmp_path / "state" / "known_hosts").exists()


def test_firmware_discovery_checks_the_key_too(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice]
) -> None:
    """Every login goes through the same check: `firmware check`'s `show version` here."""
    dev = test_device_factory()
    inv = ssh_inventory(tmp_path, dev)
    data = yaml.safe_load(inv.read_text())
    data["settings"]["firmware_catalog"] = "firmware.yaml"
    inv.write_text(yaml.safe_dump(data))
    (tmp_path / "firmware.yaml").write_text(
        "platforms:\n  cisco_ios:\n    releases: [{version: '15.4(3)M10'}]\n"
    )
    first = opskit(inv, "firmware", "check", "--json", env=TD_ENV)
    (found,) = json.loads(first.stdout)["devices"]
    assert (found["running"], found["source"]) == ("15.4(3)M10", "cli"), first.stderr
    assert (tmp_path / "state" / "known_hosts").exists()  # the first login remembered it

    new = restart(dev, test_device_factory)
    again = opskit(inv, "firmware", "check", "--json", env=TD_ENV)
    (found,) = json.loads(again.stdout)["devices"]
    assert "host key changed" in (found["error"] or ""), found
    assert new.secrets_received() == []


def test_exec_platforms_check_the_key_too(tmp_path: Path) -> None:
    """pfSense/OPNsense log in through their own SSH exec channels (`ssh_exec`): the same
    check, before the password."""
    import sys

    from opskit.lab import Peer, free_port, wait_until
    from opskit.lab.testdevice import DEFAULT_PASSWORD, DEFAULT_USER

    port = free_port()

    def start(n: int) -> tuple[Peer, Path]:
        auth = tmp_path / f"pfsense-{n}.auth"
        peer = Peer(
            [sys.executable, "-m", "opskit.lab.testdevice", "--platform", "pfsense",
             "--ssh-port", str(port), "--auth-log", str(auth)],
            tmp_path / f"pfsense-{n}.log",
        )  # fmt: skip
        wait_until(lambda: "READY" in peer.log_text() or not peer.alive(), what="pfsense")
        return peer, auth

    creds = {"lab": {"username": DEFAULT_USER, "password": DEFAULT_PASSWORD}}
    device = {"port": port, "platform": "pfsense", "credentials": "lab"}
    inv = write_inventory(tmp_path, {"fw1": device}, credentials=creds)
    peer, first_auth = start(1)
    try:
        code, result = backup(inv)
        assert (code, result["status"]) == (0, "ok"), result
        assert first_auth.read_text() == f"password for {DEFAULT_USER}: correct\n"
    finally:
        peer.stop()
    peer, auth = start(2)
    try:
        code, result = backup(inv)
        assert code == 1
        assert result["reason"].startswith(f"host key changed: [127.0.0.1]:{port} offers "), result
        assert not auth.exists() or auth.read_text() == ""  # no password reached it
    finally:
        peer.stop()
