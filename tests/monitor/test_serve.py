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


def _server(tmp_path: Path, **kwargs: Any) -> Any:
    """An in-process `monitor serve` endpoint (no devices: only its connections count)."""
    import threading

    from opskit.inventory import load_inventory
    from opskit.monitor.httpd import MetricsServer

    inv = load_inventory(write_inventory(tmp_path, {}))
    srv = MetricsServer(inv, [], "127.0.0.1", 0, **kwargs)
    threading.Thread(target=srv.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()  # fmt: skip
    return srv


def _handler_threads() -> int:
    import threading

    return sum("process_request_thread" in t.name for t in threading.enumerate())


def _closed(sock: Any) -> bool:
    """Read whatever the server sends (a 503) until it closes the connection."""
    while True:
        if not sock.recv(4096):
            return True


def test_silent_clients_are_bounded_and_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """50 silent clients held 51 threads for as long as they liked."""
    import socket

    caplog.set_level("WARNING", logger="opskit.monitor.httpd")
    srv = _server(tmp_path, io_timeout=0.5, max_connections=8)
    clients: list[socket.socket] = []
    try:
        clients += [socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                    for _ in range(50)]  # fmt: skip
        most = 0

        def all_closed() -> bool:
            nonlocal most
            most = max(most, _handler_threads())
            return all(_closed(c) for c in clients)

        wait_until(all_closed, timeout=30, what="the server to drop 50 silent clients")
        assert most <= 8
        wait_until(lambda: _handler_threads() == 0, timeout=10, what="handler threads to end")
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 50, lines  # one line per client
        refused = sum("refused, 8 connections open already" in ln for ln in lines)
        timed_out = sum("Request timed out" in ln for ln in lines)
        assert refused + timed_out == 50 and refused > 0 and timed_out >= 8
        assert fetch(f"http://127.0.0.1:{srv.port}/healthz") == (200, "ok\n")  # still serving
    finally:
        for c in clients:
            c.close()
        srv.httpd.shutdown()
        srv.httpd.server_close()


def test_clients_that_hang_up_early_are_one_line_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """300 clients that hung up early printed 295 BrokenPipe tracebacks."""
    import socket
    import struct

    caplog.set_level("WARNING", logger="opskit.monitor.httpd")
    srv = _server(tmp_path, io_timeout=5, max_connections=16)
    try:
        for _ in range(300):
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # not the whole request
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()  # a reset, as a client that gives up does
        wait_until(lambda: len(caplog.records) >= 300, timeout=30, what="300 log lines")
        wait_until(lambda: _handler_threads() == 0, timeout=10, what="handler threads to end")
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 300
    assert all(r.exc_info is None for r in caplog.records)
    assert all(
        "dropped, Connection reset by peer" in ln or "connections open already" in ln
        for ln in lines
    ), lines[:5]
