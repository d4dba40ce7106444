"""Backups under attack (issue 13): names that collide, a full disk, world-readable
repositories, configs that never end, secrets that look like ordinary words.

Each test reproduces the attack against real peers (the scriptable test device, a
fake switch for TFTP, a tmpfs that fills up) and checks what opskit did about it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opskit.backup import run_backup
from opskit.inventory import load_inventory
from opskit.inventory.names import backup_file_name
from opskit.lab.fakeswitch import FakeSwitch
from opskit.lab.peers import run_opskit_measured
from opskit.store.state import load_state
from tests.backup.helpers import TD_CREDS, TD_ENV, git, opskit, write_inventory
from tests.lab.testdevice import TestDevice
from tests.lab.tftp import write_tftp_inventory

ENV, CREDS = TD_ENV, TD_CREDS


def telnet_device(dev: TestDevice, **extra: object) -> dict[str, object]:
    return {"port": dev.telnet_port, "platform": "cisco_ios_telnet", "credentials": "td", **extra}


# --- 2 and 16: one file per device, whatever its name holds ------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [("schalter-ä1", "schalter-ö1"), ("a/b", "a_b"), ("a b", "a_b"), ("r1", ".r1"), ("x%41", "xA")],
)
def test_file_names_never_collide(a: str, b: str) -> None:
    assert backup_file_name("hq", a) != backup_file_name("hq", b)
    for name in (a, b):
        site, _, file = backup_file_name("hq", name).partition("/")
        assert site == "hq" and "/" not in file and not file.startswith(".")


def test_long_names_fit_a_file_name_and_stay_apart() -> None:
    a, b = "ä" * 200 + "1", "ä" * 200 + "2"
    paths = {backup_file_name("hq", n) for n in (a, b)}
    assert len(paths) == 2
    assert all(len(p.split("/")[1].encode()) <= 255 for p in paths)


def test_look_alike_names_keep_their_own_files_across_runs(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice]
) -> None:
    """`schalter-ä1`/`schalter-ö1` and `a b`/`a_b` used to share one file each, which
    flipped between the two configs on every run while both were reported ok."""
    sw_a = test_device_factory(hostname="sw-a")
    sw_b = test_device_factory(hostname="sw-b")
    devices = {
        "schalter-ä1": telnet_device(sw_a),
        "schalter-ö1": telnet_device(sw_b),
        "a b": telnet_device(sw_a),
        "a_b": telnet_device(sw_b),
    }
    inv = write_inventory(tmp_path, devices, credentials=CREDS)
    repo = tmp_path / "configs"
    seen: list[dict[str, str]] = []
    for _run in range(2):
        r = opskit(inv, "backup", "run", "--json", env=ENV)
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        paths = {d["device"]: d["path"] for d in report["devices"]}
        assert len(set(paths.values())) == 4
        seen.append({name: (repo / path).read_text() for name, path in paths.items()})
    first, second = seen
    assert first == second  # stable: the second run changed nothing
    assert json.loads(r.stdout)["commit"] is None
    for name, host in (("schalter-ä1", "sw-a"), ("schalter-ö1", "sw-b")):
        assert f"\nhostname {host}\n" in first[name]
    for name, host in (("a b", "sw-a"), ("a_b", "sw-b")):
        assert f"\nhostname {host}\n" in first[name]
    tracked = git(repo, "ls-files").splitlines()
    assert len(tracked) == 4


def test_tftp_method_device_named_with_dots(
    tftp_lab: tuple[FakeSwitch, int], tmp_path: Path
) -> None:
    """`branch r1/..` ended as `internal error: ValueError: cannot expect TFTP name`.

    `inventory validate` refuses such a name, so the device is renamed after loading: the
    mapping itself must hold whatever name reaches it.
    """
    sw, port = tftp_lab
    inv = load_inventory(write_tftp_inventory(tmp_path / "inventory.yaml", sw, port, ping=False))
    device = dataclasses.replace(inv.devices[sw.name], name="branch r1/..")
    (result,) = run_backup(inv, [device]).results
    assert result.ok, result.reason
    assert result.path == "lab/branch%20r1%2F...cfg"
    stored = (tmp_path / "configs" / result.path).read_text()
    assert "hostname sw1" in stored
    assert [p.name for p in (tmp_path / "configs" / "lab").iterdir()] == ["branch%20r1%2F...cfg"]


# --- 13: a config that never ends --------------------------------------------------------


@pytest.mark.parametrize("method", ["telnet", "ssh"])
def test_endless_config_stops_at_the_cap(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice], method: str
) -> None:
    """A device streaming forever ran 31 s and 130 MB (Telnet); now the read ends at
    `settings.max_config_size` with a one-line reason naming it, memory bounded."""

    dev = test_device_factory(mode="endless")
    port = dev.telnet_port if method == "telnet" else dev.ssh_port
    platform = "cisco_ios_telnet" if method == "telnet" else "cisco_ios"
    inv = write_inventory(
        tmp_path,
        {"core-r1": {"port": port, "platform": platform, "credentials": "td",
                     "backup": {"timeout": 120}}},
        credentials=CREDS,
        settings={"max_config_size": "4MiB"},
    )  # fmt: skip
    r, peak_kib = run_opskit_measured(
        ["-i", str(inv), "backup", "run", "--json"], cwd=tmp_path, env=ENV, timeout=150
    )
    assert r.returncode == 1, r.stderr
    (device,) = json.loads(r.stdout)["devices"]
    assert device["reason"] == (
        "config larger than settings.max_config_size (4 MiB): "
        "stopped reading 'show running-config' there"
    )
    assert peak_kib < 250 << 10, f"{peak_kib >> 10} MiB for a 4 MiB cap"
    state = load_state(tmp_path / "state")["core-r1"]
    assert state.last_status == "failed" and state.last_reason == device["reason"]


def test_deadline_during_an_endless_telnet_stream_is_a_timeout(
    tmp_path: Path, test_device_factory: Callable[..., TestDevice], td_env: None
) -> None:
    """The watchdog closing a Telnet session under a read once gave `internal error:
    AttributeError: 'NoneType' object has no attribute 'recv'`."""
    dev = test_device_factory(mode="endless")
    inv_path = write_inventory(
        tmp_path,
        {"core-r1": telnet_device(dev, backup={"timeout": 2})},
        credentials=CREDS,
        settings={"max_config_size": 1 << 30},
    )
    inv = load_inventory(inv_path)
    for _attempt in range(3):
        (result,) = run_backup(inv, list(inv.devices.values())).results
        assert result.reason is not None
        assert result.reason.startswith("timed out after 2 s waiting for 'show running-config'")


# --- 10: secrets masked where they are placed, not wherever they appear ------------------


def test_a_password_equal_to_the_user_name_is_not_masked_in_the_message(
    tmp_path: Path, test_device: TestDevice
) -> None:
    """`password: netops` for user `netops` turned the error into `user '**********'`,
    which says the password is the user name; `enable_password: "e"` starred every e."""
    creds = {
        "same": {"username": "netops", "password": "netops"},
        "short-enable": {"username": "netops", "password": ENV["TD_PW"], "enable_password": "e"},
    }
    devices = {
        "r-same": {"port": test_device.telnet_port, "platform": "cisco_ios_telnet",
                   "credentials": "same"},
        "r-enable": {"port": test_device.telnet_port, "platform": "cisco_ios_telnet",
                     "credentials": "short-enable"},
    }  # fmt: skip
    inv = write_inventory(tmp_path, devices, credentials=creds)
    r = opskit(inv, "backup", "run", "--json")
    assert r.returncode == 1, r.stderr
    reasons = {d["device"]: d["reason"] for d in json.loads(r.stdout)["devices"]}
    assert reasons == {
        "r-same": "login failed: authentication rejected for user 'netops'",
        "r-enable": "enable failed: the device refused the enable secret",
    }
    v = opskit(inv, "inventory", "validate")
    assert "credentials 'same': password is the same as the username" in v.stdout + v.stderr
    assert "'short-enable': enable_password is the same" not in v.stdout + v.stderr


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "big"])
def test_secret_files_are_read_bounded(tmp_path: Path, test_device: TestDevice, kind: str) -> None:
    """`password_file: /dev/zero` read until memory ran out; a FIFO hung the run."""
    import os

    if kind == "dev-zero":
        path = "/dev/zero"
    elif kind == "fifo":
        path = str(tmp_path / "pw.fifo")
        os.mkfifo(path)
    else:
        path = str(tmp_path / "pw.txt")
        Path(path).write_text("x" * (1 << 20))
    creds = {"td": {"username": "netops", "password_file": path}}
    inv = write_inventory(tmp_path, {"r1": telnet_device(test_device)}, credentials=creds)
    r = opskit(inv, "backup", "run", "--json", timeout=60)
    assert r.returncode == 1, r.stderr
    (device,) = json.loads(r.stdout)["devices"]
    why = {
        "dev-zero": "not a regular file",
        "fifo": "not a regular file",
        "big": "larger than 65536 bytes",
    }[kind]
    assert f"cannot read password file '{path}'" in device["reason"]
    assert why in device["reason"] and "\n" not in device["reason"]


# --- 7: configs kept with keep_secrets are the owner's only ------------------------------


def _open_to_others(root: Path) -> list[str]:
    """Files and directories under `root` (itself included) with group/other bits."""
    import os

    found = []
    for p in [root, *root.rglob("*")]:
        mode = os.lstat(p).st_mode & 0o777
        if not p.is_symlink() and mode & 0o077:
            found.append(f"{mode:o} {p.relative_to(root.parent)}")
    return found


def test_repository_and_state_are_private_whatever_the_umask(
    tmp_path: Path, test_device: TestDevice
) -> None:
    """With umask 022 a kept `snmp-server community` was world-readable (644 files, 444
    git objects, 755 directories)."""
    import os
    import subprocess
    import sys

    inv = write_inventory(
        tmp_path, {"core-r1": telnet_device(test_device, backup={"keep_secrets": True})},
        credentials=CREDS,
    )  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "run"],
        capture_output=True, text=True, env={**os.environ, **ENV}, cwd=tmp_path,
        timeout=120, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    repo, state = tmp_path / "configs", tmp_path / "state"
    assert "snmp-server community TdevRoCommunity" in (repo / "lab/core-r1.cfg").read_text()
    objects = [p for p in (repo / ".git/objects").rglob("*") if p.is_file()]
    assert len(objects) >= 3  # blob, trees, commit: checked below with the rest
    assert _open_to_others(repo) == [] and _open_to_others(state) == []
    assert "open to other users" not in r.stderr

    # A repository made before (or opened by hand) is named, with the fix.
    os.chmod(repo, 0o755)
    again = opskit(inv, "backup", "run", env=ENV)
    assert again.returncode == 0, again.stderr
    warnings = [ln for ln in again.stderr.splitlines() if "open to other users" in ln]
    assert warnings == [
        f"opskit: WARNING: opskit.backup.service: backup repository {repo} is open to other "
        f"users (mode 755) and may hold secrets (keep_secrets): chmod -R go-rwx {repo}"
    ]


# --- 5: a full disk during `backup run` --------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only; skipped where mount is refused)."""
    import shutil
    import subprocess

    mnt = tmp_path / "disk"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small disk to fill")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def _random_config(path: Path, size: int) -> None:
    import secrets

    lines = ["!", "version 15.4", "hostname core-r1", "!"]
    total = 0
    i = 0
    while total < size:
        block = f"interface Vlan{i}\n description {secrets.token_hex(40)}\n!"
        lines.append(block)
        total += len(block) + 1
        i += 1
    path.write_text("\n".join([*lines, "end", ""]))


