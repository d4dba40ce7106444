"""The `>>>` examples in the inventory modules run (CI's pytest does not collect modules)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "opskit.inventory.load",
        "opskit.inventory.lines",
        "opskit.inventory.edit",
        "opskit.inventory.names",
        "opskit.output",
        "opskit.inventory.incremental",
    ],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
