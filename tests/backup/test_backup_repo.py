"""The history itself: overlapping runs, kill -9 at any moment, locks, status, store_fetched."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from opskit.backup import store_fetched
from opskit.inventory import load_inventory
from opskit.lab.fakeswitch import FakeSwitch
from opskit.store.git import GitStore, RepoLocked
from opskit.store.state import load_state, save_state
from tests.backup.helpers import commit_count, git, opskit, write_inventory
from tests.lab.testdevice import TestDevice

ENV = {"TD_PW": "Pw-Login-7731", "TD_EN": "En-Secret-4410"}
CREDS = {
    "td": {"username": "netops", "password_env": "TD_PW", "enable_password_env": "TD_EN"},
    "fake": {"username": "admin", "password": "admin", "enable_password": "enablepw"},
}

COMMIT_LOOP = """
import sys
from opskit.store.git import GitStore
store = GitStore(sys.argv[1])
i = int(sys.argv[2])
while True:
    files = {f"site/d{k:02d}.cfg": f"version {i}\\n" + "x" * 2000 + "\\n" for k in range(40)}
    with store.lock(timeout=30):
        store.commit(files, f"v{i}")
    print(i, flush=True)
    i += 1
"""


def assert_repo_sound(repo: Path) -> None:
    fsck = subprocess.run(["git", "-C", str(repo), "fsck", "--full"], capture_output=True)
    assert fsck.returncode == 0, fsck.stderr
    assert b"error" not in fsck.stderr and b"missing" not in fsck.stderr


def test_kill_9_at_any_moment_keeps_history_valid(tmp_path: Path) -> None:
    repo = tmp_path / "configs"
    rng = random.Random(3)
    start = 0
    for _round in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", COMMIT_LOOP, str(repo), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        # let it complete one commit, then kill it at a random moment of the next ones
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the commit loop made no commit within 60 s"
        done = [int(proc.stdout.readline())]
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        done += [int(x) for x in out.split()]
        last_done = done[-1]
        assert_repo_sound(repo)
        store = GitStore(repo)
        head_files = store.read_many([f"site/d{k:02d}.cfg" for k in range(40)])
        versions = {t.split("\n", 1)[0] if t else None for t in head_files.values()}
        assert len(versions) == 1, versions  # every file from the same commit
        (version,) = versions
        # the last commit reported done is there (or a later one that completed)
        assert version is not None and int(version.split()[1]) >= last_done
        start = (int(version.split()[1]) + 1) if version else 0


def test_backup_run_killed_mid_way(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice], fake_switch: FakeSwitch
) -> None:
    dev: TestDevice = test_device_factory(mode="ok")
    big: TestDevice = test_device_factory(hostname="core-r9")
    big.set_mode("huge", size=300_000)
    sw = fake_switch
    devices = {
        "core-r1": {"port": dev.ssh_port, "platform": "cisco_ios", "credentials": "td"},
        "core-r9": {"port": big.ssh_port, "platform": "cisco_ios", "credentials": "td"},
        "sw1": {"port": sw.ssh_port, "platform": "cisco_ios", "credentials": "fake"},
    }
    inv = write_inventory(tmp_path, devices, credentials=CREDS)
    first = opskit(inv, "backup", "run", env=ENV)
    assert first.returncode == 0, first.stderr
    repo = tmp_path / "configs"
    before = {p: (repo / p).read_text() for p in ("lab/core-r1.cfg", "lab/sw1.cfg")}
    dev.set_mode("ok", description="changed before the crash")
    for delay in (0.4, 0.9, 1.4):
        proc = subprocess.Popen(
            [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "run"],
            env={**os.environ, **ENV},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert_repo_sound(repo)
        store = GitStore(repo)
        core = store.read("lab/core-r1.cfg")
        assert core == before["lab/core-r1.cfg"] or (
            core is not None and "changed before the crash" in core
        )
        assert store.read("lab/sw1.cfg") == before["lab/sw1.cfg"]
    final = opskit(inv, "backup", "run", env=ENV)
    assert final.returncode == 0, final.stderr
    assert "changed before the crash" in (repo / "lab/core-r1.cfg").read_text()
    assert git(repo, "status", "--porcelain") == ""
    json.loads((tmp_path / "state/backup-state.json").read_text())


def test_two_runs_at_once(tmp_path: Path, test_device: TestDevice, fake_switch: FakeSwitch) -> None:
    devices = {
        "core-r1": {"port": test_device.ssh_port, "platform": "cisco_ios", "credentials": "td"},
        "sw1": {"port": fake_switch.ssh_port, "platform": "cisco_ios", "credentials": "fake"},
    }
    inv = write_inventory(tmp_path, devices, credentials=CREDS)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "run", "--json"],
            env={**os.environ, **ENV},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    commits = [json.loads(o)["commit"] for o, _ in outs]
    assert sum(c is not None for c in commits) == 1  # the second found nothing new
    repo = tmp_path / "configs"
    assert commit_count(repo) == 1
    assert_repo_sound(repo)
    assert set(load_state(tmp_path / "state")) == {"core-r1", "sw1"}


def test_lock_wait_gives_a_clear_message(tmp_path: Path) -> None:
    inv = load_inventory(
        write_inventory(tmp_path, {"r1": {"platform": "cisco_ios", "credentials": "fake"}})
    )
    store = GitStore(inv.settings.backup_repo)
    text = "!\nversion 15.2\nhostname r1\nenable secret 5 $1$x$y\nend\n"
    with store.lock(), pytest.raises(RepoLocked) as err:
        store_fetched(inv, inv.devices["r1"], text, lock_timeout=0.5)
    assert f"pid {os.getpid()}" in str(err.value) and "waited" in str(err.value)


def test_store_fetched(tmp_path: Path) -> None:
    """The entry point the TFTP paths use: same checks, scrubbing and commit rules."""
    inv = load_inventory(
        write_inventory(tmp_path, {"r1": {"platform": "cisco_ios", "credentials": "fake"}})
    )
    dev = inv.devices["r1"]
    text = (
        "\n!\n! Last configuration change at 10:00:00 UTC Mon Mar 4 2024\n!\nversion 15.2\n"
        "hostname r1\nenable secret 5 $1$abc$XYZ\nsnmp-server community Sekrit RO\nend\n"
    )
    first = store_fetched(inv, dev, text)
    assert first.ok and first.changed and first.commit and first.method == "tftp"
    stored = (tmp_path / "configs/lab/r1.cfg").read_text()
    assert "Sekrit" not in stored and "snmp-server community <removed> RO" in stored
    assert "Last configuration change" not in stored
    # only the volatile line differs: not a change
    noise = text.replace("10:00:00", "11:11:11")
    again = store_fetched(inv, dev, noise)
    assert again.ok and not again.changed and again.commit is None
    bad = store_fetched(inv, dev, "% Invalid input detected at '^' marker.\n")
    assert not bad.ok and bad.reason is not None and "Invalid input" in bad.reason
    assert commit_count(tmp_path / "configs") == 1
    assert load_state(tmp_path / "state")["r1"].last_status == "failed"


def test_router_pushed_config_keeps_lines_before_its_first_bang(tmp_path: Path) -> None:
    """A pushed file has no `Building configuration` header: nothing above `!` is cut."""
    inv = load_inventory(
        write_inventory(tmp_path, {"r1": {"platform": "cisco_ios", "credentials": "fake"}})
    )
    text = (
        "version 15.2\nservice timestamps debug datetime msec\nservice password-encryption\n"
        "!\nhostname r1\n!\nend\n"
    )
    first = store_fetched(inv, inv.devices["r1"], text)
    assert first.ok and first.commit, first.reason
    shown = git(tmp_path / "configs", "show", f"{first.commit}:lab/r1.cfg")
    assert shown.startswith("version 15.2\nservice timestamps debug datetime msec\n")
    # stored again (as it is now), nothing is lost and nothing changes
    again = store_fetched(inv, inv.devices["r1"], shown)
    assert again.ok and not again.changed


def test_status_max_age(tmp_path: Path, test_device: TestDevice) -> None:
    devices = {
        "core-r1": {"port": test_device.ssh_port, "platform": "cisco_ios", "credentials": "td"},
        "never": {"port": 9, "platform": "cisco_ios", "credentials": "td"},
    }
    inv = write_inventory(tmp_path, devices, credentials=CREDS)
    run = opskit(inv, "backup", "run", "--device", "core-r1", env=ENV)
    assert run.returncode == 0, run.stderr

    ok = opskit(inv, "backup", "status", "--device", "core-r1", "--max-age", "2d")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("BACKUP OK")
    never = opskit(inv, "backup", "status", "--max-age", "2d", "--json")
    assert never.returncode == 2
    statuses = {d["device"]: d["status"] for d in json.loads(never.stdout)["devices"]}
    assert statuses == {"core-r1": "OK", "never": "CRITICAL"}
    # Without --max-age a device that was never backed up is a WARNING, not OK.
    unseen = opskit(inv, "backup", "status", "--device", "never")
    assert unseen.returncode == 1
    assert unseen.stdout.startswith("BACKUP WARNING: 1 device, 0 stale, 0 failed last time")
    assert "1 never backed up" in unseen.stdout.splitlines()[0]

    state_dir = tmp_path / "state"
    states = load_state(state_dir)
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    states["core-r1"] = replace(states["core-r1"], last_good=old)
    save_state(state_dir, states)
    stale = opskit(inv, "backup", "status", "--device", "core-r1", "--max-age", "2d")
    assert stale.returncode == 2 and stale.stdout.startswith("BACKUP CRITICAL")
    assert "3d ago" in stale.stdout
    assert opskit(inv, "backup", "status", "--device", "core-r1", "--max-age", "4d").returncode == 0

    test_device.set_mode("invalid")
    failed = opskit(inv, "backup", "run", "--device", "core-r1", env=ENV)
    assert failed.returncode == 1 and "Invalid input" in failed.stderr
    warn = opskit(inv, "backup", "status", "--device", "core-r1")
    assert warn.returncode == 1 and "WARNING" in warn.stdout and "Invalid input" in warn.stdout
