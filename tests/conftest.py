"""Shared test helpers. Peer fixtures live in tests/lab/ (imported as plugins below)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Every module in tests/lab/ holds the fixtures of one kind of peer; load them all.
pytest_plugins = sorted(
    f"tests.lab.{p.stem}" for p in (ROOT / "tests" / "lab").glob("*.py") if p.stem != "__init__"
)


# Hypothesis: a failure in CI must be replayable. `print_blob` prints the
# @reproduce_failure line with the failing example, and the example database lives in the
# checkout (.hypothesis/), so a rerun in the same workspace tries the failure first.
settings.register_profile("opskit", print_blob=True)
settings.load_profile("opskit")


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
