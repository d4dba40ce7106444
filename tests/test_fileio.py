"""`opskit.fileio.write_atomic`, the one atomic write every capability uses."""

from __future__ import annotations

from pathlib import Path

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
