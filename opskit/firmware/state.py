"""What opskit last discovered about each device's firmware, with when: a JSON file in
the inventory's `settings.state_dir` (`firmware.json`), written atomically under a lock
so two runs (cron and a technician) merge instead of losing each other's findings."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opskit.errors import InputError
from opskit.fileio import make_private_dir, write_atomic

STATE_FILE = "firmware.json"
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Discovery:
    """One successful discovery of a device's running version.

    Attributes:
        device: the inventory name.
        platform: the device's platform when it was discovered.
        version: the version string as the device gave it (None: it gave none).
        source: "snmp" or "cli".
        at: when (UTC).
        model: the model the device reported, if any.
        detected_platform: the platform the sysDescr looks like (may differ from the
            inventory's, e.g. an IOS-XE box entered as cisco_ios).
        detail: the text the version came from (first line of sysDescr, the command).
    """

    device: str
    platform: str
    version: str | None
    source: str
    at: dt.datetime
    model: str | None = None
    detected_platform: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (the state file's too)."""
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Discovery:
        """Inverse of to_dict."""
        at = dt.datetime.fromisoformat(str(data["at"]))
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        return cls(
            device=str(data["device"]),
            platform=str(data["platform"]),
            version=None if data.get("version") is None else str(data["version"]),
            source=str(data.get("source", "")),
            at=at,
            model=data.get("model"),
            detected_platform=data.get("detected_platform"),
            detail=str(data.get("detail", "")),
        )


def state_path(state_dir: Path) -> Path:
    """The state file inside a state directory."""
    return Path(state_dir) / STATE_FILE


def load_state(state_dir: Path) -> dict[str, Discovery]:
    """Read the remembered discoveries (empty when there are none yet).

    Raises:
        InputError: the file exists but is not a state file (names it).
    """
    path = state_path(state_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text)
        return {name: Discovery.from_dict(d) for name, d in data.get("devices", {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            f"{path}: not a firmware state file ({type(exc).__name__}: {exc}); "
            "move it away and run 'opskit firmware check' again"
        ) from None


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    import fcntl

    make_private_dir(state_dir)
    with open(state_dir / f"{STATE_FILE}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def save_discoveries(state_dir: Path, discoveries: Iterable[Discovery]) -> None:
    """Remember new discoveries, merged into what is on disk (newest wins per device)."""
    new = list(discoveries)
    if not new:
        return
    state_dir = Path(state_dir)
    with _locked(state_dir):
        current = load_state(state_dir)
        for d in new:
            old = current.get(d.device)
            if old is None or old.at <= d.at:
                current[d.device] = d
        payload = {
            "version": STATE_VERSION,
            "devices": {name: current[name].to_dict() for name in sorted(current)},
        }
        write_atomic(state_path(state_dir), json.dumps(payload, indent=2) + "\n", keep_mode=True)
