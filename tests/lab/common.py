"""Generic peer helpers as fixtures (the helpers themselves live in opskit.lab)."""

from __future__ import annotations

import shutil

import pytest


def require_binary(name: str) -> str:
    """Path of an installed program, or fail the test: .ci/run installs every peer."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (bash .ci/run installs every test peer)")
    return path
