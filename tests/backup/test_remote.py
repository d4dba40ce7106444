"""One history for many pollers: `backup run` pushes to `settings.backup_remote`.

Real peers: fake switches over SSH, pollers as real `opskit` processes, a bare git
repository as the remote (a local path: the same git push/fetch protocol as any URL).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from opskit.lab import Peer, wait_until
from tests.backup.cluster import (
    bare_remote,
    git,
    poller_inventory,
    reads_in,
    start_farm,
    switches,
    versions_per_file,
)
from tests.backup.helpers import opskit
from tests.lab.githttp import TOKEN, USER, GitHttp
from tests.lab.gitssh import GitSsh
from tests.lab.webhook import WebhookReceiver

SHARDS = ("a", "b", "c")
DEVICES_PER_SHARD = 50
ROUNDS = 3


def test_three_pollers_push_to_one_remote_at_once(tmp_path: Path) -> None:
    names = [f"dev-{i:03d}" for i in range(DEVICES_PER_SHARD * len(SHARDS))]
    farm = start_farm(tmp_path, names, processes=3)
    try:
        sws = switches(farm)
        remote = bare_remote(tmp_path / "remote.git")
        devices = {
            n: (sws[n], f"site-{SHARDS[i // DEVICES_PER_SHARD]}") for i, n in enumerate(names)
        }
        site_shards = {f"site-{s}": s for s in SHARDS}
        settings = {"backup_remote": str(remote), "workers": 16}
        inventories = {
            s: poller_inventory(tmp_path / f"poller-{s}", devices, settings, site_shards)
            for s in SHARDS
        }
        replayed = 0
        for _round in range(ROUNDS):
            procs = {
                s: subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "opskit",
                        "-i",
                        str(inv),
                        "backup",
                        "run",
                        "--shard",
                        s,
                        "--json",
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    stdin=subprocess.DEVNULL,
                )
                for s, inv in inventories.items()
            }
            for s, proc in procs.items():
                out, err = proc.communicate(timeout=240)
                assert proc.returncode == 0, f"poller {s}: {err}"
                report = json.loads(out)
                assert report["summary"]["ok"] == DEVICES_PER_SHARD
                assert report["push"]["ok"] and report["push"]["unpushed"] == 0
                replayed += report["push"]["replayed"]
    finally:
        for lab in farm:
            lab.stop()

    # (pushes that lost a race leave dangling objects on the remote: harmless, not errors)
    fsck = subprocess.run(["git", "-C", str(remote), "fsck", "--full", "--strict",
                           "--no-dangling"], capture_output=True, text=True)  # fmt: skip
    assert fsck.returncode == 0 and fsck.stdout == "", fsck.stdout + fsck.stderr
    # one commit per poller and round, none lost (a commit rewritten by a replay keeps its
    # files), and every device's config once per round, the last one read last
    assert int(git(remote, "rev-list", "--count", "main")) == ROUNDS * len(SHARDS)
    per_file = versions_per_file(remote)
    expected = {f"site-{SHARDS[i // DEVICES_PER_SHARD]}/{n}.cfg" for i, n in enumerate(names)}
    assert set(per_file) == expected
    assert set(per_file.values()) == {ROUNDS}
    assert {reads_in(remote, p) for p in expected} == {ROUNDS}
    for s, inv in inventories.items():
        status = json.loads(opskit(inv, "backup", "status", "--shard", s, "--json").stdout)
        assert status["remote"]["unpushed"] == 0 and status["remote"]["last_error"] is None
    print(f"{replayed} commits replayed after lost push races over {ROUNDS} rounds")


BLOCKING_HOOK = """#!/bin/sh
# Holds a push while the BLOCK file exists (up to 60 s), telling the test it is waiting.
if [ -e "{block}" ]; then
    touch "{waiting}"
    i=0
    while [ -e "{block}" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
    exit 1
fi
exit 0
"""


def test_a_commit_killed_before_its_push_is_pushed_by_the_next_run(tmp_path: Path) -> None:
    farm = start_farm(tmp_path, ["sw1", "sw2"], processes=1)
    try:
        sws = switches(farm)
        remote = bare_remote(tmp_path / "remote.git")
        block, waiting = tmp_path / "BLOCK", tmp_path / "WAITING"
        hook = remote / "hooks" / "pre-receive"
        hook.write_text(BLOCKING_HOOK.format(block=block, waiting=waiting))
        hook.chmod(0o755)
        inv = poller_inventory(
            tmp_path / "poller",
            {n: (sw, "lab") for n, sw in sws.items()},
            {"backup_remote": str(remote)},
        )
        assert opskit(inv, "backup", "run").returncode == 0
        pushed_before = git(remote, "rev-parse", "main").strip()

        block.touch()
        run = Peer([sys.executable, "-m", "opskit", "-i", str(inv), "backup", "run"],
                   tmp_path / "killed-run.log", cwd=inv.parent)  # fmt: skip
        try:
            wait_until(waiting.exists, timeout=120, what="the push to reach the remote's hook")
            local = git(inv.parent / "configs", "rev-parse", "main").strip()
            assert local != pushed_before  # committed here, not yet on the remote
            os.killpg(run.proc.pid, signal.SIGKILL)  # opskit, its git push, the hook
            run.proc.wait(10)
        finally:
            block.unlink()
            run.stop()
        assert run.proc.returncode == -signal.SIGKILL
        assert git(remote, "rev-parse", "main").strip() == pushed_before

        status = opskit(inv, "backup", "status", "--json")
        assert status.returncode == 1  # WARNING: a commit waits to be pushed
        assert json.loads(status.stdout)["remote"]["unpushed"] == 1

        again = opskit(inv, "backup", "run", "--json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["push"]["pushed"] == 2  # the killed run's and its own
    finally:
        for lab in farm:
            lab.stop()
    assert subprocess.run(["git", "-C", str(remote), "merge-base", "--is-ancestor", local,
                           "main"]).returncode == 0  # fmt: skip
    assert versions_per_file(remote) == {"lab/sw1.cfg": 3, "lab/sw2.cfg": 3}
    status = json.loads(opskit(inv, "backup", "status", "--json").stdout)
    assert status["remote"] == {**status["remote"], "unpushed": 0, "last_error": None}


def test_two_pollers_writing_one_device_stop_then_merge(tmp_path: Path) -> None:
    """Overlapping shards: the replay conflicts, the push stops with one line, nothing is
    lost, and the next run merges both histories."""
    farm = start_farm(tmp_path, ["sw1"], processes=1)
    try:
        sw = switches(farm)["sw1"]
        remote_path = tmp_path / "remote.git"
        away = tmp_path / "remote-away.git"
        bare_remote(remote_path)
        one, two = (
            poller_inventory(
                tmp_path / name, {"sw1": (sw, "lab")}, {"backup_remote": str(remote_path)}
            )
            for name in ("one", "two")
        )
        remote_path.rename(away)  # poller two cannot reach the remote: it commits only here
        first = opskit(two, "backup", "run", "--json")
        assert first.returncode == 1
        assert json.loads(first.stdout)["push"]["unpushed"] == 1
        away.rename(remote_path)
        assert opskit(one, "backup", "run").returncode == 0  # poller one stores sw1 first

        clash = opskit(two, "backup", "run")
        assert clash.returncode == 1
        lines = [ln for ln in clash.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "lab/sw1.cfg changed both here" in lines[0], clash.stderr
        local = git(tmp_path / "two" / "configs", "rev-parse", "main").strip()
        assert int(git(tmp_path / "two" / "configs", "rev-list", "--count", "main")) == 2

        merged = opskit(two, "backup", "run", "--json")
        assert merged.returncode == 0, merged.stderr
        assert json.loads(merged.stdout)["push"]["ok"]
    finally:
        for lab in farm:
            lab.stop()
    # both pollers' snapshots are in the history: 1 from poller one, 3 from poller two
    assert versions_per_file(remote_path)["lab/sw1.cfg"] == 4
    assert subprocess.run(["git", "-C", str(remote_path), "merge-base", "--is-ancestor",
                           local, "main"]).returncode == 0  # fmt: skip
    # the newest snapshot is the tree's: the switch's last read was poller two's last run
    assert reads_in(remote_path, "lab/sw1.cfg") == 4
    fsck = subprocess.run(["git", "-C", str(remote_path), "fsck", "--full", "--strict"],
                          capture_output=True, text=True)  # fmt: skip
    assert fsck.returncode == 0, fsck.stderr


def test_a_token_reaches_an_https_style_remote_and_nowhere_else(
    tmp_path: Path, git_http: GitHttp
) -> None:
    farm = start_farm(tmp_path, ["sw1"], processes=1)
    try:
        sw = switches(farm)["sw1"]
        bare_remote(git_http.root / "configs.git")
        inv = poller_inventory(
            tmp_path / "poller",
            {"sw1": (sw, "lab")},
            {"backup_remote": {"url": git_http.url("configs.git"), "credentials": "git"}},
            credentials={"git": {"username": USER, "password_env": "GIT_TOKEN"}},
        )
        good = opskit(inv, "backup", "run", "--json", env={"GIT_TOKEN": TOKEN})
        assert good.returncode == 0, good.stderr
        assert json.loads(good.stdout)["push"]["pushed"] == 1
        assert (401 in {s for _p, s in git_http.requests}) and git_http.requests[-1][1] == 200
        wrong = opskit(inv, "backup", "run", "--json", env={"GIT_TOKEN": "ghp_WrongToken_0000"})
        wrong_text = opskit(inv, "backup", "run", env={"GIT_TOKEN": "ghp_WrongToken_0000"})
        status = opskit(inv, "backup", "status", "--json", env={"GIT_TOKEN": TOKEN})
    finally:
        for lab in farm:
            lab.stop()
    push = json.loads(wrong.stdout)["push"]
    assert wrong.returncode == 1 and not push["ok"] and push["unpushed"] == 1
    assert "Authentication failed" in push["error"] and "\n" not in push["error"]
    assert wrong_text.returncode == 1 and len(wrong_text.stderr.strip().splitlines()) == 1
    assert json.loads(status.stdout)["remote"]["unpushed"] == 2
    # neither token anywhere: outputs, the repository's config and files, the state dir
    seen = [good.stdout, good.stderr, wrong.stdout, wrong.stderr, wrong_text.stderr, status.stdout]
    for path in (tmp_path / "poller").rglob("*"):
        if path.is_file() and "objects" not in path.parts:
            seen.append(path.read_text(errors="replace"))
    for text in seen:
        assert TOKEN not in text and "ghp_WrongToken_0000" not in text
    assert git(git_http.root / "configs.git", "rev-list", "--count", "main").strip() == "1"


def test_an_ssh_remote_with_a_deploy_key_trusts_its_host_key_on_first_use(
    tmp_path: Path, git_ssh: GitSsh
) -> None:
    farm = start_farm(tmp_path, ["sw1"], processes=1)
    try:
        devices = {"sw1": (switches(farm)["sw1"], "lab")}
        remote = bare_remote(git_ssh.root / "configs.git")

        def poller(key: Path) -> Path:
            spec = {"url": git_ssh.url("configs.git"), "ssh_key_file": str(key)}
            return poller_inventory(tmp_path / "poller", devices, {"backup_remote": spec})

        good = opskit(poller(git_ssh.key_file), "backup", "run", "--json")
        stranger = opskit(poller(git_ssh.other_key_file), "backup", "run", "--json")
        git_ssh.rotate_host_key()
        spoofed = opskit(poller(git_ssh.key_file), "backup", "run", "--json")
    finally:
        for lab in farm:
            lab.stop()
    assert good.returncode == 0, good.stdout
    assert json.loads(good.stdout)["push"]["pushed"] == 1
    known = tmp_path / "poller" / "state" / "git_known_hosts"
    assert [ln.split()[1] for ln in known.read_text().splitlines()] == ["ssh-ed25519"]
    for run, why in ((stranger, "Permission denied"), (spoofed, "Host key verification failed")):
        push = json.loads(run.stdout)["push"]
        assert run.returncode == 1 and not push["ok"], run.stderr
        assert why in push["error"] and "\n" not in push["error"], push["error"]
    assert json.loads(spoofed.stdout)["push"]["unpushed"] == 2
    assert git(remote, "rev-list", "--count", "main").strip() == "1"
    private = git_ssh.key_file.read_text().splitlines()[1]
    for run in (good, stranger, spoofed):
        assert private not in run.stdout + run.stderr


def test_a_failing_push_is_notified_once_and_its_recovery_once(
    tmp_path: Path, webhook_receiver: Callable[..., WebhookReceiver]
) -> None:
    hook = webhook_receiver()
    farm = start_farm(tmp_path, ["sw1"], processes=1)
    try:
        sw = switches(farm)["sw1"]
        remote_path, away = bare_remote(tmp_path / "remote.git"), tmp_path / "away.git"
        inv = poller_inventory(tmp_path / "p", {"sw1": (sw, "lab")},
                               {"backup_remote": str(remote_path)})  # fmt: skip
        with inv.open("a") as fh:
            fh.write("notify:\n- {name: chat, type: webhook, format: slack, url_env: T_HOOK}\n")
        env = {"T_HOOK": hook.url("/hook")}
        # (this farm's switches change a line on every read: each run has a change)
        assert opskit(inv, "backup", "run", env=env).returncode == 0
        remote_path.rename(away)
        for _ in range(2):  # the second failing run does not tell the failure again
            assert opskit(inv, "backup", "run", env=env).returncode == 1
        away.rename(remote_path)
        assert opskit(inv, "backup", "run", env=env).returncode == 0
    finally:
        for lab in farm:
            lab.stop()
    texts = [json.loads(r.body)["text"] for r in hook.received()]
    assert len(texts) == 4, texts
    assert "git/remote" not in texts[0]
    assert "1 backup failed (git: remote)" in texts[1]
    assert f"git/remote: push to {remote_path} failed: " in texts[1]
    assert "git/remote" not in texts[2]
    assert "1 recovered (git: remote)" in texts[3] and "git/remote: pushed again" in texts[3]
