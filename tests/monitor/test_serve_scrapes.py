"""`monitor serve` scraped per device: concurrent polls on one engine, shared polls, the
server's bounds (scrape cap, scrape timeout, connection cap and timeouts), keep-alive.

The server runs in this process (its event loop in a thread) so a test can watch its
counters; the agents are real (snmpsim), reached through a `UdpGate` that holds every
request until the test opens it.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from opskit.inventory import load_inventory, select_devices
from opskit.lab import wait_until
from opskit.monitor.httpd import MetricsServer
from opskit.monitor.service import STATE_FILE
from tests.monitor.helpers import UdpGate, snmp_device, write_inventory

COMMUNITIES = ("cisco-router", "entity-sensor")


LOOPS: dict[int, asyncio.AbstractEventLoop] = {}  # id(server) -> the loop serving it


@contextlib.contextmanager
def serving(srv: MetricsServer) -> Iterator[MetricsServer]:
    """Run the server's event loop in a thread until the block ends (`LOOPS` has it)."""
    loop = LOOPS[id(srv)] = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = asyncio.Event()
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(srv.serve(stop, started)), daemon=True
    )
    thread.start()
    try:
        wait_until(started.is_set, timeout=10, what="monitor serve")
        yield srv
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()
        del LOOPS[id(srv)]
    assert not thread.is_alive()


