"""`opskit backup run` against fake-switches over SSH and Telnet, end to end (CLI process)."""

from __future__ import annotations

import json
from pathlib import Path

from opskit.lab.fakeswitch import FakeSwitch
from tests.backup.helpers import commit_count, git, opskit, write_inventory


def change_description(sw: FakeSwitch, text: str) -> None:
    conn = sw.connect()
    try:
        conn.send_config_set(["interface FastEthernet0/2", f"description {text}"])
    finally:
        conn.disconnect()


def test_fake_switch_ssh_and_telnet(tmp_path: Path, fake_switch: FakeSwitch) -> None:
    inv = write_inventory(
        tmp_path,
        {
            "sw1": {"port": fake_switch.ssh_port, "platform": "cisco_ios", "credentials": "fake"},
            "sw1-telnet": {
                "port": fake_switch.telnet_port,
                "platform": "cisco_ios_telnet",
                "credentials": "fake",
            },
        },
    )
    repo = tmp_path / "configs"

    first = opskit(inv, "backup", "run", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert [(d["device"], d["method"], d["changed"]) for d in report["devices"]] == [
        ("sw1", "ssh", True),
        ("sw1-telnet", "telnet", True),
    ]
    assert first.stderr == ""
    for name in ("sw1", "sw1-telnet"):
        cfg = (repo / f"lab/{name}.cfg").read_text()
        assert "hostname sw1\n" in cfg and cfg.endswith("\nend\n")
        assert "enable secret 5 <removed>\n" in cfg
        assert "snmp-server community <removed> RO" in cfg
        assert "FakeSwRoCommunity" not in cfg
        for volatile in ("Building configuration", "Current configuration", "Last configuration",
                         "NVRAM config", "ntp clock-period"):  # fmt: skip
            assert volatile not in cfg
    assert commit_count(repo) == 1
    assert git(repo, "status", "--porcelain") == ""

    # Nothing changed on the switch (its clock-period and timestamps did): no commit.
    second = opskit(inv, "backup", "run", "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["commit"] is None
    assert commit_count(repo) == 1

    # A description set through the switch's CLI: exactly one new commit that shows it.
    change_description(fake_switch, "opskit-test-change")
    third = opskit(inv, "backup", "run", "--device", "sw1")
    assert third.returncode == 0, third.stderr
    assert third.stdout == ""  # quiet when not a terminal
    assert commit_count(repo) == 2
    show = git(repo, "show", "HEAD", "--", "lab/sw1.cfg")
    assert "+ description opskit-test-change" in show
    assert "sw1" in git(repo, "log", "-1", "--format=%s")

    diff = opskit(inv, "backup", "diff", "sw1")
    assert diff.returncode == 0
    assert "+ description opskit-test-change" in diff.stdout
    assert "\x1b[" not in diff.stdout  # plain when piped
    hist = opskit(inv, "backup", "history", "sw1")
    assert len(hist.stdout.strip().splitlines()) == 2
    old_rev = hist.stdout.strip().splitlines()[1].split()[0]
    shown = opskit(inv, "backup", "show", "sw1", "--rev", old_rev)
    assert shown.returncode == 0 and "opskit-test-change" not in shown.stdout
    assert "hostname sw1" in shown.stdout
    assert git(repo, "fsck", "--full").strip() == ""
