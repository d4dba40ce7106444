"""Helpers for the backup tests: write an inventory, run the CLI, read the repo."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]

# The test device's credentials (opskit.lab.testdevice defaults), read from the
# environment as a shop would (`td_env` in tests/backup/conftest.py sets them).
TD_ENV = {"TD_PW": "Pw-Login-7731", "TD_EN": "En-Secret-4410"}
TD_CREDS = {"td": {"username": "netops", "password_env": "TD_PW", "enable_password_env": "TD_EN"}}


def write_inventory(
    tmp_path: Path,
    devices: Mapping[str, Mapping[str, Any]],
    credentials: Mapping[str, Mapping[str, Any]] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """An inventory with one site `lab`, the given devices and credential sets."""
    data = {
        "settings": {
            "backup_repo": "configs",
            "state_dir": "state",
            "timeouts": {"connect": 5, "command": 20},
            **(settings or {}),
        },
        "credentials": dict(
            credentials
            or {
                "fake": {"username": "admin", "password": "admin", "enable_password": "enablepw"},
            }
        ),
        "sites": {"lab": {}},
        "devices": {name: {"site": "lab", "host": "127.0.0.1", **d} for name, d in devices.items()},
    }
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def opskit(
    inventory: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`opskit -i INVENTORY ARGS...` as a real process (not a TTY: quiet mode)."""
    return subprocess.run(
        [sys.executable, "-m", "opskit", "-i", str(inventory), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=inventory.parent,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def git(repo: Path, *args: str) -> str:
    """Output of a git command in `repo`."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def commit_count(repo: Path) -> int:
    """Commits on main (0 before the first)."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "main"], capture_output=True, text=True
    )
    return int(proc.stdout.strip()) if proc.returncode == 0 else 0
