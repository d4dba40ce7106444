"""Fixtures shared by the backup tests."""

from __future__ import annotations

import pytest

from tests.backup.helpers import TD_ENV


@pytest.fixture
def td_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test device's credentials in the environment (for in-process runs)."""
    for k, v in TD_ENV.items():
        monkeypatch.setenv(k, v)