@pytest.mark.parametrize("where", ["temp-file", "git-object"])
def test_full_disk_is_one_line_and_recorded(
    tmp_path: Path, test_device: TestDevice, small_disk: Path, where: str
) -> None:
    """It ended as `internal error: OSError: [Errno 28]`, and `backup status` then said
    `BACKUP OK ... last attempt ok`."""
    import os

    inv = write_inventory(
        tmp_path, {"core-r1": telnet_device(test_device)}, credentials=CREDS,
        settings={"backup_repo": "disk/configs", "state_dir": "disk/state"},
    )  # fmt: skip
    first = opskit(inv, "backup", "run", env=ENV)
    assert first.returncode == 0, first.stderr
    repo = small_disk / "configs"
    head = git(repo, "rev-parse", "HEAD")
    good = (repo / "lab/core-r1.cfg").read_text()

    st = os.statvfs(small_disk)
    free = st.f_bavail * st.f_frsize
    # bigger than the free space: the first temp file fails; else the temp file fits
    # and git's compressed object after it does not
    size = free + (512 << 10) if where == "temp-file" else int(free * 0.8)
    big = tmp_path / "big.cfg"
    _random_config(big, size)
    test_device.set_mode("ok", config=str(big))

    r = opskit(inv, "backup", "run", env=ENV)
    assert r.returncode == 1
    assert r.stdout == ""
    why = {
        "temp-file": "No space left on device",
        "git-object": "unable to write loose object file: No space left on device",
    }[where]
    assert r.stderr == f"opskit: backup: core-r1: cannot store in {repo}: {why}\n"
    # the history is whole and unchanged
    fsck = __import__("subprocess").run(
        ["git", "-C", str(repo), "fsck", "--full", "--strict"], capture_output=True, text=True
    )
    assert fsck.returncode == 0 and "error" not in fsck.stdout + fsck.stderr, fsck
    assert git(repo, "rev-parse", "HEAD") == head
    assert (repo / "lab/core-r1.cfg").read_text() == good
    # what this run wrote into the history was taken back
    st = os.statvfs(small_disk)
    assert st.f_bavail * st.f_frsize >= free - (64 << 10)

    status = opskit(inv, "backup", "status", "--json")
    assert status.returncode == 1  # WARNING, not OK
    (dev,) = json.loads(status.stdout)["devices"]
    assert dev["status"] == "WARNING" and dev["last_result"] == "failed"
    assert dev["reason"] == f"cannot store in {repo}: {why}"


