"""The install cannot pass on leftovers: the tests run in install.sh's own virtualenv, and
every module fake-switches imports (it is installed with --no-deps) is a declared dependency."""

from __future__ import annotations

import os
import re
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import ROOT


def test_tests_run_in_a_virtualenv_without_system_site_packages() -> None:
    if not os.environ.get("OPSKIT_CI_VENV"):
        pytest.skip("outside .ci/run (OPSKIT_CI_VENV unset): any interpreter may run the tests")
    assert sys.prefix != sys.base_prefix, "not in a virtualenv"
    assert Path(sys.prefix).resolve() == Path(os.environ["OPSKIT_CI_VENV"]).resolve()
    cfg = (Path(sys.prefix) / "pyvenv.cfg").read_text()
    assert re.search(r"include-system-site-packages\s*=\s*false", cfg), cfg
    base_site = sysconfig.get_paths(vars={"base": sys.base_prefix})["purelib"]
    leaks = [p for p in sys.path if p.startswith((base_site, "/usr/lib/python3/dist-packages"))]
    assert not leaks, f"system site-packages on sys.path: {leaks}"


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_lab_extra_declares_every_fake_switches_dependency() -> None:
    """fake-switches comes with --no-deps: each of its own requirements must be ours too."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ours = {_name(r) for r in project["optional-dependencies"]["lab"] + project["dependencies"]}
    theirs = metadata.requires("fake-switches") or []
    needed = {_name(r) for r in theirs if "python_version" not in r}  # py2/3.5-only pins
    assert needed, "fake-switches declares no requirements?"
    assert needed <= ours, f"not in the lab extra: {sorted(needed - ours)}"
    for name in needed:
        metadata.version(name)  # installed, not only declared
