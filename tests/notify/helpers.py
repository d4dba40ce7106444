"""Helpers for the notification tests: inventories with `notify:` channels, fake runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SMTP_USER, SMTP_PASSWORD = "opskit", "Smtp-Pw-9931-secret"
HOOK_TOKEN = "T0PSECRET/B0HOOK/Xy9TokenZz42"
HOOK_KEY = "Hmac-Key-7781-secret"
SECRETS = (SMTP_PASSWORD, HOOK_TOKEN, HOOK_KEY, "Xy9TokenZz42")


def write_inventory(
    tmp_path: Path,
    notify: Sequence[Mapping[str, Any]],
    devices: Mapping[str, Mapping[str, Any]] | None = None,
    credentials: Mapping[str, Mapping[str, Any]] | None = None,
    sites: Sequence[str] = ("lab",),
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """An inventory with the given channels (devices default to one `lab` site)."""
    data: dict[str, Any] = {
        "settings": {
            "backup_repo": "configs",
            "state_dir": "state",
            "timeouts": {"connect": 5, "command": 20},
            **(settings or {}),
        },
        "credentials": dict(credentials or {"none": {"username": "x"}}),
        "sites": {s: {} for s in sites},
        "devices": {
            name: {"site": sites[0], "host": "127.0.0.1", "platform": "cisco_ios", **d}
            for name, d in (devices or {"r1": {}}).items()
        },
        "notify": [dict(n) for n in notify],
    }
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def email_channel(port: int, ca_file: Path | None, **extra: Any) -> dict[str, Any]:
    """A `notify:` email entry for a lab SMTP server (STARTTLS + AUTH when ca_file)."""
    smtp: dict[str, Any] = {"host": "127.0.0.1", "port": port}
    if ca_file is not None:
        smtp.update(
            starttls=True, username=SMTP_USER, password_env="T_SMTP_PW", ca_file=str(ca_file)
        )
    return {
        "name": "mail",
        "type": "email",
        "to": ["netops@example.com"],
        "from": "opskit@example.com",
        "smtp": smtp,
        **extra,
    }


@dataclass(frozen=True)
class Result:
    """A device result shaped like opskit.backup.DeviceResult."""

    device: str
    site: str = "lab"
    status: str = "ok"
    reason: str | None = None
    changed: bool = False
    path: str | None = None


@dataclass(frozen=True)
class Run:
    """A run shaped like opskit.backup.BackupReport."""

    repo: Path
    commit: str | None = None
    results: tuple[Result, ...] = field(default_factory=tuple)
