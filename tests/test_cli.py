"""The CLI's error contract: with --json (or --format json), stdout holds one JSON object
even when the command line itself is wrong, and the exit code stays 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_opskit


@pytest.mark.parametrize(
    "args",
    [
        ["backup", "run", "--bogus-flag", "--json"],
        ["inventory", "find", "x", "--limit", "0", "--json"],
        ["inventory", "cable", "add", "A-1", "sw1:Gi0/1", "pp-1:1", "--length-m", "abc", "--json"],
        ["monitor", "check", "--format", "json", "--device", "nosuch"],
        ["monitor", "check", "--format=json", "--bogus"],
        ["audit", "-f", "json", "--bogus"],
    ],
    ids=[
        "unknown-option",
        "out-of-range",
        "not-a-number",
        "no-such-device",
        "format-equals",
        "short-f",
    ],
)
def test_usage_errors_are_json_with_json(tmp_path: Path, args: list[str]) -> None:
    inv = tmp_path / "inventory.yaml"
    shutil.copy(ROOT / "inventory.yaml", inv)
    proc = run_opskit("-i", str(inv), *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)  # the whole stdout is one object
    assert doc["ok"] is False and doc["error"]["exit_code"] == 2
    assert doc["error"]["message"] and "\n" not in doc["error"]["message"]
    assert proc.stderr.count("\n") == 1  # and one line for a human


def test_usage_error_without_json_prints_no_json(tmp_path: Path) -> None:
    proc = run_opskit("-i", str(ROOT / "inventory.yaml"), "backup", "run", "--bogus-flag")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--bogus-flag" in proc.stderr


def test_error_lines_escape_control_characters(tmp_path: Path) -> None:
    proc = run_opskit(
        "-i",
        str(ROOT / "inventory.yaml"),
        "monitor",
        "check",
        "--device",
        "x\x1b]0;pwned\x07\nforged",
    )
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "\\x1b]0;pwned" in proc.stderr


def test_validate_checks_the_sections_other_commands_own(tmp_path: Path) -> None:
    """A bad `notify:` entry is found by `inventory validate`, not first by `backup run`."""
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "sites: {hq: {}}\n"
        "devices:\n"
        "  r1: {site: hq, host: 127.0.0.1, platform: cisco_ios}\n"
        "notify:\n"
        "  - name: m\n"
        "    type: email\n"
        "    to: [a@example.com]\n"
    )
    proc = run_opskit("-i", str(inv), "inventory", "validate", "--json")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    (problem,) = doc["problems"]
    assert problem["line"] == 5 and "notify channel 'm'" in problem["message"]
