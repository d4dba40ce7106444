"""Inventories for monitor tests: devices pointing at the lab SNMP agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opskit.lab import Peer, free_port
from opskit.lab.snmp import V3_AUTH, V3_PRIV, V3_USER

SECRETS = (V3_AUTH, V3_PRIV)


def write_inventory(
    directory: Path,
    devices: dict[str, dict[str, Any]],
    *,
    communities: tuple[str, ...] = (),
    settings: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write inventory.yaml (JSON is YAML) with one credential set per community
    (named like the community) and the lab v3 user as `v3` (and `v3-wrong`)."""
    creds: dict[str, Any] = {c: {"community": c} for c in communities}
    creds["v3"] = {
        "username": V3_USER,
        "auth_password": V3_AUTH,
        "priv_password": V3_PRIV,
        "auth_protocol": "sha",
        "priv_protocol": "aes",
    }
    creds["v3-wrong"] = {**creds["v3"], "auth_password": "not-the-password-1"}
    creds["public"] = {"community": "public"}
    doc: dict[str, Any] = {
        "settings": {"state_dir": "state", **(settings or {})},
        "credentials": creds,
        "sites": {"hq": {}, "branch": {}},
        "devices": {
            name: {"site": "hq", "platform": "cisco_ios", **d} for name, d in devices.items()
        },
        **(extra or {}),
    }
    path = directory / "inventory.yaml"
    path.write_text(json.dumps(doc, indent=1))
    return path


def snmp_device(community: str, port: int, **snmp: Any) -> dict[str, Any]:
    """A device entry polled over v2c on the lab agent."""
    return {
        "host": "127.0.0.1",
        "snmp": {"credentials": community, "port": port, "timeout": 2, "retries": 1, **snmp},
    }


def start_prometheus(binary: str, directory: Path, config: str) -> tuple[Peer, int]:
    """A real Prometheus with `config` (its prometheus.yml text) on a free port."""
    port = free_port()
    path = directory / "prometheus.yml"
    path.write_text(config)
    peer = Peer(
        [binary, f"--config.file={path}", f"--storage.tsdb.path={directory / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        directory / "prometheus.log",
    )  # fmt: skip
    return peer, port
