"""The classic TFTP flow end to end: `backup run` with method tftp, `tftp-serve`, restore.

A fake Cisco switch (fake-switches, `opskit.lab.fakeswitch`) really runs tftp-hpa's client
for `copy running-config tftp:` and `copy tftp: running-config`, against opskit's server.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opskit.lab import Peer, free_port, wait_until
from opskit.lab.fakeswitch import FakeSwitch, FakeSwitches
from tests.conftest import run_opskit

# Secrets of the fake switch's canned running-config: never in any output or the history.
FAKESW_SECRETS = ("FakeSwRoCommunity", "FAKESW094F471A1A0A", "FakeSwEnableHash0000")


def write_inventory(
    path: Path,
    sw: FakeSwitch,
    tftp_port: int,
    *,
    via: str = "telnet",
    address: str = "127.0.0.1",
    keep_secrets: bool = False,
    ping: bool = True,
) -> Path:
    port = sw.telnet_port if via == "telnet" else sw.ssh_port
    path.write_text(
        f"""
settings:
  backup_repo: configs
  tftp: {{listen: "127.0.0.1:{tftp_port}", address: "{address}", timeout: 1}}
credentials:
  lab: {{username: {sw.username}, password: {sw.password}, enable_password: {sw.enable_secret}}}
sites:
  lab: {{}}
devices:
  {sw.name}:
    site: lab
    host: 127.0.0.1
    port: {port}
    platform: cisco_ios
    credentials: lab
    backup:
      method: tftp
      via: {via}
      ping: {str(ping).lower()}
      keep_secrets: {str(keep_secrets).lower()}
      timeout: 40