def test_exec_platforms_stop_at_the_cap_too(tmp_path: Path) -> None:
    """pfSense/OPNsense configs come through SSH exec channels (`ssh_exec`): same cap."""
    import sys

    from opskit.lab import Peer, free_port, wait_until
    from opskit.lab.testdevice import DEFAULT_PASSWORD, DEFAULT_USER

    port = free_port()
    peer = Peer(
        [sys.executable, "-m", "opskit.lab.testdevice", "--platform", "pfsense",
         "--ssh-port", str(port)],
        tmp_path / "pfsense.log",
    )  # fmt: skip
    try:
        wait_until(lambda: "READY" in peer.log_text() or not peer.alive(), what="pfsense")
        inv = write_inventory(
            tmp_path,
            {"fw1": {"port": port, "platform": "pfsense", "credentials": "lab"}},
            credentials={"lab": {"username": DEFAULT_USER, "password": DEFAULT_PASSWORD}},
            settings={"max_config_size": 512},
        )
        r = opskit(inv, "backup", "run", "--json")
        assert r.returncode == 1, r.stderr
        (device,) = json.loads(r.stdout)["devices"]
        assert device["reason"].startswith(
            "config larger than settings.max_config_size (512 bytes): stopped reading 'cat "
        ), device["reason"]
    finally:
        peer.stop()
