"""The classic TFTP flow end to end: `backup run` with method tftp, `tftp-serve`, restore.

A fake Cisco switch (fake-switches, `opskit.lab.fakeswitch`) really runs tftp-hpa's client
for `copy running-config tftp:` and `copy tftp: running-config`, against opskit's server.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from opskit.lab import Peer, free_port, wait_until
from opskit.lab.fakeswitch import FakeSwitch
from tests.conftest import run_opskit
from tests.lab.tftp import (
    LossyRelay,
    assert_no_secrets,
    git,
    hpa_put,
    push_from_switch,
    set_description,
    write_tftp_inventory,
)
from tests.lab.webhook import WebhookReceiver


@pytest.mark.parametrize("via", ["telnet", "ssh"])
def test_backup_run_with_tftp_method(tftp_lab: tuple[FakeSwitch, int], tmp_path: Path, via: str):
    sw, port = tftp_lab
    inv = write_tftp_inventory(tmp_path / "inventory.yaml", sw, port, via=via)
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
    inv = write_tftp_inventory(
        tmp_path / "inventory.yaml", sw, port, via="ssh", address="192.0.2.10"
    )
    run = run_opskit("-i", str(inv), "backup", "run", "--json")
    assert run.returncode == 1
    (device,) = json.loads(run.stdout)["devices"]
    assert device["status"] == "failed"
    assert (
        "preflight" in device["reason"]
        and "cannot ping the TFTP server 192.0.2.10" in (device["reason"])
    )


def test_tftp_serve_commits_an_unsolicited_push_and_refuses_strangers(
    tftp_lab: tuple[FakeSwitch, int], tmp_path: Path
):
    sw, port = tftp_lab
    inv = write_tftp_inventory(tmp_path / "inventory.yaml", sw, port)
    log = tmp_path / "serve.log"
    serve = Peer(
        [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "tftp-serve", "--json"], log
    )
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


def test_a_pushed_change_is_notified_like_a_backup_run(
    tftp_lab: tuple[FakeSwitch, int],
    tmp_path: Path,
    webhook_receiver: Callable[..., WebhookReceiver],
) -> None:
    sw, port = tftp_lab
    hook = webhook_receiver()
    inv = write_tftp_inventory(tmp_path / "inventory.yaml", sw, port)
    with inv.open("a") as fh:
        fh.write("notify:\n  - {name: chat, type: webhook, format: slack, url_env: T_HOOK_URL}\n")
    log = tmp_path / "serve.log"
    serve = Peer(
        [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "tftp-serve", "--json"],
        log,
        env={**os.environ, "T_HOOK_URL": hook.url("/hook/Xy9TokenZz42")},
    )
    try:
        wait_until(lambda: "listening on 127.0.0.1" in serve.log_text(), what="tftp-serve")
        assert "bytes copied" in push_from_switch(sw, "sw1-confg")  # the first version
        wait_until(lambda: len(hook.received()) == 1, what="the first digest", timeout=30)
        set_description(sw, "to core-r2 Gi0/48 (moved)")
        assert "bytes copied" in push_from_switch(sw, "sw1-confg")
        wait_until(lambda: len(hook.received()) == 2, what="the change's digest", timeout=30)
        assert "bytes copied" in push_from_switch(sw, "sw1-confg")  # nothing new
        wait_until(lambda: serve.log_text().count('"status": "ok"') == 3, what="3 pushes")
    finally:
        serve.stop()
    assert len(hook.received()) == 2  # an unchanged push says nothing
    text = json.loads(hook.received()[1].body)["text"]
    head = git(tmp_path / "configs", "rev-parse", "HEAD").strip()
    assert "sw1" in text and head[:10] in text
    assert "a config pushed by the device (tftp-serve) at " in text
    assert "+ description to core-r2 Gi0/48 (moved)" in text
    lines = [json.loads(ln) for ln in serve.log_text().splitlines() if ln.startswith("{")]
    notified = [ln for ln in lines if "notify" in ln]
    assert [n["device"] for n in notified] == ["sw1", "sw1"]
    assert all(n["notify"]["ok"] for n in notified)
    bodies = [r.body.decode() for r in hook.received()]
    assert_no_secrets(serve.log_text(), *bodies)
    assert all("Xy9TokenZz42" not in t for t in (serve.log_text(), *bodies))


def test_tftp_serve_finishes_a_transfer_in_flight_on_sigterm(tmp_path: Path):
    # No switch needed: the test pushes as sw1 (127.0.0.1) with tftp-hpa, through a relay
    # that slows each packet so SIGTERM surely lands mid-transfer.
    sw = FakeSwitch("sw1", ssh_port=1, telnet_port=2)  # never contacted
    port = free_port(socket.SOCK_DGRAM)
    inv = write_tftp_inventory(tmp_path / "inventory.yaml", sw, port)
    body = "".join(f"interface Vlan{i}\n description vlan {i}\n!\n" for i in range(1, 8000))
    config = tmp_path / "sw1-confg"
    config.write_text(f"!\nversion 15.2\nhostname sw1\n!\n{body}end\n")
    serve = Peer(
        [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "tftp-serve"],
        tmp_path / "serve.log",
    )
    try:
        wait_until(lambda: "listening on" in serve.log_text(), what="tftp-serve")
        with (
            LossyRelay(port, loss=0.0, delay=0.001) as relay,
            concurrent.futures.ThreadPoolExecutor(1) as pool,
        ):
            push = pool.submit(hpa_put, relay.port, config, "sw1-confg")
            wait_until(lambda: relay.passed[0] > 50, what="the transfer to start")
            serve.proc.terminate()
            result = push.result(120)
            assert serve.proc.wait(60) == 0
    finally:
        serve.stop()
    assert result.ok, result.output
    assert relay.passed[0] > 500  # the whole file went through after SIGTERM
    assert "sw1 'sw1-confg' from 127.0.0.1" in serve.log_text()
    assert "hostname sw1" in (tmp_path / "configs" / "lab" / "sw1.cfg").read_text()


def test_sighup_reloads_the_devices_that_may_push(tmp_path: Path) -> None:
    port = free_port(socket.SOCK_DGRAM)
    head = f"""\
