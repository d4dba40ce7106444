"""The `>>>` examples of the backup modules run (docs that run cannot rot)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["opskit.backup.tftp_serve", "opskit.backup.restore", "opskit.store.remote"]


@pytest.mark.parametrize("module", MODULES)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
