"""Helpers for the tests of many pollers: a farm of fake switches whose config changes on
every read, one inventory directory per poller, and a bare remote to read back."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from opskit.lab.fakeswitch import FakeSwitch, FakeSwitches, default_running_config

READS = re.compile(r"^snmp-server location reads-(\d+)$", re.MULTILINE)


def start_farm(tmp_path: Path, names: Sequence[str], processes: int) -> list[FakeSwitches]:
    """Fake switches (SSH only) spread over a few processes; each config holds a line
    `snmp-server location reads-N` that counts the reads of that switch's config."""
    template = tmp_path / "running-config.txt"
    template.write_text(
        default_running_config().replace(
            "snmp-server location lab rack 1", "snmp-server location reads-{reads}"
        )
    )
    per = -(-len(names) // processes)
    return [
        FakeSwitches(
            names[i : i + per], tmp_path / f"farm-{i}.log", running_config=template, telnet=False
        )
        for i in range(0, len(names), per)
    ]


def switches(farm: Sequence[FakeSwitches]) -> dict[str, FakeSwitch]:
    """Every switch of the farm by name."""
    return {name: sw for lab in farm for name, sw in lab.switches.items()}


def poller_inventory(
    directory: Path,
    devices: Mapping[str, tuple[FakeSwitch, str]],
    settings: Mapping[str, Any],
    site_shards: Mapping[str, str] | None = None,
    credentials: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """`directory/inventory.yaml` (its own local repo and state): devices by (switch, site)."""
    directory.mkdir(parents=True, exist_ok=True)
    sites = sorted({site for _sw, site in devices.values()})
    data = {
        "settings": {
            "backup_repo": "configs",
            "state_dir": "state",
            "timeouts": {"connect": 20, "command": 40},
            **settings,
        },
        "credentials": {
            "fake": {"username": "admin", "password": "admin", "enable_password": "enablepw"},
            **(credentials or {}),
        },
        "sites": {s: ({"shard": site_shards[s]} if site_shards else {}) for s in sites},
        "devices": {
            name: {
                "site": site,
                "host": "127.0.0.1",
                "port": sw.ssh_port,
                "platform": "cisco_ios",
                "credentials": "fake",
            }
            for name, (sw, site) in devices.items()
        },
    }
    path = directory / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def bare_remote(path: Path) -> Path:
    """An empty bare repository with branch main."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Output of a git command in `repo`."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=check
    ).stdout


def versions_per_file(repo: Path, ref: str = "main") -> Counter[str]:
    """How many commits changed each file (the remote's whole history)."""
    out = git(repo, "log", "--format=", "--name-only", ref)
    return Counter(line for line in out.splitlines() if line.strip())


def reads_in(repo: Path, path: str, ref: str = "main") -> int:
    """The reads counter of the stored config at `ref`."""
    m = READS.search(git(repo, "show", f"{ref}:{path}"))
    assert m, f"no reads line in {path}"
    return int(m.group(1))