def get(
    srv: MetricsServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(), dict(resp.getheaders())
    finally:
        conn.close()


def make_server(tmp_path: Path, port: int, **kw: Any) -> MetricsServer:
    inv_path = write_inventory(
        tmp_path,
        {
            "rtr": snmp_device("cisco-router", port, timeout=5, retries=0),
            "leaf": snmp_device("entity-sensor", port, timeout=5, retries=0),
        },
        communities=COMMUNITIES,
    )
    inv = load_inventory(inv_path)
    return MetricsServer(inv, select_devices(inv), "127.0.0.1", 0, **kw)


@contextlib.contextmanager
def gated(tmp_path: Path, agent_port: int, **kw: Any) -> Iterator[tuple[UdpGate, MetricsServer]]:
    """A running server whose devices are reached through a closed `UdpGate`."""
    g = UdpGate(agent_port).start()
    try:
        with serving(make_server(tmp_path, g.port, **kw)) as srv:
            yield g, srv
    finally:
        g.stop()


def test_scrapes_of_different_devices_poll_at_once(tmp_path: Path, snmpsim_lab: Any) -> None:
    with (
        gated(tmp_path, snmpsim_lab.port, cache_seconds=0) as (g, srv),
        ThreadPoolExecutor(2) as pool,
    ):
        rtr = pool.submit(get, srv, "/metrics?device=rtr")
        leaf = pool.submit(get, srv, "/metrics?device=leaf")
        # Both polls have sent their first request before either got an answer: a
        # server that polls one device at a time never holds two.
        wait_until(lambda: g.held == 2, timeout=10, what="two polls in flight")
        g.open()
        (s1, b1, _), (s2, b2, _) = rtr.result(30), leaf.result(30)
    assert (s1, s2) == (200, 200)
    assert 'opskit_device_up{device="rtr",site="hq"} 1.0' in b1 and "leaf" not in b1
    assert 'opskit_device_up{device="leaf",site="hq"} 1.0' in b2 and "rtr" not in b2
    assert srv.polls == 2


def test_scrapes_of_one_device_share_its_poll(tmp_path: Path, snmpsim_lab: Any) -> None:
    with gated(tmp_path, snmpsim_lab.port, cache_seconds=0) as (g, srv):
        with ThreadPoolExecutor(6) as pool:
            scrapes = [pool.submit(get, srv, "/metrics?device=rtr") for _ in range(6)]
            wait_until(lambda: srv.scraping == 6 and g.held > 0, timeout=10, what="6 scrapes")
            assert g.held == 1  # one poll: one GET of the system group went out
            g.open()
            results = [s.result(30) for s in scrapes]
        assert {status for status, _, _ in results} == {200}
        assert len({body for _, body, _ in results}) == 1
        assert srv.polls == 1
        # cache_seconds=0: the next scrape polls again
        assert get(srv, "/metrics?device=rtr")[0] == 200
        assert srv.polls == 2


def test_a_reload_keeps_the_scrapes_in_progress_and_serves_the_new_devices(
    tmp_path: Path, snmpsim_lab: Any
) -> None:
    with gated(tmp_path, snmpsim_lab.port, cache_seconds=0) as (g, srv):
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(get, srv, "/metrics?device=rtr")
            wait_until(lambda: srv.scraping == 1 and g.held > 0, timeout=10, what="a scrape")
            old = srv.scrapes
            assert old is not None
            # rtr leaves the inventory while its scrape waits for the agent
            leaf = snmp_device("entity-sensor", g.port, timeout=5, retries=0)
            new_inv = load_inventory(
                write_inventory(tmp_path, {"leaf": leaf}, communities=COMMUNITIES)
            )
            reload = srv.reload(new_inv, select_devices(new_inv))
            asyncio.run_coroutine_threadsafe(reload, LOOPS[id(srv)]).result(10)
            assert srv.scrapes is not old
            assert get(srv, "/metrics?device=rtr")[:2] == (404, "no monitored device 'rtr'\n")
            g.open()
            status, body, _ = waiting.result(30)  # answered by the poll it waited for
        assert status == 200 and 'opskit_device_up{device="rtr",site="hq"} 1.0' in body
        status, body, _ = get(srv, "/metrics")
        assert status == 200 and 'device="leaf"' in body and 'device="rtr"' not in body
        wait_until(lambda: old.closed, timeout=10, what="the old polls to close")


def test_cache_window_serves_one_poll(tmp_path: Path, snmpsim_lab: Any) -> None:
    with serving(make_server(tmp_path, snmpsim_lab.port, cache_seconds=60)) as srv:
        with ThreadPoolExecutor(5) as pool:
            bodies = list(pool.map(lambda _: get(srv, "/metrics?device=leaf")[1], range(10)))
        assert len(set(bodies)) == 1 and srv.polls == 1
        # the whole /metrics reuses the cached device and polls only the other one
        status, body, _ = get(srv, "/metrics")
        assert status == 200 and srv.polls == 2
        assert 'device="rtr"' in body and 'device="leaf"' in body
        assert body.count("# TYPE opskit_device_up gauge") == 1


def test_over_the_scrape_cap_is_a_503_with_its_reason(tmp_path: Path, snmpsim_lab: Any) -> None:
    with gated(tmp_path, snmpsim_lab.port, cache_seconds=0, max_scrapes=2) as (g, srv):
        with ThreadPoolExecutor(2) as pool:
            waiting = [pool.submit(get, srv, f"/metrics?device={d}") for d in ("rtr", "leaf")]
            wait_until(lambda: srv.scraping == 2, timeout=10, what="two waiting scrapes")
            status, body, headers = get(srv, "/metrics?device=rtr")
            assert status == 503
            assert body == "too many scrapes in progress (2, the server's cap); try again later\n"
            assert headers["Retry-After"] == "1"
            assert get(srv, "/healthz")[:2] == (200, "ok\n")  # not a scrape: answered
            g.open()
            assert [w.result(30)[0] for w in waiting] == [200, 200]
            assert get(srv, "/metrics?device=rtr")[0] == 200  # under the cap again
        assert srv.refused == 1


def test_scrape_timeout_is_a_504_and_the_poll_goes_on(tmp_path: Path, snmpsim_lab: Any) -> None:
    with gated(tmp_path, snmpsim_lab.port, cache_seconds=60) as (g, srv):
        status, body, _ = get(
            srv, "/metrics?device=rtr", {"X-Prometheus-Scrape-Timeout-Seconds": "1"}
        )
        assert status == 504
        assert body == "poll of rtr still running after 0.8 s\n"
        g.open()
        wait_until(lambda: srv.polls == 1, timeout=10, what="the poll to end")
        assert get(srv, "/metrics?device=rtr")[0] == 200
        assert srv.polls == 1  # the scrape that gave up did not waste its poll


def test_connection_bounds_and_keep_alive(tmp_path: Path, snmpsim_lab: Any) -> None:
    srv = make_server(
        tmp_path, snmpsim_lab.port, max_connections=2, read_timeout=0.5, write_timeout=5
    )
    with serving(srv):
        # keep-alive: two scrapes on one connection
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        for _ in range(2):
            conn.request("GET", "/metrics?device=rtr")
            resp = conn.getresponse()
            assert resp.status == 200 and b"opskit_device_up" in resp.read()
        conn.close()
        wait_until(lambda: srv.connections == 0, timeout=5, what="the connection to close")
        # two silent clients take both slots; a third connection is told why it is refused
        idle = [socket.create_connection((srv.host, srv.port), timeout=5) for _ in range(2)]
        wait_until(lambda: srv.connections == 2, timeout=5, what="two open connections")
        status, body, _ = get(srv, "/healthz")
        assert status == 503 and body == "too many connections (2, the cap)\n"
        # the silent ones are closed after the read timeout, and the slots come back
        for s in idle:
            assert s.recv(100) == b""
            s.close()
        wait_until(lambda: srv.connections == 0, timeout=5, what="the slots to free")
        assert get(srv, "/healthz")[0] == 200


def test_bad_requests(tmp_path: Path, snmpsim_lab: Any) -> None:
    with serving(make_server(tmp_path, snmpsim_lab.port)) as srv:
        assert get(srv, "/metrics?device=nope")[:2] == (404, "no monitored device 'nope'\n")
        assert get(srv, "/other")[0] == 404
        with socket.create_connection((srv.host, srv.port), timeout=5) as s:
            s.sendall(b"HELLO\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400 Bad Request")
        with socket.create_connection((srv.host, srv.port), timeout=5) as s:
            s.sendall(b"GET /" + b"x" * 20_000 + b" HTTP/1.1\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400 Bad Request")
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        conn.request("POST", "/metrics", body=b"x")
        assert conn.getresponse().status == 400
        conn.close()


def test_state_kept_in_memory_and_written_at_the_end(tmp_path: Path, snmpsim_lab: Any) -> None:
    srv = make_server(tmp_path, snmpsim_lab.port, cache_seconds=0)
    state = tmp_path / "state" / STATE_FILE
    (tmp_path / "state").mkdir()
    state.write_text(json.dumps({"other-device": {"kept": True}}))
    with serving(srv):
        assert get(srv, "/metrics?device=rtr")[0] == 200
        assert get(srv, "/metrics?device=rtr")[0] == 200
        assert json.loads(state.read_text()) == {"other-device": {"kept": True}}  # not yet
    saved = json.loads(state.read_text())
    assert saved["other-device"] == {"kept": True}
    assert saved["rtr"]["polled_at"] > 0 and "leaf" not in saved


def _closed(sock: socket.socket) -> bool:
    """Read whatever the server sends (a 503) until it closes the connection."""
    while sock.recv(4096):
        pass
    return True


def test_silent_clients_are_bounded_and_dropped(
    tmp_path: Path, snmpsim_lab: Any, caplog: Any
) -> None:
    """Issue 13: 50 silent clients held 51 threads for as long as they liked. Now at most
    `max_connections` are open, each silent one is dropped after the read timeout, and
    every client is one log line."""
    caplog.set_level("INFO", logger="opskit.monitor.httpd")
    srv = make_server(tmp_path, snmpsim_lab.port, max_connections=8, read_timeout=0.5)
    with serving(srv):
        clients = [socket.create_connection((srv.host, srv.port), timeout=10) for _ in range(50)]
        try:
            most = 0

            def all_closed() -> bool:
                nonlocal most
                most = max(most, srv.connections)
                return all(_closed(c) for c in clients)

            wait_until(all_closed, timeout=30, what="the server to drop 50 silent clients")
            assert most <= 8
            wait_until(lambda: len(caplog.records) >= 50, timeout=10, what="50 log lines")
            lines = [r.getMessage() for r in caplog.records]
            assert len(lines) == 50, lines
            refused = sum("connection refused: 8 open (the cap)" in ln for ln in lines)
            timed_out = sum("no request within 0.5 s" in ln for ln in lines)
            assert refused + timed_out == 50 and refused > 0 and timed_out >= 8
            assert get(srv, "/healthz")[0] == 200  # still serving
        finally:
            for c in clients:
                c.close()


def test_clients_that_hang_up_early_are_one_line_each(
    tmp_path: Path, snmpsim_lab: Any, caplog: Any, capfd: Any
) -> None:
    """Issue 13: 300 clients that hung up early printed 295 BrokenPipe tracebacks."""
    import struct

    caplog.set_level("INFO", logger="opskit.monitor.httpd")
    srv = make_server(tmp_path, snmpsim_lab.port, max_connections=16, read_timeout=5)
    with serving(srv):
        for _ in range(300):
            c = socket.create_connection((srv.host, srv.port), timeout=10)
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # not the whole request
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()  # a reset, as a client that gives up does
        wait_until(lambda: len(caplog.records) >= 300, timeout=30, what="300 log lines")
        wait_until(lambda: srv.connections == 0, timeout=10, what="the connections to end")
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert len(caplog.records) == 300
    assert all(r.exc_info is None for r in caplog.records)
