"""The last results of `monitor check` and `firmware check`, kept for the web pages.

Each check writes what it found to `<state_dir>/last-<kind>.json` (`kind` is `monitor` or
`firmware`), atomically and under a lock, merged per device: a run for one device
replaces that device's entry and keeps the others, so `monitor check --device sw1` by
hand does not empty the health page. Entries of devices no longer in the inventory are
dropped. Each device entry is the command's own `--json` entry plus `checked_at`.

The web server only reads these files; it polls nothing itself.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KINDS = ("monitor", "firmware")
NAGIOS = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
CODES = {name: code for code, name in NAGIOS.items()}
# "worst of": OK < WARNING < UNKNOWN < CRITICAL (as monitor and firmware rank them)
SEVERITY = {0: 0, 1: 1, 3: 2, 2: 3}


def last_run_path(state_dir: Path, kind: str) -> Path:
    """Where the last results of `kind` are kept."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return Path(state_dir) / f"last-{kind}.json"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def entry_code(entry: Mapping[str, Any]) -> int:
    """A device entry's Nagios code: its `exit_code`, else its status name's."""
    code = entry.get("exit_code")
    if isinstance(code, int) and code in NAGIOS:
        return code
    return CODES.get(str(entry.get("status", "")).upper(), 3)


def record_last_run(
    state_dir: Path, kind: str, report: Mapping[str, Any], known: Collection[str]
) -> None:
    """Merge a check's `--json` report into the kind's last-results file.

    Args:
        state_dir: `settings.state_dir`.
        kind: `monitor` or `firmware`.
        report: the command's JSON report (with `devices`: entries naming `device`).
        known: the inventory's device names (others are dropped).

    Raises:
        OSError: the file cannot be written (the caller warns and goes on).
    """
    from opskit.fileio import make_private_dir, write_atomic

    path = last_run_path(state_dir, kind)
    make_private_dir(path.parent)  # the state directory: the owner's only
    lock = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two checks at once: neither loses the other's
        devices = read_last_run(state_dir, kind).get("devices", {})
        now = _now()
        for entry in report.get("devices") or ():
            if isinstance(entry, Mapping) and entry.get("device"):
                devices[str(entry["device"])] = {**entry, "checked_at": now}
        payload = {
            "kind": kind,
            "updated_at": now,
            "last_run": {
                "at": now,
                "status": report.get("status"),
                "exit_code": report.get("exit_code"),
                "devices": len(report.get("devices") or ()),
            },
            "devices": {name: e for name, e in sorted(devices.items()) if name in known},
        }
        write_atomic(path, json.dumps(payload, indent=1) + "\n", mode=0o644, sync_dir=True)
    finally:
        os.close(lock)


def read_last_run(state_dir: Path, kind: str) -> dict[str, Any]:
    """The kind's last-results file as written ({} when there is none or it is damaged)."""
    path = last_run_path(state_dir, kind)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("devices"), dict):
        return {}
    return data


def summary(data: Mapping[str, Any]) -> dict[str, Any]:
    """The last results as a page shows them: worst status first, then by device.

    `{"updated_at", "status", "exit_code", "counts", "devices": [entry + checked_at]}`;
    each entry is the check's own `--json` entry.
    """
    entries = [e for e in (data.get("devices") or {}).values() if isinstance(e, Mapping)]
    entries.sort(key=lambda e: (-SEVERITY[entry_code(e)], str(e.get("device"))))
    code = max((entry_code(e) for e in entries), key=SEVERITY.__getitem__, default=0)
    counts: dict[str, int] = {}
    for e in entries:
        counts[str(e.get("status"))] = counts.get(str(e.get("status")), 0) + 1
    return {
        "updated_at": data.get("updated_at"),
        "last_run": data.get("last_run"),
        "status": NAGIOS[code] if entries else None,
        "exit_code": code if entries else None,
        "counts": counts,
        "devices": entries,
    }


def record_quietly(
    state_dir: Path, kind: str, report: Mapping[str, Any], known: Collection[str]
) -> None:
    """`record_last_run`, with a warning instead of an error when it cannot write: the
    check's own output and exit code matter more than the web page's copy."""
    try:
        record_last_run(state_dir, kind, report, known)
    except Exception as exc:  # the check itself has worked: say so and go on
        log.warning("could not keep the last %s results for the web pages: %s", kind, exc)
