"""A central Prometheus over pollers: `monitor serve --shard S` on each, a `shard` label on
every series; and Prometheus' own `hashmod` relabelling keeps exactly the devices that
opskit hashes into a shard (the docs/scaling.md configurations, run for real)."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from opskit.inventory import hash_bucket
from opskit.lab import Peer, free_port, wait_until
from tests.monitor.helpers import snmp_device, start_prometheus, write_inventory
from tests.monitor.test_serve import fetch

HASHED = [f"dc-{i}" for i in range(12)]


def _serve(inv: Path, log: Path, shard: str) -> tuple[Peer, int]:
    port = free_port()
    peer = Peer(
        [sys.executable, "-m", "opskit", "-i", str(inv), "monitor", "serve",
         "--listen", f"127.0.0.1:{port}", "--shard", shard, "--cache", "30"],
        log,
    )  # fmt: skip
    return peer, port


def test_central_prometheus_sees_every_shard(tmp_path: Path, snmpsim_lab: Any) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is not installed (bash install.sh --test installs it)")
    port = snmpsim_lab.port
    devices = {
        "core-1": {**snmp_device("cisco-router", port), "site": "core"},
        "core-2": {**snmp_device("entity-sensor", port), "site": "core"},
        "edge-1": {**snmp_device("entity-sensor", port), "site": "edge"},
        **{n: {**snmp_device("entity-sensor", port), "site": "dc"} for n in HASHED},
    }
    inv = write_inventory(
        tmp_path,
        devices,
        communities=("cisco-router", "entity-sensor"),
        settings={"shards": {"count": 3}},
        extra={"sites": {"core": {"shard": "x"}, "edge": {"shard": "y"}, "dc": {}}},
    )
    bucket_1 = sorted(n for n in HASHED if hash_bucket(n, 3) == 1)
    assert bucket_1 and len(bucket_1) < len(HASHED)

    peers: list[Peer] = []
    ports: dict[str, int] = {}
    try:
        for shard in ("x", "y", "1"):
            peer, ports[shard] = _serve(inv, tmp_path / f"serve-{shard}.log", shard)
            peers.append(peer)
        for shard, p in ports.items():
            wait_until(lambda p=p: fetch(f"http://127.0.0.1:{p}/healthz")[0] == 200,
                       timeout=30, what=f"monitor serve --shard {shard}")  # fmt: skip
        status, body = fetch(f"http://127.0.0.1:{ports['y']}/metrics")
        assert status == 200
        assert 'opskit_device_up{device="edge-1",shard="y",site="edge"} 1.0' in body
        assert "core-1" not in body

        targets = ", ".join(f"'{n}'" for n in HASHED)
        prom, prom_port = start_prometheus(
            prometheus,
            tmp_path,
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n"
            # the pollers, each serving its own shard: their labels (shard) are kept
            "  - job_name: opskit-pollers\n"
            "    honor_labels: true\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{ports['x']}', "
            f"'127.0.0.1:{ports['y']}']}}]\n"
            # one poller of many: every device a target, hashmod keeps this poller's share
            "  - job_name: opskit-hashmod-1\n"
            f"    static_configs: [{{targets: [{targets}]}}]\n"
            "    relabel_configs:\n"
            "      - {source_labels: [__address__], target_label: __param_device}\n"
            "      - {source_labels: [__address__], target_label: instance}\n"
            "      - {source_labels: [__address__], modulus: 3, target_label: __tmp_hash,"
            " action: hashmod}\n"
            "      - {source_labels: [__tmp_hash], regex: '1', action: keep}\n"
            f"      - {{target_label: __address__, replacement: '127.0.0.1:{ports['1']}'}}\n",
        )
        peers.append(prom)
        api = f"http://127.0.0.1:{prom_port}/api/v1"
        found: list[Any] = []

        def both_shards() -> bool:
            query = f"{api}/query?query=opskit_device_status{{job='opskit-pollers'}}"
            found[:] = json.loads(fetch(query)[1])["data"]["result"]
            return len(found) == 3

        wait_until(both_shards, timeout=60, what="the central Prometheus's scrapes", interval=0.5)
        by_device = {r["metric"]["device"]: r["metric"].get("shard") for r in found}
        assert by_device == {"core-1": "x", "core-2": "x", "edge-1": "y"}

        kept: list[Any] = []

        def hashmod_up() -> bool:
            active = json.loads(fetch(f"{api}/targets?state=active")[1])["data"]
            kept[:] = [t for t in active["activeTargets"]
                       if t["labels"]["job"] == "opskit-hashmod-1"]  # fmt: skip
            return bool(kept) and all(t["health"] == "up" for t in kept)

        wait_until(hashmod_up, timeout=60, what="the hashmod targets' scrapes", interval=0.5)
        assert sorted(t["labels"]["instance"] for t in kept) == bucket_1
        query = f"{api}/query?query=opskit_device_up{{job='opskit-hashmod-1'}}"
        series = json.loads(fetch(query)[1])["data"]["result"]
        assert {r["metric"]["shard"] for r in series} == {"1"}
    finally:
        codes = []
        for peer in peers:
            if peer.argv[0] != prometheus:
                peer.proc.send_signal(signal.SIGTERM)
                codes.append(peer.proc.wait(10))
            peer.stop()
    assert codes == [0, 0, 0]
