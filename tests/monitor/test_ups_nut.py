"""UPS health over NUT against NUT's own upsd with dummy-ups drivers (tests/lab/nut.py).

Every state is written to the driver's `.dev` file and waited for through upsd before
opskit polls it, so no test depends on timing.
"""

from __future__ import annotations

import asyncio
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opskit.inventory import load_inventory
from opskit.lab.nut import NutLab
from opskit.monitor.model import HealthReport, Status
from opskit.monitor.service import check_devices
from opskit.transport.nut import NutError, NutTarget, read_ups
from tests.conftest import ROOT, run_opskit
from tests.lab.nut import NUT_SECRETS, nut_device, ups_inventory


def _check(inventory_path: Path) -> HealthReport:
    inventory = load_inventory(inventory_path)
    return check_devices(inventory, list(inventory.devices.values()))


def _by_name(report: HealthReport) -> dict[str, Any]:
    return {d.device: d for d in report.devices}


def _no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in NUT_SECRETS:
            assert secret not in text


# (id, .dev changes, variable to wait for, expected status, exit code, text in problems)
STATES = [
    ("online", {}, ("ups.status", "OL"), "OK", 0, ""),
    ("on-battery", {"ups.status": "OB DISCHRG"}, ("ups.status", "OB DISCHRG"), "WARNING", 1,
     "on battery"),
    ("low-battery", {"ups.status": "OB LB DISCHRG", "battery.charge": "12",
                     "battery.runtime": "200"}, ("ups.status", "OB LB DISCHRG"), "CRITICAL", 2,
     "on battery, low battery"),
    ("brownout-140V", {"input.voltage": "140"}, ("input.voltage", "140"), "CRITICAL", 2,
     "input voltage 140 V below 150 V"),
    ("surge-270V", {"input.voltage": "270"}, ("input.voltage", "270"), "CRITICAL", 2,
     "input voltage 270 V above 260 V"),
    ("back-online", {}, ("input.voltage", "231"), "OK", 0, ""),
]  # fmt: skip


def test_states_and_exit_codes_through_the_cli(nut_lab: NutLab, tmp_path: Path) -> None:
    inv = ups_inventory(tmp_path / "inventory.yaml", {"rack1-ups": nut_device(nut_lab, "rack1")})
    for name, changes, (var, value), status, code, text in STATES:
        nut_lab.set_state("rack1", **{k.replace(".", "__"): v for k, v in changes.items()})
        nut_lab.wait_for("rack1", var, value)
        result = run_opskit("-i", str(inv), "monitor", "ups", "rack1-ups", "--json")
        assert result.returncode == code, (name, result.stdout, result.stderr)
        doc = json.loads(result.stdout)
        device = doc["devices"][0]
        assert (doc["status"], device["status"]) == (status, status), name
        problems = " / ".join(r["message"] for r in device["readings"] if r["status"] != "OK")
        assert text in problems, (name, problems)
        if name in ("low-battery", "surge-270V", "back-online"):
            # The same state through `monitor check` (routers, servers and UPSes together).
            nagios = run_opskit("-i", str(inv), "monitor", "check", "--format", "nagios")
            assert nagios.returncode == code, (name, nagios.stdout, nagios.stderr)
            assert nagios.stdout.startswith(f"OPSKIT {status} - ")
            assert "'rack1-ups ups_battery_charge'=" in nagios.stdout
            if text:
                assert text in nagios.stdout.splitlines()[0]


