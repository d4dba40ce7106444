"""Helpers for the audit tests: configs go into a real git repository through opskit's own
backup pipeline (checks, cleaning, scrubbing, commit, and the secret-value check).

The configs are handed to `run_backup` by a fetcher registered under the method `memory`
(the backup's own extension point, `opskit.backup.register_fetcher`): what is under test
here is the audit of stored configs, not how they were fetched (the SSH path is tested
against a real fake switch in test_backup_hook.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from opskit.audit import VALUE_INSPECTOR, load_ruleset
from opskit.backup import BackupReport, FetchRequest, register_fetcher, run_backup
from opskit.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
CASES = HERE / "cases"
FAMILIES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())

# (inventory file, device) -> the raw text the `memory` fetcher returns
_TEXTS: dict[tuple[str, str], str] = {}


def _memory_fetch(request: FetchRequest) -> str:
    return _TEXTS[(str(request.inventory.path), request.device.name)]


register_fetcher("memory", _memory_fetch)


def platform_of(family: str) -> str:
    """The first platform a rule family serves (`ios` -> `cisco_ios`)."""
    return load_ruleset(family).platforms[0]


def write_inventory(
    tmp_path: Path,
    devices: Mapping[str, Mapping[str, Any]],
    *,
    audit: Mapping[str, Any] | None = None,
    sites: tuple[str, ...] = ("lab",),
) -> Path:
    """An inventory whose devices are backed up with the `memory` method."""
    data: dict[str, Any] = {
        "settings": {"backup_repo": "configs", "state_dir": "state"},
        "sites": {s: {} for s in sites},
        "devices": {
            name: {"site": "lab", "host": "127.0.0.1", "backup": {"method": "memory"}, **d}
            for name, d in devices.items()
        },
    }
    if audit is not None:
        data["audit"] = dict(audit)
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def back_up(inventory_path: Path, texts: Mapping[str, str]) -> BackupReport:
    """Run `backup run` on the devices named in `texts`, which they 'print'."""
    inv = load_inventory(inventory_path)
    for name, text in texts.items():
        _TEXTS[(str(inv.path), name)] = text
    # as `backup run` does: the audit's value rules see each text before it is scrubbed
    report = run_backup(inv, [inv.devices[n] for n in texts], workers=4, inspector=VALUE_INSPECTOR)
    failed = [(r.device, r.reason) for r in report.results if not r.ok]
    assert not failed, failed
    return report


def golden(family: str, name: str) -> str:
    """A golden config as fetched (header lines, secrets in clear)."""
    return (GOLDEN / family / name).read_text()


def planted_secrets() -> list[str]:
    """Every fake secret planted in the golden configs."""
    out = []
    for family in FAMILIES:
        text = (GOLDEN / family / "secrets.txt").read_text()
        out += [ln.strip() for ln in text.splitlines() if ln.strip()]
    return out
