"""`opskit backup run` with notifications, end to end: the test device changed between
runs, a real SMTP server (STARTTLS + AUTH), a real webhook receiver."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opskit.lab import free_port
from opskit.lab.smtp import SmtpSink
from tests.backup.helpers import commit_count, opskit
from tests.lab.testdevice import TestDevice
from tests.lab.webhook import WebhookReceiver
from tests.notify.helpers import HOOK_TOKEN, SECRETS, SMTP_PASSWORD, email_channel, write_inventory

ENV = {
    "TD_PW": "Pw-Login-7731",
    "TD_EN": "En-Secret-4410",
    "T_SMTP_PW": SMTP_PASSWORD,
}
TD_CREDS = {"td": {"username": "netops", "password_env": "TD_PW", "enable_password_env": "TD_EN"}}


def inventory(
    tmp_path: Path, device: TestDevice, channels: list[dict[str, Any]], **backup: Any
) -> Path:
    dev = {"port": device.ssh_port, "credentials": "td", "backup": {"timeout": 10, **backup}}
    return write_inventory(tmp_path, channels, {"core-r1": dev}, credentials=TD_CREDS)


def run(inv: Path, env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    result = opskit(inv, "backup", "run", "--json", env=env)
    return result.returncode, json.loads(result.stdout), result.stderr


def assert_no_secret(device: TestDevice, *texts: str) -> None:
    for text in texts:
        for secret in (*device.secrets, device.password, device.enable_secret, *SECRETS):
            assert secret not in text


def state_files(tmp_path: Path) -> str:
    return "".join(p.read_text() for p in (tmp_path / "state").rglob("*") if p.is_file())


def test_one_digest_per_run_per_channel_with_the_diff(
    tmp_path: Path,
    test_device: TestDevice,
    smtp_server: Callable[..., SmtpSink],
    webhook_receiver: Callable[..., WebhookReceiver],
) -> None:
    smtp = smtp_server(tls=True, auth=("opskit", SMTP_PASSWORD))
    hook = webhook_receiver()
    cert = tmp_path / "tls" / "lab-cert.pem"
    channels = [
        email_channel(smtp.port, cert),
        {**email_channel(smtp.port, cert), "name": "small", "to": ["small@example.com"],
         "max_size": 500},
        {"name": "chat", "type": "webhook", "format": "slack", "url_env": "T_HOOK_URL"},
    ]  # fmt: skip
    inv = inventory(tmp_path, test_device, channels)
    env = {**ENV, "T_HOOK_URL": hook.url(f"/services/{HOOK_TOKEN}")}
    repo = tmp_path / "configs"

    code, first, _ = run(inv, env)  # the first backup: every line is new
    assert code == 0 and first["notify"]["ok"]
    assert [(s["channel"], s["status"]) for s in first["notify"]["sent"]] == [
        ("mail", "sent"), ("small", "sent"), ("chat", "sent")
    ]  # fmt: skip
    assert len(smtp.received) == 2 and len(hook.received()) == 1

    code, quiet, _ = run(inv, env)  # nothing changed: nothing sent
    assert code == 0 and quiet["notify"]["sent"] == []
    assert len(smtp.received) == 2 and len(hook.received()) == 1

    test_device.set_mode("ok", description="to core-r2 Gi0/48 (moved)")
    code, changed, stderr = run(inv, env)
    assert code == 0, stderr
    commit = changed["commit"]
    sent = {s["channel"]: s for s in changed["notify"]["sent"]}
    assert sent["mail"]["answer"].startswith("250 2.0.0 Ok: queued as LAB")
    assert sent["small"]["truncated"] and not sent["mail"]["truncated"]
    mails = {m.rcpt_tos[0]: m for m in smtp.received[2:]}
    assert set(mails) == {"netops@example.com", "small@example.com"}  # one each
    msg = mails["netops@example.com"].message
    assert msg["Subject"] == "opskit: 1 config changed (lab: core-r1)"
    assert (msg["Auto-Submitted"], msg["Precedence"], msg["X-Auto-Response-Suppress"]) == (
        "auto-generated", "bulk", "All"
    )  # fmt: skip
    body = msg.get_content().replace("\r\n", "\n")
    assert f"Commit {commit}" in body
    assert "\n+ description to core-r2 Gi0/48 (moved)\n" in body
    assert "\n- description " in body
    small = mails["small@example.com"].message.get_content().replace("\r\n", "\n")
    assert len(small.encode()) <= 500
    assert small.rstrip("\n").endswith(f"git -C {repo} show {commit}]")
    slack = json.loads(hook.received()[-1].body)["text"]
    assert "+ description to core-r2 Gi0/48 (moved)" in slack
    assert commit_count(repo) == 2

    everything = [json.dumps(x) for x in (first, quiet, changed)]
    everything += [m.raw.decode() for m in smtp.received]
    everything += [r.body.decode() for r in hook.received()]
    assert_no_secret(test_device, *everything, state_files(tmp_path))


def test_failure_once_then_recovery_once(
    tmp_path: Path, test_device: TestDevice, smtp_server: Callable[..., SmtpSink]
) -> None:
    smtp = smtp_server(tls=False)
    inv = inventory(tmp_path, test_device, [email_channel(smtp.port, None)])
    assert run(inv, ENV)[0] == 0
    test_device.set_mode("wrong-password")

    code, failed, _ = run(inv, ENV)
    assert code == 1 and failed["notify"]["ok"]
    assert smtp.received[-1].message["Subject"] == "opskit: 1 backup failed (lab: core-r1)"
    assert "lab/core-r1: " in smtp.received[-1].message.get_content()
    count = len(smtp.received)
    code, again, _ = run(inv, ENV)
    assert code == 1 and again["notify"]["sent"] == [] and len(smtp.received) == count

    test_device.set_mode("ok")
    code, _, _ = run(inv, ENV)
    assert code == 0
    assert smtp.received[-1].message["Subject"] == "opskit: 1 recovered (lab: core-r1)"
    assert run(inv, ENV)[1]["notify"]["sent"] == [] and len(smtp.received) == count + 1


def test_unreachable_smtp_keeps_the_commit_and_sends_next_run(
    tmp_path: Path, test_device: TestDevice
) -> None:
    from opskit.lab.smtp import SmtpSink

    port = free_port()  # nothing listens here yet
    inv = inventory(tmp_path, test_device, [email_channel(port, None)])
    repo = tmp_path / "configs"

    code, report, _ = run(inv, ENV)
    assert code == 1 and report["ok"] and commit_count(repo) == 1  # the backup stands
    (queued,) = report["notify"]["sent"]
    assert queued["status"] == "queued" and "Connection refused" in queued["error"]
    assert report["notify"]["outbox"] == 1
    human = opskit(inv, "backup", "run", env=ENV)  # cron's view: one line on stderr
    assert human.returncode == 1
    assert human.stderr.startswith("opskit: notify: mail: the message queued 20")
    assert "NOT sent, kept in the outbox for the next run" in human.stderr

    sink = SmtpSink(port).start()
    try:
        code, report, _ = run(inv, ENV)
    finally:
        sink.stop()
    assert code == 0 and report["notify"]["outbox"] == 0
    assert [s["kind"] for s in report["notify"]["sent"]] == ["retry"]
    assert len(sink.received) == 1  # the queued digest (the 2nd was never queued: no change)
    assert sink.received[0].message["Subject"] == "opskit: 1 config changed (lab: core-r1)"


def test_keep_secrets_device_diff_is_scrubbed(
    tmp_path: Path, test_device: TestDevice, smtp_server: Callable[..., SmtpSink]
) -> None:
    smtp = smtp_server(tls=False)
    inv = inventory(tmp_path, test_device, [email_channel(smtp.port, None)], keep_secrets=True)
    assert run(inv, ENV)[0] == 0
    stored = (tmp_path / "configs" / "lab" / "core-r1.cfg").read_text()
    assert "TdevTacacsKey01" in stored  # the repo keeps them, by request
    (mail,) = smtp.received
    body = mail.message.get_content()
    assert "<removed>" in body and "+enable secret 5 <removed>" in body
    assert_no_secret(test_device, mail.raw.decode())


def test_bad_notify_list_stops_before_any_fetch(tmp_path: Path, test_device: TestDevice) -> None:
    bad = {"name": "chat", "type": "webhook", "format": "irc", "url_env": "X"}
    inv = inventory(tmp_path, test_device, [bad])
    code, report, _ = run(inv, ENV)
    assert code == 2 and "format must be one of" in report["error"]["message"]
    assert report["error"]["message"].startswith("inventory.yaml:")
    assert commit_count(tmp_path / "configs") == 0


def test_changes_digest_names_new_and_fixed_hardening_findings(
    tmp_path: Path, test_device: TestDevice, smtp_server: Callable[..., SmtpSink]
) -> None:
    """A change that turns on the plain HTTP server is a "new finding" in the digest, and
    turning it off again is "fixed": the audit of the changed config rides in the mail."""
    smtp = smtp_server(tls=True, auth=("opskit", SMTP_PASSWORD))
    inv = inventory(
        tmp_path, test_device, [email_channel(smtp.port, tmp_path / "tls" / "lab-cert.pem")]
    )
    assert run(inv, ENV)[0] == 0
    # the description is the device's one variable line: a newline in it adds a global line
    test_device.set_mode("ok", description="web\nip http server")
    code, _, stderr = run(inv, ENV)
    assert code == 0, stderr
    body = smtp.received[-1].message.get_content().replace("\r\n", "\n")
    assert "    new finding: OPS-IOS-" in body and "(ip http server) at lab/core-r1.cfg:" in body
    test_device.set_mode("ok", description="web")
    assert run(inv, ENV)[0] == 0
    body = smtp.received[-1].message.get_content().replace("\r\n", "\n")
    assert "    fixed: OPS-IOS-" in body and "(ip http server)" in body
    assert_no_secret(test_device, *(m.raw.decode() for m in smtp.received))
