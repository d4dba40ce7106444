"""NUT peers as fixtures: upsd + dummy-ups on a free loopback port (opskit.lab.nut).

* `nut_lab` (module): UPSes `rack1` and `rack2`, on line; tests that change a UPS put it
  back with `lab.set_state(ups)` + `lab.wait_for(...)` so the module can share it
  (a start costs ~3 s).
* `nut_lab_private` (function): its own upsd, for tests that stop upsd or a driver.
* `nut_tls_lab` (module): a upsd offering STARTTLS with a fresh self-signed certificate.
* `ups_inventory(path, lab, devices)`: write an inventory.yaml for UPS devices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from opskit.lab.nut import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    MONITOR_PASSWORD,
    MONITOR_USER,
    NutLab,
    nut_binaries,
    start_nut,
)

# Secrets the tests grep every output for.
NUT_SECRETS = (MONITOR_PASSWORD, ADMIN_PASSWORD, "wrong-lab-pass")


def _require_nut() -> None:
    try:
        nut_binaries()
    except FileNotFoundError as exc:
        pytest.fail(f"{exc} (bash .ci/run installs every test peer)")


@pytest.fixture(scope="module")
def nut_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NutLab]:
    """upsd with rack1 and rack2 on line, shared by a test module."""
    _require_nut()
    lab = start_nut(tmp_path_factory.mktemp("nut"), ("rack1", "rack2"))
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def nut_lab_private(tmp_path: Path) -> Iterator[NutLab]:
    """upsd with rack1 on line, for one test that may stop it."""
    _require_nut()
    lab = start_nut(tmp_path / "nut", ("rack1",))
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def nut_tls_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NutLab]:
    """upsd offering STARTTLS (self-signed for 127.0.0.1; trust `lab.ca_file`)."""
    _require_nut()
    lab = start_nut(tmp_path_factory.mktemp("nut-tls"), ("rack1",), tls=True)
    try:
        yield lab
    finally:
        lab.stop()


def ups_inventory(
    path: Path,
    devices: Mapping[str, Mapping[str, Any]],
    *,
    settings: Mapping[str, Any] | None = None,
    credentials: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write `path` (inventory.yaml) with site `lab`, the lab credential sets and
    `devices` (name -> device mapping, site filled in); returns the path.

    Credential sets: `nut-mon` (upsmon user, good password), `nut-bad` (wrong password),
    `nut-admin` (a SET-only user that LOGIN refuses), plus `credentials` given.
    """
    doc = {
        "settings": {"state_dir": "state", **(settings or {})},
        "credentials": {
            "nut-mon": {"username": MONITOR_USER, "password": MONITOR_PASSWORD},
            "nut-bad": {"username": MONITOR_USER, "password": "wrong-lab-pass"},
            "nut-admin": {"username": ADMIN_USER, "password": ADMIN_PASSWORD},
            **(credentials or {}),
        },
        "sites": {"lab": {"description": "test bench"}},
        "devices": {name: {"site": "lab", **dev} for name, dev in devices.items()},
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def nut_device(lab: NutLab, ups: str, **nut: Any) -> dict[str, Any]:
    """An inventory entry for a UPS of `lab` (extra keys go into its `nut:` section,
    except `credentials` and `thresholds`, which go on the device)."""
    device: dict[str, Any] = {"host": lab.host, "platform": "ups_nut"}
    for key in ("credentials", "thresholds"):
        if key in nut:
            device[key] = nut.pop(key)
    device["nut"] = {"ups": ups, "port": lab.port, **nut}
    return device


def snmp_ups_devices(port: int, communities: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(devices, credentials) for `ups_snmp` devices named after snmpsim communities."""
    devices = {
        c: {
            "host": "127.0.0.1",
            "platform": "ups_snmp",
            "snmp": {"port": port, "credentials": f"c-{c}", "timeout": 2, "retries": 1},
        }
        for c in communities
    }
    credentials = {f"c-{c}": {"community": c} for c in communities}
    return devices, credentials
