"""The small state file behind `backup status`: last attempt and last good backup per device.

`<settings.state_dir>/backup-state.json`, rewritten atomically (temp file, fsync, replace)
under the repository lock, so a killed run leaves either the old or the new file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opskit.fileio import make_private_dir, write_atomic

log = logging.getLogger(__name__)

STATE_FILE = "backup-state.json"


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What is known about one device's backups (times are ISO 8601 UTC)."""

    device: str
    last_attempt: str | None = None
    last_status: str | None = None  # "ok" | "failed"
    last_reason: str | None = None
    last_good: str | None = None
    last_change: str | None = None
    last_commit: str | None = None
    path: str | None = None
    method: str | None = None
    bytes: int = 0


def state_path(state_dir: Path) -> Path:
    """Where the state file lives."""
    return Path(state_dir) / STATE_FILE


def load_state(state_dir: Path) -> dict[str, DeviceState]:
    """Every device's state; empty when there is no (readable) state file yet."""
    path = state_path(state_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable backup state %s: %s", path, exc)
        return {}
    fields = set(DeviceState.__dataclass_fields__)
    out: dict[str, DeviceState] = {}
    for name, entry in (data.get("devices") or {}).items():
        if isinstance(entry, dict):
            clean: dict[str, Any] = {k: v for k, v in entry.items() if k in fields}
            clean["device"] = name
            out[name] = DeviceState(**clean)
    return out


def save_state(state_dir: Path, states: dict[str, DeviceState]) -> None:
    """Write the whole state atomically."""
    payload = {
        "version": 1,
        "devices": {
            name: {k: v for k, v in asdict(s).items() if k != "device"}
            for name, s in sorted(states.items())
        },
    }
    make_private_dir(Path(state_dir))
    write_atomic(
        state_path(state_dir), json.dumps(payload, indent=1) + "\n", mode=0o600, sync_dir=True
    )