def test_text_and_prometheus_outputs(nut_lab: NutLab, tmp_path: Path) -> None:
    inv = ups_inventory(tmp_path / "inventory.yaml", {"rack2-ups": nut_device(nut_lab, "rack2")})
    text = run_opskit("-i", str(inv), "monitor", "ups")
    assert text.returncode == 0, text.stderr
    header, row = text.stdout.splitlines()[:2]
    assert header.split()[:4] == ["UPS", "SITE", "STATUS", "FLAGS"]
    assert row.split()[:4] == ["rack2-ups", "lab", "OK", "OL"]
    prom = run_opskit("-i", str(inv), "monitor", "ups", "--format", "prometheus")
    assert prom.returncode == 0, prom.stderr
    lines = prom.stdout.splitlines()
    labels = 'device="rack2-ups",site="lab"'
    assert f"opskit_ups_battery_charge_percent{{{labels}}} 100.0" in lines
    assert f"opskit_ups_runtime_seconds{{{labels}}} 1800.0" in lines
    assert f"opskit_ups_input_voltage_volts{{{labels}}} 231.0" in lines
    flag = 'opskit_ups_status_flag{{device="rack2-ups",flag="{}",site="lab"}} {}'
    assert flag.format("OL", "1.0") in lines
    assert flag.format("OB", "0.0") in lines
    promtool = subprocess.run(
        ["promtool", "check", "metrics"], input=prom.stdout, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr


def test_login_wrong_password_and_unknown_ups(nut_lab: NutLab, tmp_path: Path) -> None:
    inv = ups_inventory(
        tmp_path / "inventory.yaml",
        {
            "login-ok": nut_device(nut_lab, "rack1", credentials="nut-mon"),
            "login-bad": nut_device(nut_lab, "rack1", credentials="nut-bad"),
            "login-admin": nut_device(nut_lab, "rack1", credentials="nut-admin"),
            "ghost": nut_device(nut_lab, "ghost"),
        },
    )
    result = run_opskit("-i", str(inv), "monitor", "ups", "--json")
    _no_secrets(result.stdout, result.stderr)
    doc = json.loads(result.stdout)
    devices = {d["device"]: d for d in doc["devices"]}
    assert devices["login-ok"]["status"] == "OK"
    for name in ("login-bad", "login-admin"):  # wrong password; a user without upsmon
        assert devices[name]["status"] == "UNKNOWN"
        assert "ERR ACCESS-DENIED: access denied" in devices[name]["error"]
        assert devices[name]["error"].startswith(f"{name} (rack1@127.0.0.1:{nut_lab.port}): ")
    assert devices["ghost"]["status"] == "UNKNOWN"
    assert "ERR UNKNOWN-UPS" in devices["ghost"]["error"]
    assert result.returncode == 3
    assert "User monitor@127.0.0.1 logged into UPS [rack1]" in nut_lab.logs()


def test_stale_driver_is_unknown_but_critical_after_on_battery(
    nut_lab: NutLab, tmp_path: Path
) -> None:
    inv = ups_inventory(tmp_path / "inventory.yaml", {"rack2-ups": nut_device(nut_lab, "rack2")})
    try:
        assert _check(inv).status == Status.OK  # last seen: OL
        nut_lab.stop_driver("rack2")
        health = _by_name(_check(inv))["rack2-ups"]
        assert health.status == Status.UNKNOWN
        assert "ERR DRIVER-NOT-CONNECTED" in health.error
        assert "last seen OL" in health.error

        nut_lab.set_state("rack2", ups__status="OB DISCHRG")
        nut_lab.start_driver("rack2")
        nut_lab.wait_for("rack2", "ups.status", "OB DISCHRG")
        assert _check(inv).status == Status.WARNING  # last seen: OB
        nut_lab.stop_driver("rack2")
        health = _by_name(_check(inv))["rack2-ups"]
        assert health.status == Status.CRITICAL
        assert "on battery: assume low battery" in health.error
    finally:
        nut_lab.set_state("rack2")
        if "rack2" not in nut_lab.drivers:
            nut_lab.start_driver("rack2")
        nut_lab.wait_for("rack2", "ups.status", "OL")


class _Lines:
    """The stdout lines of a running process, read by a thread (bounded waits)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        stream = proc.stdout
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.queue.put(line.rstrip("\n"))

    def next(self, timeout: float = 20.0) -> str:
        return self.queue.get(timeout=timeout)


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(inv: Path, *args: str) -> tuple[subprocess.Popen[str], _Lines]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "opskit", "-i", str(inv), "monitor", "ups", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        procs.append(proc)
        return proc, _Lines(proc)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_watch_prints_transitions_and_stops_on_ctrl_c(
    nut_lab: NutLab, tmp_path: Path, watch: Any
) -> None:
    inv = ups_inventory(tmp_path / "inventory.yaml", {"rack1-ups": nut_device(nut_lab, "rack1")})
    proc, lines = watch(inv, "--watch", "0.5", "--count", "600")
    try:
        first = lines.next()
        assert first.endswith(" rack1-ups OL (OK)"), first
        assert first[:4].isdigit() and "T" in first.split()[0]  # an ISO timestamp
        for status, expect in (
            ("OB DISCHRG", "rack1-ups OL -> OB (WARNING: on battery (30 min / 100 % left))"),
            ("OB LB DISCHRG", "rack1-ups OB -> OB LB (CRITICAL: on battery, low battery ("),
            ("OL CHRG", "rack1-ups OB LB -> OL (OK)"),
        ):
            nut_lab.set_state("rack1", ups__status=status)
            line = lines.next()
            assert expect in line, line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        assert proc.stderr is not None
        assert "watch stopped" in proc.stderr.read()
    finally:
        nut_lab.set_state("rack1")
        nut_lab.wait_for("rack1", "ups.status", "OL")


def test_upsd_stopped_mid_run_after_on_battery(
    nut_lab_private: NutLab, tmp_path: Path, watch: Any
) -> None:
    lab = nut_lab_private
    inv = ups_inventory(tmp_path / "inventory.yaml", {"rack1-ups": nut_device(lab, "rack1")})
    proc, lines = watch(inv, "--watch", "0.5", "--count", "600", "--json")
    assert json.loads(lines.next())["to"] == "OL"
    lab.set_state("rack1", ups__status="OB DISCHRG")
    assert json.loads(lines.next())["to"] == "OB"
    lab.stop_upsd()
    event = json.loads(lines.next())
    assert (event["from"], event["to"], event["status"]) == ("OB", "no data", "CRITICAL")
    assert "cannot connect" in event["message"]
    assert "on battery: assume low battery" in event["message"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 2  # the last poll's status


def test_starttls(nut_tls_lab: NutLab, nut_lab: NutLab, tmp_path: Path) -> None:
    assert nut_tls_lab.ca_file is not None
    inv = ups_inventory(
        tmp_path / "inventory.yaml",
        {
            "tls-ok": nut_device(
                nut_tls_lab, "rack1", tls=True, ca_file=str(nut_tls_lab.ca_file),
                credentials="nut-mon",
            ),
            "tls-untrusted": nut_device(nut_tls_lab, "rack1", tls=True),
            "tls-unverified": nut_device(nut_tls_lab, "rack1", tls=True, tls_verify=False),
            "tls-not-offered": nut_device(nut_lab, "rack1", tls=True),
        },
    )  # fmt: skip
    devices = _by_name(_check(inv))
    assert devices["tls-ok"].status == Status.OK
    assert devices["tls-ok"].info["tls"] is True
    assert devices["tls-unverified"].status == Status.OK
    assert "TLS handshake failed: CERTIFICATE_VERIFY_FAILED" in devices["tls-untrusted"].error
    assert "ERR FEATURE-NOT-CONFIGURED: STARTTLS not configured" in (
        devices["tls-not-offered"].error
    )
    assert "SSL handshake done successfully" in nut_tls_lab.logs()


class _BadServer:
    """A TCP peer that misbehaves on purpose: says nothing, hangs up, or talks nonsense."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(10)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(1024)
                if self.mode == "garbage":
                    conn.sendall(b"HELLO THERE\n")
                    conn.recv(1024)
                elif self.mode == "silent":
                    conn.recv(1024)  # until the client gives up
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        self.thread.join(10)


@pytest.mark.parametrize(
    ("mode", "code", "text"),
    [
        ("silent", "TIMEOUT", "no reply within 0.5s"),
        ("hangup", "DISCONNECTED", "upsd closed the connection"),
        ("garbage", "MALFORMED", "expected 'BEGIN LIST VAR rack1', got 'HELLO THERE'"),
    ],
    ids=["timeout", "dropped", "malformed"],
)
def test_misbehaving_peers_give_one_line_errors(mode: str, code: str, text: str) -> None:
    server = _BadServer(mode)
    try:
        target = NutTarget(device="ups9", host="127.0.0.1", ups="rack1", port=server.port,
                           timeout=0.5)  # fmt: skip
        with pytest.raises(NutError) as info:
            asyncio.run(read_ups(target))
    finally:
        server.close()
    assert info.value.code == code
    message = str(info.value)
    assert message.startswith(f"ups9 (rack1@127.0.0.1:{server.port}): ")
    assert text in message and "\n" not in message


def test_connection_refused() -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nobody listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = NutTarget(device="ups9", host="127.0.0.1", ups="rack1", port=port, timeout=2)
    with pytest.raises(NutError) as info:
        asyncio.run(read_ups(target))
    assert info.value.code == "CONNECT"
    assert "cannot connect" in str(info.value)
