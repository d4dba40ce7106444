"""Fixtures for the inventory tests: small inventories in a temp dir, the CLI in-process."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

# A small inventory whose lines the validation tests refer to (markers `# <-`).
BASE = """\
# test inventory
settings:
  backup_repo: configs
credentials:
  net:
    username: admin
    password_env: OPSKIT_TEST_PW
sites:
  hq: {description: Head office}
devices:
  sw1:
    site: hq
    host: 192.0.2.10
    platform: cisco_ios
    credentials: net
    ports: [Gi1/0/1-4]
  pp1:
    site: hq
    platform: patch_panel
    ports: [1-4]
  srv1:
    site: hq
    host: srv1.example.net
    platform: linux
    ports: [eth0, eth1]
cables:
  - {label: A-1, a: "sw1:Gi1/0/1", b: "pp1:1"}
  - label: B-1
    a: {device: pp1, port: "1", side: rear}
    b: srv1:eth0
"""


@dataclass
class CliResult:
    """Exit code and output of one in-process CLI run."""

    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The index cache goes to a per-test dir, never to the user's ~/.cache.
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("OPSKIT_TEST_PW", "not-a-real-secret")
    return cache


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the repository's example inventory.yaml."""
    target = tmp_path / "shop" / "inventory.yaml"
    target.parent.mkdir()
    shutil.copy(ROOT / "inventory.yaml", target)
    return target


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """The small BASE inventory."""
    target = tmp_path / "base" / "inventory.yaml"
    target.parent.mkdir()
    target.write_text(BASE, encoding="utf-8")
    return target


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `opskit -i INVENTORY ARGS...` in this process (fast); returns CliResult."""
    from opskit.cli import main

    def run(inventory: Path, *args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(["-i", str(inventory), *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def temp_files(directory: Path) -> list[str]:
    """Leftover temp files of an atomic write."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))
