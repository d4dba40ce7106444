"""The CLI as a real process: exit codes, one-line errors, --json on stdout only."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import ROOT, run_opskit


def _env(tmp_path: Path) -> dict[str, str]:
    # A fresh machine: no secret env vars, an empty cache.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSKIT_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


def _run(tmp_path: Path, *args: str, cwd: Path = ROOT):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "opskit", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_readme_first_command_on_a_fresh_machine(tmp_path: Path) -> None:
    """`opskit inventory validate && opskit inventory find A-017` in the repo root."""
    validate = _run(tmp_path, "inventory", "validate")
    assert validate.returncode == 0, validate.stderr
    assert "warning:" in validate.stderr  # unset secrets are warnings, not errors
    find = _run(tmp_path, "inventory", "find", "A-017")
    assert find.returncode == 0, find.stderr
    assert find.stdout.startswith("cable   A-017  access-sw1 Gi1/0/17 <-> pp-1 17")
    assert find.stderr == ""


def test_json_is_alone_on_stdout(tmp_path: Path) -> None:
    res = run_opskit(
        "-i",
        str(ROOT / "inventory.yaml"),
        "inventory",
        "validate",
        "--json",
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert res.returncode == 0
    payload = json.loads(res.stdout)
    assert payload["ok"] is True and payload["errors"] == 0
    assert {p["severity"] for p in payload["problems"]} <= {"warning"}


def test_bad_input_is_exit_2_with_one_line_and_json_envelope(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        (ROOT / "inventory.yaml").read_text().replace("b: srv-files:eth1", "b: srv-files:eth9")
    )
    res = _run(tmp_path, "-i", str(inv), "inventory", "find", "A-017", "--json")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("opskit: error: inventory.yaml:")
    assert "port 'eth9' is not a port of device 'srv-files'" in lines[0]
    assert "Traceback" not in res.stderr
    payload = json.loads(res.stdout)
    assert payload["ok"] is False and payload["error"]["exit_code"] == 2


def test_cable_add_refusal_from_a_process(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_bytes((ROOT / "inventory.yaml").read_bytes())
    before = inv.read_bytes()
    res = _run(
        tmp_path, "-i", str(inv), "inventory", "cable", "add", "A-017", "fw1:port3", "pp-1:23"
    )
    assert res.returncode == 2
    assert "cable 'A-017' already exists" in res.stderr
    assert inv.read_bytes() == before
    ok = _run(tmp_path, "-i", str(inv), "inventory", "cable", "add", "N-1", "fw1:port3", "pp-1:23")
    assert ok.returncode == 0, ok.stderr
    assert '+  - {label: N-1, a: "fw1:port3", b: "pp-1:23"}' in ok.stdout
    # The edit refreshed the cache: the next find sees the new cable.
    find = _run(tmp_path, "-i", str(inv), "inventory", "find", "N-1")
    assert find.stdout.startswith("cable   N-1  fw1 port3 <-> pp-1 23 (front)")


def test_usage_error_is_exit_2(tmp_path: Path) -> None:
    res = _run(tmp_path, "inventory", "port", "only-one-arg")
    assert res.returncode == 2
    assert "Missing argument" in res.stderr
    assert "internal error" not in res.stderr
