"""Every platform backed up end to end over SSH against opskit's lab device speaking its
dialect (opskit/lab/dialects/<os>.yaml), in one lab process serving one device per
platform:

login (enable, in-shell logins, console options) -> paging off -> fetch -> end check ->
clean -> scrub (every planted secret grepped for) -> a second read whose re-salted
secrets and timestamps differ makes no commit -> `show version` discovery reads the
dialect's version.

The stored config must equal tests/platforms/golden/<os>.cfg; `OPSKIT_UPDATE_GOLDEN=1`
rewrites the goldens (review the diff).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opskit.backup import BackupReport, run_backup
from opskit.firmware.discover import discover_devices
from opskit.firmware.state import Discovery
from opskit.inventory import load_inventory
from opskit.lab import Peer, wait_until
from opskit.lab.dialect import dialect_names, load_dialect
from opskit.lab.testdevice import DEFAULT_ENABLE, DEFAULT_PASSWORD, DEFAULT_USER
from opskit.platforms import backup_profile, family_names
from tests.backup.helpers import commit_count, git, write_inventory

GOLDEN = Path(__file__).parent / "golden"
PLATFORMS = dialect_names()


@dataclass
class Fleet:
    """One backup run, a second one, and a discovery over every dialect's device."""

    repo: Path
    first: BackupReport
    commits_after_first: int
    second: BackupReport
    commits_after_second: int
    discovered: dict[str, Discovery | str]
    lab_log: str
    history: str


def _devices(log: str) -> dict[str, int]:
    ports = {}
    for line in log.splitlines():
        if line.startswith("DEVICE "):
            _, platform, _host, ssh, _telnet = line.split()
            ports[platform] = int(ssh)
    return ports


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("dialects")
    argv = [sys.executable, "-m", "opskit.lab.testdevice", "--platform", "all"]
    peer = Peer(argv, tmp / "lab.log")
    try:
        wait_until(lambda: "READY" in peer.log_text() or not peer.alive(), timeout=60, what="lab")
        assert peer.alive(), peer.log_text()[-600:]
        ports = _devices(peer.log_text())
        creds = {
            "lab": {
                "username": DEFAULT_USER,
                "password": DEFAULT_PASSWORD,
                "enable_password": DEFAULT_ENABLE,
            }
        }
        devices: dict[str, dict[str, Any]] = {
            platform: {
                "port": port,
                "platform": platform,
                "credentials": "lab",
                "backup": {"timeout": 40},
            }
            for platform, port in ports.items()
        }
        inv_path = write_inventory(tmp, devices, credentials=creds, settings={"workers": 16})
        inv = load_inventory(inv_path)
        everything = list(inv.devices.values())
        repo = tmp / "configs"
        first = run_backup(inv, everything)
        after_first = commit_count(repo)
        second = run_backup(inv, everything)
        after_second = commit_count(repo)
        discovered = dict(discover_devices(inv, everything))
        yield Fleet(
            repo=repo,
            first=first,
            commits_after_first=after_first,
            second=second,
            commits_after_second=after_second,
            discovered=discovered,
            lab_log=peer.log_text(),
            history=git(repo, "log", "-p", "--all") if after_first else "",
        )
    finally:
        peer.stop()


def test_at_least_30_platforms_have_a_dialect_and_every_dialect_a_golden() -> None:
    assert len(PLATFORMS) >= 30
    missing = [p for p in PLATFORMS if not (GOLDEN / f"{p}.cfg").is_file()]
    if os.environ.get("OPSKIT_UPDATE_GOLDEN"):
        missing = []
    assert missing == []
    # every dialect serves a platform file's family that has a backup model
    for platform in PLATFORMS:
        assert platform in family_names(), platform
        assert backup_profile(platform) is not None, platform


@pytest.mark.parametrize("platform", PLATFORMS)
def test_backup_end_to_end(fleet: Fleet, platform: str) -> None:
    dialect = load_dialect(platform)
    (result,) = [r for r in fleet.first.results if r.device == platform]
    assert result.status == "ok", result.reason
    assert result.changed
    stored = (fleet.repo / "lab" / f"{platform}.cfg").read_text()
    # scrub: no planted secret in the stored file or anywhere in the history
    assert dialect.secrets, "a dialect plants secrets"
    for secret in dialect.secrets:
        assert secret not in stored, f"{platform}: {secret!r} stored"
        assert secret not in fleet.history, f"{platform}: {secret!r} in git history"
    assert "<removed>" in stored
    # paging was off (or there is no shell) when the config was asked for
    served = [ln for ln in fleet.lab_log.splitlines() if ln.startswith(f"served {platform} config")]
    assert served and all(ln.endswith(("paging=off", "exec")) for ln in served), served
    # clean: what is stored is the golden config, to the byte
    golden = GOLDEN / f"{platform}.cfg"
    if os.environ.get("OPSKIT_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(stored)
    assert stored == golden.read_text()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_second_read_with_new_salts_and_timestamps_is_no_change(
    fleet: Fleet, platform: str
) -> None:
    (result,) = [r for r in fleet.second.results if r.device == platform]
    assert result.status == "ok", result.reason
    assert not result.changed


def test_second_run_makes_no_commit(fleet: Fleet) -> None:
    assert fleet.commits_after_first == 1
    assert fleet.commits_after_second == fleet.commits_after_first
    assert fleet.second.commit is None


@pytest.mark.parametrize("platform", PLATFORMS)
def test_show_version_discovery(fleet: Fleet, platform: str) -> None:
    found = fleet.discovered[platform]
    assert isinstance(found, Discovery), found
    assert found.source == "cli"
    assert found.version == load_dialect(platform).version


def test_a_platform_without_tftp_push_says_so_before_any_login(tmp_path: Path) -> None:
    from opskit.lab import free_port

    devices = {
        "mx1": {
            "port": free_port(),  # nothing listens: the refusal comes before any login
            "platform": "juniper_junos",
            "credentials": "lab",
            "backup": {"method": "tftp"},
        }
    }
    creds = {"lab": {"username": "netops", "password": "Lab-Pw-2219"}}
    inv = load_inventory(write_inventory(tmp_path, devices, credentials=creds))
    (result,) = run_backup(inv, list(inv.devices.values())).results
    assert result.status == "failed"
    assert result.reason == (
        "juniper_junos cannot push its config to TFTP (no tftp_push in its platform file): "
        "back it up with method ssh"
    )
