"""Where secret-value findings wait for `opskit audit`: `<state_dir>/audit-values.json`.

`backup run` checks the fetched text before scrubbing (`opskit.audit.values`) and records
what it found here, keyed by device and by the git blob id of the config it stored for
it (the blob, not the commit: a commit need not touch the file, and an unchanged fetch
re-checks the same blob). Only rule ids and scrubbed lines are kept, never a value. The
latest check of a blob replaces the previous one: a community changed from `public` to a
good one is the same scrubbed text, so the same blob, and its finding goes away. Only
blobs with findings are kept (no entry and an empty one mean the same), so the file stays
small in a healthy shop and a router's TFTP push rewrites little.

Written atomically (`opskit.fileio.write_atomic`) by the backup run under the repository
lock; each device keeps its `KEEP` most recently checked blobs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from opskit.audit.values import ValueFinding
from opskit.fileio import make_private_dir, read_json, write_atomic

log = logging.getLogger(__name__)

STORE_FILE = "audit-values.json"
KEEP = 20


def blob_id(text: str) -> str:
    """The git blob id of `text` as the backup store writes it (UTF-8).

    >>> blob_id("")
    'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'
    """
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def store_path(state_dir: Path) -> Path:
    """The store's file."""
    return Path(state_dir) / STORE_FILE


def _read(path: Path) -> dict[str, Any]:
    data = read_json(path, "audit value store")
    devices = data.get("devices") if isinstance(data, dict) else None
    return devices if isinstance(devices, dict) else {}


def load_value_findings(state_dir: Path) -> dict[tuple[str, str], tuple[ValueFinding, ...]]:
    """Every recorded check that found something: (device, blob id) -> its findings."""
    out: dict[tuple[str, str], tuple[ValueFinding, ...]] = {}
    for device, blobs in _read(store_path(state_dir)).items():
        if not isinstance(blobs, dict):
            continue
        for blob, entry in blobs.items():
            items = entry.get("findings") if isinstance(entry, dict) else None
            if not isinstance(items, list):
                continue
            out[(str(device), str(blob))] = tuple(
                ValueFinding(str(i["rule"]), str(i["evidence"]), int(i.get("occurrence", 1)))
                for i in items
                if isinstance(i, dict) and "rule" in i and "evidence" in i
            )
    return out


def record_value_findings(
    state_dir: Path,
    entries: Iterable[tuple[str, str, Sequence[ValueFinding]]],
    *,
    now: str | None = None,
) -> bool:
    """Record the checks of a backup run: (device, stored text, findings) each.

    Call it under the backup repository's lock. A failure to write is logged and
    returns False: a backup must not fail because of its audit side note.
    """
    entries = list(entries)
    if not entries:
        return True
    path = store_path(state_dir)
    devices = _read(path)
    stamp = now or dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    before = json.dumps(devices, sort_keys=True)
    for device, stored_text, findings in entries:
        blobs = devices.get(device)
        if not isinstance(blobs, dict):
            blobs = {}
        blob = blob_id(stored_text)
        items = [
            {"rule": f.rule, "evidence": f.evidence, "occurrence": f.occurrence} for f in findings
        ]
        old = blobs.pop(blob, None)
        if items:  # the same findings again keep their first date (and the file its bytes)
            same = isinstance(old, dict) and old.get("findings") == items
            blobs[blob] = old if same else {"checked": stamp, "findings": items}
        devices[device] = _newest(blobs, KEEP)
        if not devices[device]:
            del devices[device]
    if json.dumps(devices, sort_keys=True) == before:
        return True  # nothing new: no write
    payload = {"version": 1, "devices": dict(sorted(devices.items()))}
    try:
        make_private_dir(path.parent)  # the state directory: the owner's only
        write_atomic(
            path, json.dumps(payload, separators=(",", ":")) + "\n", mode=0o600, sync_dir=True
        )
    except OSError as exc:
        log.warning("cannot write the audit value store %s: %s", path, exc)
        return False
    return True


def _newest(blobs: Mapping[str, Any], keep: int) -> dict[str, Any]:
    def checked(item: tuple[str, Any]) -> str:
        entry = item[1]
        return str(entry.get("checked", "")) if isinstance(entry, dict) else ""

    return dict(sorted(blobs.items(), key=checked, reverse=True)[:keep])
