"""The `>>>` examples of the transports and targets run (docs that run cannot rot)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "opskit.targets",
    "opskit.transport.cli",
    "opskit.transport.nut",
    "opskit.transport.snmp.client",
    "opskit.transport.sshopts",
]


@pytest.mark.parametrize("module", MODULES)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
