"""`opskit notify test` and `opskit notify status` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from opskit.lab import free_port
from opskit.lab.smtp import SmtpSink
from tests.conftest import run_opskit
from tests.notify.helpers import SECRETS, SMTP_PASSWORD, SMTP_USER, email_channel, write_inventory

ENV = {"T_SMTP_PW": SMTP_PASSWORD}


def test_notify_test_reports_what_each_server_answered(
    tmp_path: Path, smtp_server: Callable[..., SmtpSink]
) -> None:
    good = smtp_server(tls=True, auth=(SMTP_USER, SMTP_PASSWORD))
    cert = tmp_path / "tls" / "lab-cert.pem"
    channels = [
        email_channel(good.port, cert),
        {**email_channel(free_port(), None), "name": "dead"},
    ]
    inv = write_inventory(tmp_path, channels)

    human = run_opskit("-i", str(inv), "notify", "test", env=ENV)
    assert human.returncode == 1
    lines = human.stdout.splitlines()
    assert lines[0].startswith("mail (email): sent; the server answered: 250 2.0.0 Ok: queued")
    assert lines[1].startswith("dead (email): FAILED: notify channel 'dead': smtp 127.0.0.1:")
    assert good.received[0].message["Subject"] == "opskit: test message"

    one = run_opskit("-i", str(inv), "notify", "test", "mail", "--json", env=ENV)
    assert one.returncode == 0
    (sent,) = json.loads(one.stdout)["sent"]
    assert sent["channel"] == "mail" and sent["kind"] == "test" and sent["status"] == "sent"

    unknown = run_opskit("-i", str(inv), "notify", "test", "pager", "--json", env=ENV)
    assert unknown.returncode == 2
    assert (
        "no notify channel 'pager' (mail, dead)" in json.loads(unknown.stdout)["error"]["message"]
    )

    unset = run_opskit("-i", str(inv), "notify", "test", "mail")  # T_SMTP_PW not set
    assert unset.returncode == 1
    assert "smtp password comes from environment variable T_SMTP_PW, which is not set" in (
        unset.stdout
    )
    for out in (human.stdout, human.stderr, one.stdout, unset.stdout):
        for secret in SECRETS:
            assert secret not in out


def test_notify_status_shows_the_outbox(tmp_path: Path) -> None:
    from opskit.inventory import load_inventory
    from opskit.notify import notify_run
    from tests.notify.helpers import Result, Run

    inv = write_inventory(tmp_path, [email_channel(free_port(), None)])
    failed = Run(tmp_path / "configs", None, (Result("r1", status="failed", reason="timed out"),))
    assert notify_run(load_inventory(inv), failed).outbox == 1

    status = run_opskit("-i", str(inv), "notify", "status", "--json")
    assert status.returncode == 1
    data = json.loads(status.stdout)
    assert data["channels"][0]["failing"] == ["r1"] and data["channels"][0]["outbox"] == 1
    (waiting,) = data["outbox"]
    assert waiting["counts"] == {"changes": 0, "failures": 1, "recoveries": 0}
    assert "Connection refused" in waiting["last_error"]
    human = run_opskit("-i", str(inv), "notify", "status")
    assert (
        human.stdout.splitlines()[0]
        == "mail (email to netops@example.com): changes, failures, recoveries; told failing: r1"
    )
