"""Channels against real peers: aiosmtpd (STARTTLS + AUTH, refusing) and an HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opskit.inventory import load_inventory
from opskit.lab.smtp import SmtpSink
from opskit.notify import notify_run, send_test
from opskit.notify.state import STATE_FILE, outbox_dir
from opskit.store.git import GitStore
from tests.lab.webhook import WebhookReceiver
from tests.notify.helpers import (
    HOOK_KEY,
    HOOK_TOKEN,
    SECRETS,
    SMTP_PASSWORD,
    SMTP_USER,
    Result,
    Run,
    email_channel,
    write_inventory,
)

OLD = "hostname r1\n" + "".join(f"interface Gi0/{i}\n description port {i}\n" for i in range(40))
NEW = OLD.replace("description port 7\n", "description uplink to core (changed)\n")


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SMTP_PW", SMTP_PASSWORD)
    monkeypatch.setenv("T_HOOK_KEY", HOOK_KEY)


def changed_run(tmp_path: Path, new: str = NEW) -> Run:
    """A real git repo with two versions of lab/r1.cfg; the run changed it."""
    store = GitStore(tmp_path / "configs")
    store.ensure()
    with store.lock():
        store.commit({"lab/r1.cfg": OLD}, "first")
        commit = store.commit({"lab/r1.cfg": new}, "second")
    return Run(store.root, commit, (Result("r1", changed=True, path="lab/r1.cfg"),))


@pytest.fixture
def receiver(
    webhook_receiver: Callable[..., WebhookReceiver], monkeypatch: pytest.MonkeyPatch
) -> WebhookReceiver:
    """A webhook receiver whose URL (with a token in its path) is in $T_HOOK_URL."""
    started = webhook_receiver()
    monkeypatch.setenv("T_HOOK_URL", started.url(f"/hooks/{HOOK_TOKEN}"))
    return started


def hook(receiver: WebhookReceiver, fmt: str, **extra: Any) -> dict[str, Any]:
    return {"name": f"hook-{fmt}", "type": "webhook", "format": fmt, "url_env": "T_HOOK_URL",
            **extra}  # fmt: skip


def no_secret(*texts: str | bytes) -> None:
    for text in texts:
        blob = text.decode(errors="replace") if isinstance(text, bytes) else text
        for secret in SECRETS:
            assert secret not in blob


def test_mail_over_starttls_with_auth(
    tmp_path: Path, smtp_server: Callable[..., SmtpSink], secrets_env: None
) -> None:
    server = smtp_server(tls=True, auth=(SMTP_USER, SMTP_PASSWORD))
    cert = tmp_path / "tls" / "lab-cert.pem"
    inv = load_inventory(write_inventory(tmp_path, [email_channel(server.port, cert)]))

    run = changed_run(tmp_path)
    report = notify_run(inv, run)

    (d,) = report.deliveries
    assert d.status == "sent" and d.answer == "250 2.0.0 Ok: queued as LAB0001", d
    (got,) = server.received
    assert got.login == SMTP_USER and got.rcpt_tos == ["netops@example.com"]
    msg = got.message
    assert msg["Subject"] == "opskit: 1 config changed (lab: r1)"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Precedence"] == "bulk"
    assert msg["X-Auto-Response-Suppress"] == "All"
    body = msg.get_content().replace("\r\n", "\n")
    assert "\n- description port 7\n+ description uplink to core (changed)\n" in body
    assert f"Commit {run.commit} (git -C {run.repo} show {run.commit})" in body
    assert msg["X-Opskit-Commit"] == run.commit
    no_secret(got.raw, json.dumps(report.to_dict()))


def test_wrong_password_and_refusing_server_are_one_line_failures(
    tmp_path: Path, smtp_server: Callable[..., SmtpSink], secrets_env: None
) -> None:
    picky = smtp_server(tls=True, auth=(SMTP_USER, "another-password"))
    refusing = smtp_server(tls=False, refuse=True)
    cert = tmp_path / "tls" / "lab-cert.pem"
    channels = [
        {**email_channel(picky.port, cert), "name": "picky"},
        {**email_channel(refusing.port, None), "name": "refusing"},
    ]
    inv = load_inventory(write_inventory(tmp_path, channels))
    report = send_test(inv)
    picky_d, refusing_d = report.deliveries
    assert picky_d.status == "failed" and "login as opskit refused: 535" in str(picky_d.error)
    assert refusing_d.status == "failed"
    assert "554 5.7.1 Message rejected" in str(refusing_d.error)
    assert not picky.received and not refusing.received
    no_secret(json.dumps(report.to_dict()))


@pytest.mark.parametrize("fmt", ["slack", "mattermost", "teams", "generic"])
def test_webhook_formats(
    tmp_path: Path,
    webhook_receiver: Callable[..., WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
    secrets_env: None,
    fmt: str,
) -> None:
    receiver = webhook_receiver()
    monkeypatch.setenv("T_HOOK_URL", receiver.url(f"/hooks/{HOOK_TOKEN}"))
    extra = {"secret_env": "T_HOOK_KEY"} if fmt == "generic" else {}
    inv = load_inventory(write_inventory(tmp_path, [hook(receiver, fmt, **extra)]))
    run = changed_run(tmp_path)

    report = notify_run(inv, run)

    assert [d.status for d in report.deliveries] == ["sent"], report
    (req,) = receiver.received()
    assert req.path == f"/hooks/{HOOK_TOKEN}"
    payload = json.loads(req.body)
    if fmt in ("slack", "mattermost"):
        text = payload["text"]
    elif fmt == "teams":
        card = payload["attachments"][0]["content"]
        assert card["type"] == "AdaptiveCard"
        text = card["body"][0]["text"] + "\n" + card["body"][1]["text"]
    else:
        text = payload["subject"] + "\n" + payload["text"]
        assert payload["commit"] == run.commit and payload["changes"][0]["device"] == "r1"
        want = "sha256=" + hmac.new(HOOK_KEY.encode(), req.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(req.headers["X-Opskit-Signature"], want)
    assert "opskit: 1 config changed (lab: r1)" in text
    assert "+ description uplink to core (changed)" in text
    no_secret(json.dumps(report.to_dict()))


@pytest.mark.parametrize(("fmt", "unit", "limit"), [
    ("slack", "characters", 40_000), ("mattermost", "characters", 16_383),
    ("teams", "bytes", 28 * 1024), ("generic", "bytes", 3000),
])  # fmt: skip
def test_a_big_diff_is_cut_at_a_line_within_the_limit(
    tmp_path: Path,
    webhook_receiver: Callable[..., WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    unit: str,
    limit: int,
) -> None:
    receiver = webhook_receiver()
    monkeypatch.setenv("T_HOOK_URL", receiver.url("/h"))
    extra = {"max_size": limit} if fmt == "generic" else {}
    inv = load_inventory(write_inventory(tmp_path, [hook(receiver, fmt, **extra)]))
    big = OLD + "".join(f"ip route 10.{i // 250}.{i % 250}.0 255.255.255.0 Null0\n"
                        for i in range(3000))  # fmt: skip
    run = changed_run(tmp_path, big)

    (d,) = notify_run(inv, run).deliveries
    assert d.status == "sent" and d.truncated
    (req,) = receiver.received()
    payload = json.loads(req.body)
    text = (
        payload["attachments"][0]["content"]["body"][1]["text"]
        if fmt == "teams"
        else payload["text"]
    )
    measured = len(payload["text"]) if unit == "characters" else len(req.body)
    assert limit - 200 < measured <= limit
    lines = text.rstrip("`\n").splitlines()
    assert lines[-1] == (
        f"[... cut: this channel takes {limit} {unit}; the whole change: "
        f"git -C {run.repo} show {run.commit}]"
    )
    # whole lines only: every diff line before the cut is a complete route
    routes = [ln for ln in lines if ln.startswith("+ip route")]
    assert routes and all(ln.endswith("Null0") for ln in routes)


def test_refused_webhook_is_queued_then_sent_next_run(
    tmp_path: Path,
    webhook_receiver: Callable[..., WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = webhook_receiver(status=403)
    monkeypatch.setenv("T_HOOK_URL", receiver.url(f"/hooks/{HOOK_TOKEN}"))
    inv_path = write_inventory(tmp_path, [hook(receiver, "slack")])
    inv = load_inventory(inv_path)
    run = changed_run(tmp_path)

    first = notify_run(inv, run)
    (d,) = first.deliveries
    assert d.status == "queued" and "answered HTTP 403" in str(d.error)
    assert first.outbox == 1 and not first.ok
    queued = list(outbox_dir(tmp_path / "state").iterdir())
    assert len(queued) == 1 and queued[0].stat().st_mode & 0o077 == 0
    no_secret(json.dumps(first.to_dict()), queued[0].read_text())

    receiver.status = 200
    quiet = Run(run.repo, None, (Result("r1"),))
    second = notify_run(inv, quiet)
    (retry,) = second.deliveries
    assert retry.kind == "retry" and retry.status == "sent" and second.ok
    assert second.outbox == 0 and not list(outbox_dir(tmp_path / "state").iterdir())
    assert len(receiver.received()) == 2
    assert "description uplink to core" in json.loads(receiver.received()[1].body)["text"]


def test_failure_told_once_repeated_after_repeat_after_then_recovery(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    inv = load_inventory(write_inventory(tmp_path, [hook(receiver, "generic")]))
    repo = tmp_path / "configs"
    failed = Run(repo, None, (Result("r1", status="failed", reason="login failed"),))
    good = Run(repo, None, (Result("r1"),))

    def told() -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in receiver.received()]

    notify_run(inv, failed)
    assert [p["subject"] for p in told()] == ["opskit: 1 backup failed (lab: r1)"]
    assert told()[0]["failures"][0]["reason"] == "login failed"
    assert notify_run(inv, failed).deliveries == ()  # no repeat on the next failing run
    assert len(told()) == 1

    state = tmp_path / "state" / STATE_FILE  # 25 hours later
    data = json.loads(state.read_text())
    data["failing"]["hook-generic"]["r1"]["reported"] = "2000-01-01T00:00:00+00:00"
    state.write_text(json.dumps(data))
    notify_run(inv, failed)
    assert told()[-1]["subject"] == "opskit: 1 still failing (lab: r1)"
    assert "still failing since" in told()[-1]["text"]

    notify_run(inv, good)
    assert told()[-1]["subject"] == "opskit: 1 recovered (lab: r1)"
    assert notify_run(inv, good).deliveries == ()  # told once
    assert len(told()) == 3


def test_nothing_changed_sends_nothing(tmp_path: Path, receiver: WebhookReceiver) -> None:
    inv = load_inventory(write_inventory(tmp_path, [hook(receiver, "slack")]))
    report = notify_run(inv, Run(tmp_path / "configs", None, (Result("r1"),)))
    assert report.deliveries == () and report.ok and receiver.received() == []


def test_sites_and_tags_filter_devices(tmp_path: Path, receiver: WebhookReceiver) -> None:
    channels = [
        hook(receiver, "generic", sites=["hq"]),
        {**hook(receiver, "generic", tags=["core"]), "name": "tagged"},
    ]
    devices = {"r1": {}, "r2": {"tags": ["core"]}}
    inv = load_inventory(write_inventory(tmp_path, channels, devices, sites=("lab", "hq")))
    run = Run(
        tmp_path / "configs",
        None,
        (Result("r1", status="failed", reason="x"), Result("r2", status="failed", reason="y")),
    )
    report = notify_run(inv, run)
    assert [(d.channel, d.subject) for d in report.deliveries] == [
        ("tagged", "opskit: 1 backup failed (lab: r2)")
    ]