"""
    )
    return path


@pytest.fixture
def tftp_lab(fake_switches: Callable[..., FakeSwitches], tmp_path: Path) -> tuple[FakeSwitch, int]:
    """One fake switch whose `copy ... tftp:` goes to a free UDP port (where opskit serves)."""
    port = free_port(socket.SOCK_DGRAM)
    return fake_switches(["sw1"], tftp_port=port)["sw1"], port


def cli(sw: FakeSwitch, via: str = "ssh") -> Any:
    from netmiko import ConnectHandler

    conn = ConnectHandler(
        device_type="cisco_ios_telnet" if via == "telnet" else "cisco_ios",
        host=sw.host,
        port=sw.telnet_port if via == "telnet" else sw.ssh_port,
        username=sw.username,
        password=sw.password,
        secret=sw.enable_secret,
        timeout=20,
    )
    conn.enable()
    return conn


def set_description(sw: FakeSwitch, text: str) -> None:
    conn = cli(sw)
    try:
        conn.send_config_set(["interface FastEthernet0/1", f"description {text}"])
    finally:
        conn.disconnect()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in FAKESW_SECRETS:
            assert secret not in text


@pytest.mark.parametrize("via", ["telnet", "ssh"])
def test_backup_run_with_tftp_method(tftp_lab: tuple[FakeSwitch, int], tmp_path: Path, via: str):
    sw, port = tftp_lab
    inv = write_inventory(tmp_path / "inventory.yaml", sw, port, via=via)
    run = run_opskit("-i", str(inv), "backup", "run", "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    (device,) = report["devices"]
    assert (device["method"], device["status"], device["changed"]) == ("tftp", "ok", True)
    stored = (tmp_path / "configs" / "lab" / "sw1.cfg").read_text()
    assert "hostname sw1" in stored and stored.rstrip().endswith("end")
    assert "enable secret 5 <removed>" in stored
    assert "! Last configuration change" not in stored  # cleaned like the SSH path
    assert_no_secrets(run.stdout, run.stderr, git(tmp_path / "configs", "log", "-p"))
    # Nothing left behind in the staging directory.
    assert list((tmp_path / ".opskit" / "tftp" / ".staging").iterdir()) == []
    # A second run: same config, no commit.
    again = run_opskit("-i", str(inv), "backup", "run", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["commit"] is None
    assert git(tmp_path / "configs", "rev-list", "--count", "HEAD").strip() == "1"


def test_preflight_ping_failure_stops_before_the_copy(
    tftp_lab: tuple[FakeSwitch, int], tmp_path: Path
):
    sw, port = tftp_lab
    # The router is told a (documentation) address it cannot ping; nothing is sent there:
    # the fake switch only pretends to ping.
    inv = write_inventory(tmp_path / "inventory.yaml", sw, port, via="ssh", address="192.0.2.10")
    run = run_opskit("-i", str(inv), "backup", "run", "--json")
    assert run.returncode == 1
    (device,) = json.loads(run.stdout)["devices"]
    assert device["status"] == "failed"
    assert (
        "preflight" in device["reason"]
        and "cannot ping the TFTP server 192.0.2.10" in (device["reason"])
    )


def push_from_switch(sw: FakeSwitch, name: str) -> str:
    """Drive the switch's CLI: `copy running-config tftp://127.0.0.1/<name>`, as a person
    would (pressing Enter at the host and file name questions)."""
    from opskit.backup.fetch_tftp import run_dialog
    from opskit.backup.profiles import Dialog

    dialog = Dialog(
        command=f"copy running-config tftp://127.0.0.1/{name}",
        prompts=(("remote host", ""), ("Destination filename", "")),
    )
    conn = cli(sw)
    try:
        return run_dialog(conn, dialog, "", "", 40, sw.name)
    finally:
        conn.disconnect()


def test_tftp_serve_commits_an_unsolicited_push_and_refuses_strangers(
    tftp_lab: tuple[FakeSwitch, int], tmp_path: Path
):
    sw, port = tftp_lab
    inv = write_inventory(tmp_path / "inventory.yaml", sw, port)
    log = tmp_path / "serve.log"
    serve = Peer(["python", "-m", "opskit", "-i", str(inv), "backup", "tftp-serve", "--json"], log)
    try:
        wait_until(lambda: "listening on 127.0.0.1" in serve.log_text(), what="tftp-serve")
        out = push_from_switch(sw, "sw1-confg")
        assert "bytes copied" in out, out
        wait_until(lambda: '"status": "ok"' in serve.log_text(), what="the commit")
        refused = push_from_switch(sw, "core-r9-confg")  # not a device of the inventory
        assert "%Error" in refused
        wait_until(lambda: '"status": "refused"' in serve.log_text(), what="the refusal")
    finally:
        serve.stop()
    assert serve.proc.returncode == 0  # SIGTERM: clean exit
    events = [json.loads(ln) for ln in serve.log_text().splitlines() if ln.startswith("{")]
    ok = [e for e in events if e["status"] == "ok"]
    assert len(ok) == 1 and ok[0]["device"] == "sw1" and ok[0]["changed"]
    assert ok[0]["commit"] == git(tmp_path / "configs", "rev-parse", "HEAD").strip()
    assert [e["name"] for e in events if e["status"] == "refused"] == ["core-r9-confg"]
    stored = (tmp_path / "configs" / "lab" / "sw1.cfg").read_text()
    assert "hostname sw1" in stored
    assert_no_secrets(serve.log_text(), git(tmp_path / "configs", "log", "-p"))


@pytest.mark.parametrize("method", ["tftp", "ssh"])
def test_restore_round_trip(tftp_lab: tuple[FakeSwitch, int], tmp_path: Path, method: str):
    sw, port = tftp_lab
    inv = write_inventory(tmp_path / "inventory.yaml", sw, port, via="ssh", keep_secrets=True)
    set_description(sw, "known good uplink")
    first = run_opskit("-i", str(inv), "backup", "run", "--json")
    assert first.returncode == 0, first.stderr
    good = json.loads(first.stdout)["commit"]
    set_description(sw, "oops wrong port")

    dry = run_opskit(
        "-i",
        str(inv),
        "backup",
        "restore",
        "sw1",
        "--rev",
        good[:8],
        "--method",
        method,
        "--dry-run",
        "--json",
    )
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["status"] == "dry-run"
    assert "- description oops wrong port" in plan["diff"]
    assert "+ description known good uplink" in plan["diff"]
    assert_no_secrets(dry.stdout, dry.stderr)  # the diff masks secret values

    unconfirmed = run_opskit("-i", str(inv), "backup", "restore", "sw1", "--method", method)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr

    pushed = run_opskit(
        "-i",
        str(inv),
        "backup",
        "restore",
        "sw1",
        "--rev",
        good,
        "--method",
        method,
        "--yes",
        "--json",
    )
    assert pushed.returncode == 0, pushed.stderr + pushed.stdout
    assert json.loads(pushed.stdout)["status"] == "pushed"
    # The device runs the stored version again: a backup finds nothing to commit.
    after = run_opskit("-i", str(inv), "backup", "run", "--json")
    assert json.loads(after.stdout)["commit"] is None, after.stdout
    conn = cli(sw)
    try:
        assert "description known good uplink" in conn.send_command("show running-config")
    finally:
        conn.disconnect()


def test_restore_refuses_a_scrubbed_version(tftp_lab: tuple[FakeSwitch, int], tmp_path: Path):
    sw, port = tftp_lab
    inv = write_inventory(tmp_path / "inventory.yaml", sw, port, via="ssh")  # scrubbed
    assert run_opskit("-i", str(inv), "backup", "run").returncode == 0
    set_description(sw, "changed since")
    run = run_opskit("-i", str(inv), "backup", "restore", "sw1", "--yes")
    assert run.returncode == 2
    assert "secrets were scrubbed" in run.stderr and "wipe" in run.stderr
    assert "+ description" not in run.stdout or "changed since" in run.stdout
    conn = cli(sw)
    try:  # untouched
        assert "description changed since" in conn.send_command("show running-config")
    finally:
        conn.disconnect()
