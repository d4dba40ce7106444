"""`opskit monitor serve` scraped by a real Prometheus server."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from opskit.lab import Peer, free_port, wait_until
from tests.monitor.helpers import snmp_device, start_prometheus, write_inventory


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_prometheus_scrapes_monitor_serve(tmp_path: Path, snmpsim_lab: Any) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is not installed (apt-get install prometheus)")
    inv = write_inventory(
        tmp_path,
        {
            "core-rtr1": snmp_device("cisco-router", snmpsim_lab.port),
            "dc-leaf1": snmp_device("entity-sensor", snmpsim_lab.port),
        },
        communities=("cisco-router", "entity-sensor"),
    )
    port = free_port()
    serve = Peer(
        [sys.executable, "-m", "opskit", "-i", str(inv), "monitor", "serve",
         "--listen", f"127.0.0.1:{port}", "--cache", "30"],
        tmp_path / "serve.log",
    )  # fmt: skip
    prom = None
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: fetch(f"{base}/healthz") == (200, "ok\n"), timeout=30, what="serve")
        status, body = fetch(f"{base}/metrics?device=dc-leaf1")
        assert status == 200
        assert 'opskit_temperature_celsius{device="dc-leaf1",sensor="Rear temp sensor"' in body
        assert "core-rtr1" not in body
        assert fetch(f"{base}/metrics?device=nope")[0] == 404
        assert fetch(f"{base}/other")[0] == 404
        assert fetch(f"{base}/metrics")[0] == 200  # polled now, cached for the scrapes

        prom, prom_port = start_prometheus(
            prometheus,
            tmp_path,
            "global: {scrape_interval: 2s, scrape_timeout: 2s}\n"
            "scrape_configs:\n"
            "  - job_name: opskit\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n",
        )
        api = f"http://127.0.0.1:{prom_port}/api/v1/query?query=opskit_device_status"
        found: list[Any] = []

        def scraped() -> bool:
            found[:] = json.loads(fetch(api)[1])["data"]["result"]
            return len(found) == 2

        wait_until(scraped, timeout=60, what="a Prometheus scrape of opskit", interval=0.5)
        by_device = {r["metric"]["device"]: float(r["value"][1]) for r in found}
        assert by_device == {"core-rtr1": 2.0, "dc-leaf1": 2.0}
        assert {r["metric"]["job"] for r in found} == {"opskit"}
    finally:
        if prom is not None:
            prom.stop()
        serve.proc.send_signal(signal.SIGTERM)
        code = serve.proc.wait(10)
        serve.stop()
    assert code == 0, serve.log_text()


# --- issue 13: hostile clients ------------------------------------------------------------


def test_sighup_serves_the_devices_of_the_inventory_read_again(
    tmp_path: Path, snmpsim_lab: Any
) -> None:
    rtr = snmp_device("cisco-router", snmpsim_lab.port)
    leaf = snmp_device("entity-sensor", snmpsim_lab.port)
    communities = ("cisco-router", "entity-sensor")
    inv = write_inventory(tmp_path, {"core-rtr1": rtr}, communities=communities)
    port = free_port()
    serve = Peer(
        [sys.executable, "-m", "opskit", "-i", str(inv), "monitor", "serve", "--json",
         "--listen", f"127.0.0.1:{port}"],
        tmp_path / "serve.log",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def reloads() -> list[dict[str, Any]]:
        lines = serve.log_text().splitlines()
        return [json.loads(ln) for ln in lines if ln.startswith('{"reloaded"')]

    try:
        wait_until(lambda: fetch(f"{base}/healthz") == (200, "ok\n"), timeout=30, what="serve")
        assert fetch(f"{base}/metrics?device=core-rtr1")[0] == 200
        assert fetch(f"{base}/metrics?device=dc-leaf1")[0] == 404

        write_inventory(tmp_path, {"core-rtr1": rtr, "dc-leaf1": leaf}, communities=communities)
        serve.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: len(reloads()) == 1, timeout=30, what="the reload")
        status, body = fetch(f"{base}/metrics?device=dc-leaf1")
        assert status == 200 and 'device="dc-leaf1"' in body
        # The state (rates, reboots) was handed over: written at the reload, not at the end.
        state = json.loads((tmp_path / "state" / "monitor-state.json").read_text())
        assert state["core-rtr1"]["polled_at"] > 0

        bad = {**leaf, "site": "nowhere"}
        write_inventory(tmp_path, {"core-rtr1": rtr, "dc-leaf1": bad}, communities=communities)
        serve.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: len(reloads()) == 2, timeout=30, what="the refusal")
        assert fetch(f"{base}/metrics?device=dc-leaf1")[0] == 200  # the old one stays
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(30) == 0
    finally:
        serve.stop()
    good, refused = reloads()
    assert good == {"reloaded": True, "devices": ["core-rtr1", "dc-leaf1"], "error": None}
    assert refused["reloaded"] is False and refused["devices"] is None
    assert "inventory.yaml:" in refused["error"] and "'nowhere'" in refused["error"]
