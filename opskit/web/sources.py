"""What the pages read that other parts of opskit wrote: where backup keeps a device's
config, its secret patterns (to scrub configs for display) and its state file.

Every use of `opskit.backup` by the web is in this module, so a move of those parts
changes one file here.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from opskit.inventory import Device


def config_path(device: Device) -> str:
    """The device's file in the backup repository (`<site>/<device>.cfg`)."""
    from opskit.store import device_path

    return device_path(device)


@cache
def _profiles(platform: str) -> tuple[Any, ...]:
    from opskit.platforms import load_profile, profile_name_for, profile_names

    if profile_name_for(platform) is not None:
        return (load_profile(platform),)
    # No profile for this platform (the file came from elsewhere): every rule we know.
    return tuple(load_profile(name) for name in profile_names())


def scrub_config(text: str, platform: str) -> str:
    """The config with every secret the platform's profile knows replaced by `<removed>`.

    Stored configs are scrubbed already unless the device keeps secrets
    (`backup.keep_secrets`, `--keep-secrets`); the pages scrub every config again, so
    what they show never depends on how it was stored.
    """
    from opskit.platforms.clean import scrub

    for profile in _profiles(platform):
        text = scrub(text, profile)
    return text


def backup_state_file(state_dir: Path) -> Path:
    """`backup-state.json`: last attempt and last good backup per device."""
    from opskit.store.state import state_path

    return state_path(state_dir)


class JsonFile:
    """A JSON state file, re-read only when its stat changes (many pages, one read)."""

    def __init__(self, path: Path, shape: Callable[[Any], Any] = lambda d: d) -> None:
        self.path = path
        self.shape = shape
        self._stamp: tuple[int, int, int] | None = None
        self._value: Any = shape({})
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The file's (shaped) content; `shape({})` when it is missing or unreadable."""
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._stamp or stamp is None:
                data: Any = {}
                if stamp is not None:
                    try:
                        data = json.loads(self.path.read_text(encoding="utf-8"))
                    except (OSError, ValueError):
                        data = {}
                self._value = self.shape(data if isinstance(data, dict) else {})
                self._stamp = stamp
            return self._value


def backup_states(data: Any) -> dict[str, dict[str, Any]]:
    """`backup-state.json`'s devices: name -> {last_attempt, last_status, last_good, ...}."""
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, dict):
        return {}
    return {str(k): dict(v) for k, v in devices.items() if isinstance(v, dict)}
