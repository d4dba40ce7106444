"""`opskit.fileio.write_atomic`, the one atomic write every capability uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opskit.fileio import write_atomic


def test_write_atomic_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("old\n")
    path.chmod(0o600)
    write_atomic(path, b"new\n", mode=0o644, keep_mode=True)
    assert path.read_bytes() == b"new\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f.yaml"]


def test_a_failed_check_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("old\n")

    def refuse(temp: Path) -> None:
        assert temp.read_text() == "new\n" and temp != path
        raise ValueError("bad")

    with pytest.raises(ValueError):
        write_atomic(path, "new\n", check=refuse)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.yaml"]


def test_make_dirs_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.json"
    write_atomic(path, "{}", mode=0o644, make_dirs=True, sync_dir=True)
    assert path.read_text() == "{}" and path.stat().st_mode & 0o777 == 0o644


def _writers() -> dict[str, Any]:
    """Every writer into `settings.state_dir`, each making the directory if it is missing."""
    import datetime as dt

    from opskit.audit.store import record_value_findings
    from opskit.audit.values import ValueFinding
    from opskit.firmware.state import Discovery, save_discoveries
    from opskit.monitor.service import save_state as save_monitor
    from opskit.notify.state import save_failing
    from opskit.store.state import save_state as save_backup
    from opskit.web.lastrun import record_last_run

    return {
        "backup": lambda d: save_backup(d, {}),
        "firmware": lambda d: save_discoveries(
            d, [Discovery("r1", "cisco_ios", "15.2(7)E8", "snmp", dt.datetime.now(dt.UTC))]
        ),
        "monitor": lambda d: save_monitor(d / "monitor-state.json", {}),
        "notify": lambda d: save_failing(d, {}),
        "web": lambda d: record_last_run(d, "monitor", {"devices": []}, ()),
        "audit": lambda d: record_value_findings(
            d, [("r1", "hostname r1\n", [ValueFinding("weak-secret", "enable password <removed>")])]
        ),
    }


@pytest.mark.parametrize("writer", sorted(_writers()))
def test_the_state_directory_is_made_private_whatever_the_umask(
    tmp_path: Path, writer: str
) -> None:
    """Issue 13: with umask 022 the state directory was 0755, whoever made it first."""
    import os

    state = tmp_path / "site" / "state"
    old = os.umask(0o022)
    try:
        _writers()[writer](state)
    finally:
        os.umask(old)
    assert oct(state.stat().st_mode & 0o777) == "0o700"
    assert oct(state.parent.stat().st_mode & 0o777) == "0o700"  # made by us too
