"""Fixtures for the import/export tests: a main inventory in a temp dir, the CLI in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The in-process CLI runner the inventory tests use (a fixture, re-exported here).
from tests.inventory.conftest import CliResult, cli  # noqa: F401

DATA = Path(__file__).resolve().parent / "data"
MAIN = """\
# the shop's own inventory; imports land in imported/ and are included below
settings:
  backup_repo: configs
sites:
  hq: {description: Head office}
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def main_inventory(tmp_path: Path) -> Path:
    """A small main inventory.yaml in its own directory."""
    path = tmp_path / "shop" / "inventory.yaml"
    path.parent.mkdir()
    path.write_text(MAIN, encoding="utf-8")
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a directory, by relative path, with its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def golden(path: Path, actual: str) -> None:
    """Compare with a golden file; OPSKIT_UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    if os.environ.get("OPSKIT_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(actual, encoding="utf-8")
        pytest.fail(f"wrote {path.name}: review it, then run again")
    assert actual == path.read_text(encoding="utf-8"), f"differs from {path.name}"
