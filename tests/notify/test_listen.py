"""`opskit backup listen`: real syslog senders (logger from bsdutils, a Python socket),
the test device, a real SMTP server; a burst gives one backup, a stranger none."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opskit.backup import run_backup
from opskit.inventory import load_inventory
from opskit.lab import Peer, free_port, wait_until
from opskit.lab.smtp import SmtpSink
from tests.backup.helpers import commit_count
from tests.lab.common import require_binary
from tests.lab.testdevice import TestDevice
from tests.lab.webhook import WebhookReceiver
from tests.notify.helpers import email_channel, write_inventory

TD_ENV = {"TD_PW": "Pw-Login-7731", "TD_EN": "En-Secret-4410"}
TD_CREDS = {"td": {"username": "netops", "password_env": "TD_PW", "enable_password_env": "TD_EN"}}
CONFIGURED = "%SYS-5-CONFIG_I: Configured from console by admin on vty0 (10.9.8.7)"


@dataclass
class Listening:
    """A running `opskit backup listen` process."""

    peer: Peer
    port: int
    inventory: Path

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(ln) for ln in self.peer.log_text().splitlines() if ln.startswith("{")]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["event"] == kind]

    def stop(self) -> dict[str, int]:
        self.peer.proc.send_signal(signal.SIGTERM)
        self.peer.proc.wait(60)
        (stopped,) = self.of("stopped")
        return dict(stopped["stats"])


@pytest.fixture
def td_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in TD_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def listening(
    tmp_path: Path,
    test_device: TestDevice,
    smtp_server: Callable[..., SmtpSink],
    td_env: None,
) -> Iterator[tuple[Listening, TestDevice, SmtpSink]]:
    """core-r1 backed up once; then `backup listen --json --tcp --quiet 2` on a free port."""
    smtp = smtp_server(tls=False)
    device = {"port": test_device.ssh_port, "credentials": "td", "backup": {"timeout": 10}}
    inv = write_inventory(
        tmp_path, [email_channel(smtp.port, None)], {"core-r1": device}, credentials=TD_CREDS
    )
    loaded = load_inventory(inv)
    assert run_backup(loaded, list(loaded.devices.values())).ok
    port = free_port(socket.SOCK_DGRAM)
    argv = [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "listen", "--json",
            "--syslog", f"127.0.0.1:{port}", "--quiet", "2", "--tcp"]  # fmt: skip
    peer = Peer(argv, tmp_path / "listen.log", cwd=tmp_path)
    wait_until(lambda: "syslog on 127.0.0.1" in peer.log_text() or not peer.alive(), 30)
    assert peer.alive(), peer.log_text()
    running = Listening(peer, port, inv)
    yield running, test_device, smtp
    peer.stop()


def send_logger(port: int, rfc: str, message: str) -> None:
    subprocess.run(
        [require_binary("logger"), "--udp", "--server", "127.0.0.1", "--port", str(port),
         f"--{rfc}", message],
        check=True, timeout=10,
    )  # fmt: skip


def send_python(port: int, rfc: str, message: str, source: str = "127.0.0.1",
                hostname: str = "core-r1") -> None:  # fmt: skip
    if rfc == "rfc5424":
        data = f"<189>1 2026-12-07T10:00:00.000Z {hostname} - - - - {message}"
    else:
        data = f"<189>Dec  7 10:00:00 {hostname} 42: {message}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.sendto(data.encode(), ("127.0.0.1", port))


@pytest.mark.parametrize("sender", ["logger", "python"])
@pytest.mark.parametrize("rfc", ["rfc3164", "rfc5424"])
def test_a_burst_of_changes_makes_one_backup_and_one_digest(
    listening: tuple[Listening, TestDevice, SmtpSink], sender: str, rfc: str
) -> None:
    lis, device, smtp = listening
    repo = lis.inventory.parent / "configs"
    before = commit_count(repo)
    device.set_mode("ok", description="changed by the listen test")
    send = send_logger if sender == "logger" else send_python
    for _ in range(10):
        send(lis.port, rfc, CONFIGURED)

    wait_until(lambda: bool(lis.of("backup")), 60, what="the backup after syslog")
    stats = lis.stop()

    assert stats["config_changes"] == 10 and stats["backups"] == 1, stats
    assert len(lis.of("change")) == 10 and lis.of("change")[0]["devices"] == ["core-r1"]
    assert commit_count(repo) == before + 1
    (backup,) = lis.of("backup")
    assert backup["result"]["backup"]["summary"]["changed"] == 1
    (mail,) = smtp.received
    body = mail.message.get_content()
    assert mail.message["Subject"] == "opskit: 1 config changed (lab: core-r1)"
    assert body.startswith("opskit backup listen (syslog) at ")
    assert "core-r1: configured by admin on vty0 (10.9.8.7)" in body
    assert "+ description changed by the listen test" in body.replace("\r\n", "\n")
    everything = lis.peer.log_text() + mail.raw.decode()
    for secret in (*device.secrets, device.password, device.enable_secret):
        assert secret not in everything


def test_hostname_strangers_other_messages_and_tcp(
    listening: tuple[Listening, TestDevice, SmtpSink],
) -> None:
    lis, device, smtp = listening
    repo = lis.inventory.parent / "configs"
    before = commit_count(repo)
    # a stranger: unknown address, unknown name -> counted, dropped, told once
    send_python(lis.port, "rfc5424", CONFIGURED, source="127.0.0.2", hostname="nobody")
    send_python(lis.port, "rfc3164", CONFIGURED, source="127.0.0.2", hostname="nobody")
    # the device's own other messages -> counted, dropped
    send_python(lis.port, "rfc3164", "%LINK-3-UPDOWN: Interface Gi0/1, changed state to up")
    with socket.create_connection(("127.0.0.1", lis.port), timeout=5) as tcp:
        frame = b"<189>1 - core-r1 - - - - %SYS-5-RELOAD: not a config change"
        tcp.sendall(str(len(frame)).encode() + b" " + frame + b"not syslog at all\n")
    wait_until(lambda: len(lis.of("unknown")) == 1, 20)
    # from another address, but naming itself core-r1 -> found by HOSTNAME
    device.set_mode("ok", description="found by hostname")
    send_python(lis.port, "rfc5424", CONFIGURED, source="127.0.0.3", hostname="core-r1")
    wait_until(lambda: bool(lis.of("backup")), 60, what="the backup after syslog")
    stats = lis.stop()

    assert stats["unknown_source"] == 2 and stats["other_messages"] == 2, stats
    assert stats["not_syslog"] == 1 and stats["config_changes"] == 1 and stats["backups"] == 1
    assert commit_count(repo) == before + 1
    assert len(smtp.received) == 1


def test_bad_listen_settings_are_input_errors(tmp_path: Path) -> None:
    from tests.conftest import run_opskit

    inv = write_inventory(tmp_path, [])
    text = inv.read_text().replace("settings:\n", "settings:\n  listen: {quiet: soon}\n")
    inv.write_text(text)
    result = run_opskit("-i", str(inv), "backup", "listen", "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["message"].endswith(
        "settings.listen.quiet must be a duration (30s)"
    )


def test_tftp_pushes_are_served_by_the_same_process(
    tmp_path: Path,
    test_device: TestDevice,
    td_env: None,
    webhook_receiver: Callable[..., WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.lab.tftp import hpa_put

    hook = webhook_receiver()
    monkeypatch.setenv("T_HOOK_URL", hook.url("/hook"))
    chat = {"name": "chat", "type": "webhook", "format": "slack", "url_env": "T_HOOK_URL"}
    tftp_port, syslog_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    device = {"port": test_device.ssh_port, "credentials": "td", "backup": {"timeout": 10}}
    settings = {"tftp": {"listen": f"127.0.0.1:{tftp_port}"}}
    inv = write_inventory(tmp_path, [chat], {"core-r1": device}, TD_CREDS, settings=settings)
    loaded = load_inventory(inv)
    assert run_backup(loaded, list(loaded.devices.values())).ok
    pushed = tmp_path / "core-r1-confg"
    stored = (tmp_path / "configs" / "lab" / "core-r1.cfg").read_text()
    pushed.write_text(stored.replace("hostname core-r1", "hostname core-r1\n! pushed"))
    argv = [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "listen", "--json",
            "--syslog", f"127.0.0.1:{syslog_port}", "--tftp"]  # fmt: skip
    peer = Peer(argv, tmp_path / "listen.log", cwd=tmp_path)
    lis = Listening(peer, syslog_port, inv)
    try:
        wait_until(lambda: "tftp on 127.0.0.1" in peer.log_text() or not peer.alive(), 30)
        assert hpa_put(tftp_port, pushed, "core-r1-confg").ok
        wait_until(lambda: bool(lis.of("tftp-notify")), 30)
        stats = lis.stop()
    finally:
        peer.stop()
    (event,) = lis.of("tftp")
    assert event["status"] == "ok" and event["device"] == "core-r1", event
    assert "! pushed" in (tmp_path / "configs" / "lab" / "core-r1.cfg").read_text()
    assert stats["received"] == 0
    # The pushed change is told like a backup run's: one digest with its diff.
    (sent,) = lis.of("tftp-notify")
    assert [d["channel"] for d in sent["sent"]] == ["chat"] and sent["ok"]
    (request,) = hook.received()
    text = json.loads(request.body)["text"]
    assert "\n+! pushed\n" in text
    assert "a config pushed by the device (backup listen) at " in text


def test_sighup_reloads_the_devices_listened_for_and_those_that_may_push(
    tmp_path: Path,
) -> None:
    from tests.lab.tftp import hpa_put

    tftp_port, syslog_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    settings = {"tftp": {"listen": f"127.0.0.1:{tftp_port}", "timeout": 1}}
    # Port 1: the backups a stop runs for pending devices fail at once (not under test).
    inv = write_inventory(tmp_path, [], {"r1": {"port": 1}}, settings=settings)
    first = inv.read_text()
    config = tmp_path / "r2-confg"
    config.write_text("!\nversion 15.4\nhostname r2\n!\ninterface Gi0/1\n description up\n!\nend\n")
    argv = [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "listen", "--json",
            "--syslog", f"127.0.0.1:{syslog_port}", "--quiet", "60", "--tftp"]  # fmt: skip
    peer = Peer(argv, tmp_path / "listen.log", cwd=tmp_path)
    lis = Listening(peer, syslog_port, inv)
    try:
        wait_until(lambda: "tftp on 127.0.0.1" in peer.log_text() or not peer.alive(), 30)
        send_python(syslog_port, "rfc5424", CONFIGURED, source="127.0.0.2", hostname="r2")
        wait_until(lambda: len(lis.of("unknown")) == 1, 20, what="r2 unknown")
        assert not hpa_put(tftp_port, config, "r2-confg").ok  # r2 may not push yet

        inv.write_text(first.replace("devices:\n", "devices:\n  r2: {site: lab, host: "
                                     "127.0.0.1, port: 1, platform: cisco_ios}\n"))  # fmt: skip
        peer.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: len(lis.of("reload")) == 1, 30, what="the reload")
        send_python(syslog_port, "rfc5424", CONFIGURED, source="127.0.0.2", hostname="r2")
        wait_until(lambda: len(lis.of("change")) == 1, 20, what="r2's change")
        assert hpa_put(tftp_port, config, "r2-confg").ok
        wait_until(lambda: len(lis.of("tftp")) == 2, 30, what="the push stored")

        inv.write_text(first.replace("devices:\n", "devices:\n  r3: {site: nowhere}\n"))
        peer.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: len(lis.of("reload")) == 2, 30, what="the refusal")
        send_python(syslog_port, "rfc5424", CONFIGURED, source="127.0.0.2", hostname="r2")
        wait_until(lambda: len(lis.of("change")) == 2, 20, what="r2 still known")
        stats = lis.stop()
    finally:
        peer.stop()
    assert peer.proc.returncode == 0
    reloaded, refused = (e["result"] for e in lis.of("reload"))
    assert reloaded == {"reloaded": True, "devices": 2, "error": None}
    assert refused["reloaded"] is False and refused["devices"] == 2
    assert "inventory.yaml:" in refused["error"] and "unknown site 'nowhere'" in refused["error"]
    assert [e["devices"] for e in lis.of("change")] == [["r2"], ["r2"]]
    refused_push, push = lis.of("tftp")
    assert refused_push["status"] == "refused" and refused_push["device"] is None, refused_push
    assert push["device"] == "r2" and push["status"] == "ok", push
    assert "hostname r2" in (tmp_path / "configs" / "lab" / "r2.cfg").read_text()
    assert stats["unknown_source"] == 1 and stats["config_changes"] == 2
