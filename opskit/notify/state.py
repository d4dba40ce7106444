"""What notifications remember between runs, in `settings.state_dir`.

* `notify-state.json`: per channel, the devices reported as failing (since when, when last
  reported), so a failure is told once, again only after `repeat_after`, and a recovery
  once.
* `notify-outbox/`: one JSON file per message a channel could not take; retried (oldest
  first) on the next run. It holds the digest (diffs of stored, scrubbed configs) and the
  channel's name, never an address' password or a webhook URL.
* `notify.lock`: an flock, so `backup run` from cron and `backup listen` do not update
  the state at the same moment.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opskit.errors import DeviceError
from opskit.fileio import make_private_dir, write_atomic
from opskit.notify.digest import Digest

log = logging.getLogger(__name__)

STATE_FILE = "notify-state.json"
OUTBOX_DIR = "notify-outbox"
LOCK_FILE = "notify.lock"
OUTBOX_LIMIT = 100  # per channel: the oldest are dropped beyond (a channel dead for months)


@dataclass(frozen=True, slots=True)
class FailingDevice:
    """A device a channel was told is failing."""

    since: str
    reported: str
    reason: str


def parse_time(value: str) -> dt.datetime | None:
    """An ISO 8601 time from the state file (None when unreadable)."""
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def load_failing(state_dir: Path) -> dict[str, dict[str, FailingDevice]]:
    """channel -> device -> FailingDevice (empty when there is no readable state yet)."""
    path = Path(state_dir) / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable notify state %s: %s", path, exc)
        return {}
    out: dict[str, dict[str, FailingDevice]] = {}
    for channel, devices in (data.get("failing") or {}).items():
        if not isinstance(devices, dict):
            continue
        out[channel] = {}
        for device, entry in devices.items():
            if isinstance(entry, dict):
                out[channel][device] = FailingDevice(
                    since=str(entry.get("since", "")),
                    reported=str(entry.get("reported", "")),
                    reason=str(entry.get("reason", "")),
                )
    return out


def save_failing(state_dir: Path, failing: dict[str, dict[str, FailingDevice]]) -> None:
    """Write the whole failure state atomically."""
    payload = {
        "version": 1,
        "failing": {
            channel: {
                device: {"since": f.since, "reported": f.reported, "reason": f.reason}
                for device, f in sorted(devices.items())
            }
            for channel, devices in sorted(failing.items())
            if devices
        },
    }
    make_private_dir(Path(state_dir))  # the state directory: the owner's only
    write_atomic(
        Path(state_dir) / STATE_FILE,
        json.dumps(payload, indent=1) + "\n",
        mode=0o600,
        sync_dir=True,
    )


@contextlib.contextmanager
def state_lock(state_dir: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold the notify lock (wait up to `timeout` s).

    Raises:
        DeviceError: another opskit process held it all that time.
    """
    make_private_dir(Path(state_dir))
    fd = os.open(Path(state_dir) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DeviceError(
                        f"{state_dir}/{LOCK_FILE}: another opskit process is sending "
                        f"notifications; waited {timeout:.0f} s"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message waiting in the outbox."""

    path: Path
    channel: str
    digest: Digest
    queued: str
    attempts: int
    last_error: str


def outbox_dir(state_dir: Path) -> Path:
    """Where waiting messages are kept."""
    return Path(state_dir) / OUTBOX_DIR


def queue_message(
    state_dir: Path, channel: str, digest: Digest, error: str, attempts: int = 1
) -> Path:
    """Keep `digest` for `channel` in the outbox (mode 0600); returns its file."""
    folder = outbox_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = dt.datetime.now(dt.UTC)
    name = f"{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.json"
    path = folder / name
    payload = {
        "version": 1,
        "channel": channel,
        "queued": now.replace(microsecond=0).isoformat(),
        "attempts": attempts,
        "last_error": error,
        "digest": digest.to_dict(),
    }
    write_atomic(path, json.dumps(payload, indent=1) + "\n", mode=0o600, sync_dir=True)
    _trim(folder, channel)
    return path


def update_attempt(item: OutboxItem, error: str) -> None:
    """Record one more failed attempt of an outbox message."""
    payload = {
        "version": 1,
        "channel": item.channel,
        "queued": item.queued,
        "attempts": item.attempts + 1,
        "last_error": error,
        "digest": item.digest.to_dict(),
    }
    write_atomic(item.path, json.dumps(payload, indent=1) + "\n", mode=0o600)


def pending(state_dir: Path) -> list[OutboxItem]:
    """Every waiting message, oldest first (unreadable files are skipped with a warning)."""
    folder = outbox_dir(state_dir)
    if not folder.is_dir():
        return []
    items = []
    for path in sorted(folder.glob("*.json")):
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            items.append(
                OutboxItem(
                    path=path,
                    channel=str(data["channel"]),
                    digest=Digest.from_dict(data["digest"]),
                    queued=str(data.get("queued", "")),
                    attempts=int(data.get("attempts", 1)),
                    last_error=str(data.get("last_error", "")),
                )
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("skipping unreadable outbox message %s: %s", path, exc)
    return items


def _trim(folder: Path, channel: str) -> None:
    mine = [i for i in pending(folder.parent) if i.channel == channel]
    for item in mine[: max(0, len(mine) - OUTBOX_LIMIT)]:
        log.warning("outbox of %s is full: dropping the message of %s", channel, item.queued)
        with contextlib.suppress(FileNotFoundError):
            item.path.unlink()
