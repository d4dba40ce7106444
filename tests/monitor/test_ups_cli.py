"""`opskit monitor ups` argument and inventory errors (no peer needed: nothing is polled)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_opskit
from tests.lab.nut import ups_inventory


def _inventory(tmp_path: Path, **ups_extra: object) -> Path:
    return ups_inventory(
        tmp_path / "inventory.yaml",
        {
            "core-sw1": {"host": "127.0.0.1", "platform": "cisco_ios"},
            "rack1-ups": {
                "host": "127.0.0.1",
                "platform": "ups_nut",
                "nut": {"ups": "rack1", "port": 3493},
                **ups_extra,
            },
        },
    )


def test_a_device_that_is_not_a_ups(tmp_path: Path) -> None:
    result = run_opskit("-i", str(_inventory(tmp_path)), "monitor", "ups", "core-sw1", "--json")
    assert result.returncode == 2
    assert "device 'core-sw1' is not a UPS (platform 'cisco_ios'" in result.stderr
    assert json.loads(result.stdout)["ok"] is False


def test_bad_watch_interval(tmp_path: Path) -> None:
    result = run_opskit("-i", str(_inventory(tmp_path)), "monitor", "ups", "--watch", "0")
    assert result.returncode == 2
    assert "--watch needs a positive number of seconds" in result.stderr


def test_bad_nut_and_threshold_keys_name_the_device(tmp_path: Path) -> None:
    inv = _inventory(tmp_path, thresholds={"ups": {"runtime": 5}})
    result = run_opskit("-i", str(inv), "monitor", "ups")
    assert result.returncode == 2
    # The inventory loader names it, with its line and the key meant.
    assert "device 'rack1-ups' thresholds.ups: unknown key 'runtime'" in result.stderr
    assert "(did you mean 'runtime_min'?)" in result.stderr
    inv = _inventory(tmp_path, nut={"ups": "rack1", "tsl": True})
    result = run_opskit("-i", str(inv), "monitor", "ups")
    assert result.returncode == 2
    assert "device 'rack1-ups' nut: unknown key 'tsl' (did you mean 'tls'?)" in result.stderr
