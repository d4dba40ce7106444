"""`opskit backup restore`: diff, the scrubbed-secret refusal, and real pushes to a fake
switch over TFTP (`copy tftp: running-config`) and SSH config mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opskit.backup.restore import RestorePlan, config_lines, scrubbed_lines
from opskit.lab.fakeswitch import FakeSwitch
from tests.conftest import run_opskit
from tests.lab.tftp import (
    assert_no_secrets,
    running_config,
    set_description,
    write_tftp_inventory,
)


def test_config_lines_drop_comments_headers_and_end():
    text = "Building configuration...\n\nCurrent configuration : 10 bytes\n!\nhostname r1\n"
    text += "interface Gi0/1\n description up\n!\nend\n"
    assert config_lines(text) == ["hostname r1", "interface Gi0/1", " description up"]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("hostname r1\nend\n", 0),
        ("enable secret 5 <removed>\nusername a secret 9 <removed>\n", 2),
        ("set system root-authentication encrypted-password <salted>\n", 1),
    ],
    ids=["clean", "scrubbed", "salted"],
)
def test_scrubbed_lines(text: str, count: int):
    assert scrubbed_lines(text) == count


def test_refusal_says_why_and_how_to_fix():
    plan = RestorePlan("r1", "lab/r1.cfg", "a" * 40, "tftp", "", 3, 10, "x")
    assert not plan.pushable
    assert "wipe" in plan.refusal() and "keep_secrets" in plan.refusal()
    assert plan.result("refused", plan.refusal()).ok is False


@pytest.mark.parametrize(("method", "via"), [("tftp", "telnet"), ("ssh", "ssh")])
def test_restore_round_trip(
    tftp_lab: tuple[FakeSwitch, int], tmp_path: Path, method: str, via: str
):
    sw, port = tftp_lab
    inv = write_tftp_inventory(tmp_path / "inventory.yaml", sw, port, via=via, keep_secrets=True)
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

    if method == "tftp":  # the prompt does not depend on the method: check it once
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
    assert "description known good uplink" in running_config(sw)


def test_restore_refuses_a_scrubbed_version(tftp_lab: tuple[FakeSwitch, int], tmp_path: Path):
    sw, port = tftp_lab
    inv = write_tftp_inventory(tmp_path / "inventory.yaml", sw, port, via="ssh")  # scrubbed
    assert run_opskit("-i", str(inv), "backup", "run").returncode == 0
    set_description(sw, "changed since")
    run = run_opskit("-i", str(inv), "backup", "restore", "sw1", "--yes")
    assert run.returncode == 2
    assert "secrets were scrubbed" in run.stderr and "wipe" in run.stderr
    assert "+ description" not in run.stdout or "changed since" in run.stdout
    assert "description changed since" in running_config(sw)  # untouched
