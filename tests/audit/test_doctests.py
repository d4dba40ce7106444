"""The `>>>` examples in the audit modules run (CI's pytest does not collect modules)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "opskit.audit.model",
        "opskit.audit.rules",
        "opskit.audit.evaluate",
        "opskit.audit.values",
        "opskit.audit.store",
    ],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