settings:
  backup_repo: configs
  tftp: {{listen: "127.0.0.1:{port}", timeout: 1}}
sites:
  lab: {{}}
devices:
  r1: {{site: lab, host: 127.0.0.1, platform: cisco_ios}}
"""
    inv = tmp_path / "inventory.yaml"
    inv.write_text(head)
    config = tmp_path / "r2-confg"
    config.write_text("!\nversion 15.4\nhostname r2\n!\ninterface Gi0/1\n description up\n!\nend\n")
    serve = Peer(
        [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "tftp-serve"],
        tmp_path / "serve.log",
    )
    try:
        wait_until(lambda: "listening on 127.0.0.1" in serve.log_text(), what="tftp-serve")
        assert not hpa_put(port, config, "r2-confg").ok  # r2 is not in the inventory yet
        inv.write_text(head + "  r2: {site: lab, host: 127.0.0.1, platform: cisco_ios}\n")
        serve.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "inventory reloaded: 2 devices" in serve.log_text(), what="reload")
        assert hpa_put(port, config, "r2-confg").ok
        wait_until(lambda: "r2 'r2-confg' from 127.0.0.1: ok" in serve.log_text(), what="r2")
        inv.write_text(head + "  r3: {site: nowhere, platform: cisco_ios}\n")  # invalid
        serve.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "inventory not reloaded: " in serve.log_text(), what="refusal")
        assert hpa_put(port, config, "r2-confg").ok  # the old inventory is still in force
        wait_until(lambda: serve.log_text().count("r2 'r2-confg'") == 2, what="2nd push")
    finally:
        serve.stop()
    log = serve.log_text()
    assert serve.proc.returncode == 0
    (refusal,) = [ln for ln in log.splitlines() if "not reloaded" in ln]
    assert "inventory.yaml:8: device 'r3' names unknown site 'nowhere'" in refusal
    assert "hostname r2" in (tmp_path / "configs" / "lab" / "r2.cfg").read_text()
