"""Reading the backup history: status (stale / failed), history, show and diff of a device."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opskit.backup.service import device_path, open_store
from opskit.errors import InputError
from opskit.inventory import Device, Inventory
from opskit.platforms import profile_name_for
from opskit.store.git import GitError, LogEntry
from opskit.store.remote import read_push_state, remote_url, unpushed_commits
from opskit.store.state import DeviceState, load_state

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

OK, WARNING, CRITICAL, UNKNOWN = "OK", "WARNING", "CRITICAL", "UNKNOWN"
EXIT = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3}


def parse_age(text: str) -> float:
    """Seconds in `30m`, `36h`, `2d`, `1w` (a bare number is seconds).

    Raises:
        InputError: not a duration.
    """
    m = _AGE.match(text)
    if not m:
        raise InputError(f"bad duration '{text}' (use e.g. 90m, 36h, 2d, 1w)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def backup_devices(inventory: Inventory, devices: Sequence[Device]) -> list[Device]:
    """The devices that have a backup profile and are not switched off (`backup.enabled`)."""
    return [
        d
        for d in devices
        if profile_name_for(d.platform) is not None
        and (d.backup or {}).get("enabled", True) is not False
        and d.host
    ]


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """`backup status` for one device."""

    device: str
    status: str  # OK / WARNING / CRITICAL
    last_good: str | None
    age_seconds: float | None
    last_attempt: str | None
    last_result: str | None
    reason: str | None
    path: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "device": self.device,
            "status": self.status,
            "last_good": self.last_good,
            "age_seconds": None if self.age_seconds is None else round(self.age_seconds),
            "last_attempt": self.last_attempt,
            "last_result": self.last_result,
            "reason": self.reason,
            "path": self.path,
        }


@dataclass(frozen=True, slots=True)
class RemoteStatus:
    """Where the history is pushed and what has not reached it yet."""

    url: str
    unpushed: int  # local commits the remote (as last fetched or pushed) lacks
    last_push: str | None  # when the last push was tried (ISO 8601 UTC)
    last_error: str | None  # its one-line error, None when it went through

    @property
    def status(self) -> str:
        """WARNING while commits wait to be pushed (a failed or interrupted push)."""
        return WARNING if self.unpushed or self.last_error else OK

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "url": self.url,
            "status": self.status,
            "unpushed": self.unpushed,
            "last_push": self.last_push,
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """`backup status` for a set of devices; `status` is the worst of them (and of the
    remote's, with one)."""

    devices: tuple[DeviceStatus, ...]
    max_age: float | None
    remote: RemoteStatus | None = None

    @property
    def status(self) -> str:
        """The worst device status (OK when there are no devices)."""
        order = [OK, WARNING, CRITICAL, UNKNOWN]
        statuses = [d.status for d in self.devices]
        if self.remote is not None:
            statuses.append(self.remote.status)
        return max(statuses, key=order.index, default=OK)

    @property
    def exit_code(self) -> int:
        """Nagios exit code of `status`."""
        return EXIT[self.status]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "status": self.status,
            "max_age_seconds": self.max_age,
            "devices": [d.to_dict() for d in self.devices],
            "remote": self.remote.to_dict() if self.remote else None,
        }


def _age(iso: str | None, now: dt.datetime) -> float | None:
    if not iso:
        return None
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return (now - t).total_seconds()


def backup_status(
    inventory: Inventory, devices: Sequence[Device], max_age: float | None = None
) -> StatusReport:
    """Per device: last good backup, last attempt and its reason; stale ones CRITICAL.

    A device whose last attempt failed, or that has no backup yet, is WARNING; with
    `max_age`, one whose last good backup is older (or that never had one) is CRITICAL.
    """
    states = load_state(inventory.settings.state_dir)
    now = dt.datetime.now(dt.UTC)
    out = []
    for d in devices:
        st = states.get(d.name, DeviceState(device=d.name))
        age = _age(st.last_good, now)
        status = OK
        # never backed up is not "OK": a device added to the inventory but never reached
        if st.last_status == "failed" or st.last_good is None:
            status = WARNING
        if max_age is not None and (age is None or age > max_age):
            status = CRITICAL
        out.append(
            DeviceStatus(
                device=d.name,
                status=status,
                last_good=st.last_good,
                age_seconds=age,
                last_attempt=st.last_attempt,
                last_result=st.last_status,
                reason=st.last_reason,
                path=device_path(d),
            )
        )
    return StatusReport(tuple(out), max_age, remote_status(inventory))


def remote_status(inventory: Inventory) -> RemoteStatus | None:
    """The push state of `settings.backup_remote` (None without one)."""
    spec = inventory.settings.backup_remote
    if spec is None:
        return None
    store = open_store(inventory)
    try:
        unpushed = unpushed_commits(store) if store.exists() else 0
    except GitError:
        unpushed = 0
    state = read_push_state(store) if store.exists() else {}
    return RemoteStatus(
        url=remote_url(spec, inventory.settings.base_dir),
        unpushed=unpushed,
        last_push=state.get("time"),
        last_error=state.get("error"),
    )


def history(inventory: Inventory, device: Device, limit: int = 50) -> list[LogEntry]:
    """The commits that changed the device's config, newest first."""
    return open_store(inventory).log(device_path(device), limit=limit)


def show_config(inventory: Inventory, device: Device, rev: str | None = None) -> str:
    """The device's stored config at `rev` (default: the latest).

    Raises:
        InputError: no backup of the device (at that revision), or an unknown revision.
    """
    store = open_store(inventory)
    path = device_path(device)
    if store.head() is None:
        raise InputError(f"no backups yet in {store.root}")
    try:
        commit = store.resolve(rev) if rev else store.head()
    except GitError as exc:
        raise InputError(str(exc)) from None
    text = store.read(path, commit)
    if text is None:
        where = f" at {rev}" if rev else ""
        raise InputError(f"no stored config for {device.name}{where} ({path})")
    return text


def diff_config(
    inventory: Inventory, device: Device, rev_a: str | None = None, rev_b: str | None = None
) -> str:
    """Unified diff of the device's config between two revisions.

    No revisions: the last change (the two newest commits that touched it); one revision:
    that one against the latest. An empty string means no difference.

    Raises:
        InputError: unknown revision, or fewer than two versions to compare.
    """
    store = open_store(inventory)
    path = device_path(device)
    try:
        if rev_a is None:
            entries = store.log(path, limit=2)
            if not entries:
                raise InputError(f"no stored config for {device.name} ({path})")
            if len(entries) < 2:
                # first version: diff against the empty tree
                empty = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
                return store.diff(path, empty, entries[0].commit)
            a, b = entries[1].commit, entries[0].commit
        else:
            a = store.resolve(rev_a)
            b = store.resolve(rev_b) if rev_b else store.resolve("HEAD")
        return store.diff(path, a, b)
    except GitError as exc:
        raise InputError(str(exc)) from None
