"""Shared test helpers. Peer fixtures live in tests/lab/ (imported as plugins below)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Every module in tests/lab/ holds the fixtures of one kind of peer; load them all.
pytest_plugins = sorted(
    f"tests.lab.{p.stem}" for p in (ROOT / "tests" / "lab").glob("*.py") if p.stem != "__init__"
)


@pytest.fixture(autouse=True)
def _no_inherited_inventory(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests pass their inventory explicitly; a user's OPSKIT_INVENTORY must not leak in.
    monkeypatch.delenv("OPSKIT_INVENTORY", raising=False)


def run_opskit(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
):
    """Run the CLI as a real process (what cron runs); returns CompletedProcess."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "opskit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
