"""`opskit monitor check/server` as cron and Nagios run them: a real process, each format
checked against its consumer (plugin guidelines, promtool, JSON)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_opskit
from tests.monitor.helpers import SECRETS, snmp_device, write_inventory

# Nagios plugin guidelines: "SERVICE STATUS - text | 'label'=value[UOM];[warn];[crit];[min];[max]"
STATUS_LINE = re.compile(r"^OPSKIT (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]+?)(?: \| (.*))?$")
PERF_ITEM = re.compile(r"^'(?:[^'=]|'')+'=-?[0-9.]+(?:s|%|B|KB|MB|TB|c)?(?:;-?[0-9.]*){0,4}$")
CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


@pytest.fixture
def lab_inventory(tmp_path: Path, snmpsim_lab: Any, snmpd_agent: Any) -> Path:
    return write_inventory(
        tmp_path,
        {
            "core-rtr1": snmp_device("cisco-router", snmpsim_lab.port),
            "dc-leaf1": {**snmp_device("entity-sensor", snmpsim_lab.port), "site": "branch"},
            "lab-host": {
                "platform": "server",
                "host": "127.0.0.1",
                "snmp": {"version": 3, "credentials": "v3", "port": snmpd_agent.port},
                "tags": ["servers"],
            },
            "panel": {"platform": "patch_panel"},
        },
        communities=("cisco-router", "entity-sensor"),
    )


def _no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_nagios_output_follows_the_plugin_guidelines(lab_inventory: Path) -> None:
    r = run_opskit("-i", str(lab_inventory), "monitor", "check", "--format", "nagios")
    first, *long_text = r.stdout.splitlines()
    m = STATUS_LINE.match(first)
    assert m, first
    assert r.returncode == CODES[m.group(1)] == 2  # the router's fan 2 failed
    assert "core-rtr1 Fan 2 critical" in m.group(2)
    perf = m.group(3).split(" '")
    items = [perf[0]] + ["'" + p for p in perf[1:]]
    assert all(PERF_ITEM.match(item) for item in items), items
    assert "'core-rtr1 cpu'=23%;80;95;0;100" in items
    assert any(line.startswith("CRITICAL: core-rtr1 Fan 2") for line in long_text)
    _no_secrets(r.stdout, r.stderr)


def test_prometheus_output_passes_promtool_and_textfile(lab_inventory: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (apt-get install prometheus)")
    textfile = lab_inventory.parent / "tf" / "opskit.prom"
    r = run_opskit(
        "-i", str(lab_inventory), "monitor", "check", "-f", "prometheus",
        "--textfile", str(textfile),
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    check = subprocess.run(
        [promtool, "check", "metrics"], input=r.stdout, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert textfile.read_text() == r.stdout
    assert not list(textfile.parent.glob(".*"))  # no temp file left behind
    assert (
        'opskit_fan_speed_rpm{device="dc-leaf1",sensor="Fan Tray 1 Fan 1",site="branch"}'
        in r.stdout
    )
    assert 'opskit_device_up{device="lab-host",site="hq"} 1.0' in r.stdout
    assert re.search(r'opskit_disk_percent\{device="lab-host",mountpoint="/",site="hq"\}', r.stdout)
    _no_secrets(r.stdout, r.stderr)


def test_json_and_text_and_selection(lab_inventory: Path) -> None:
    r = run_opskit("-i", str(lab_inventory), "monitor", "check", "--json", "--site", "branch")
    doc = json.loads(r.stdout)
    assert r.returncode == doc["exit_code"] == 2
    assert [d["device"] for d in doc["devices"]] == ["dc-leaf1"]
    rear = next(x for x in doc["devices"][0]["readings"] if x["subject"] == "Rear temp sensor")
    assert rear | {"labels": None} == rear | {
        "check": "temperature",
        "value": 78.1,
        "unit": "celsius",
        "status": "CRITICAL",
        "warn": 60,
        "crit": 75,
        "labels": None,
    }
    r = run_opskit("-i", str(lab_inventory), "monitor", "check", "--tag", "servers")
    lines = r.stdout.splitlines()
    assert "\x1b[" not in r.stdout  # plain text when piped
    assert lines[-1] == "overall: " + lines[-2].split()[0] + " (1 devices)"
    assert "lab-host" in lines[-2]
    _no_secrets(r.stdout, r.stderr)


def test_wrong_v3_credentials_give_a_clear_error(lab_inventory: Path) -> None:
    doc = json.loads(lab_inventory.read_text())
    doc["devices"]["lab-host"]["snmp"]["credentials"] = "v3-wrong"
    lab_inventory.write_text(json.dumps(doc))
    r = run_opskit("-i", str(lab_inventory), "monitor", "check", "-d", "lab-host", "-f", "nagios")
    assert r.returncode == 3
    assert r.stdout.startswith("OPSKIT UNKNOWN - lab-host (127.0.0.1:")
    assert "SNMPv3 authentication failed for user 'opskitv3'" in r.stdout
    _no_secrets(r.stdout, r.stderr)
    assert "not-the-password-1" not in r.stdout + r.stderr


def test_bad_input_is_unknown_for_nagios(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, {"x": {"host": "127.0.0.1", "snmp": {"version": 5}}})
    r = run_opskit("-i", str(path), "monitor", "check", "-f", "nagios")
    assert r.returncode == 3
    assert (
        r.stdout.startswith("OPSKIT UNKNOWN - ") and "snmp version must be 1, 2c or 3" in r.stdout
    )
    r = run_opskit("-i", str(path), "monitor", "check")
    assert r.returncode == 2 and "opskit: error:" in r.stderr


def test_monitor_server_local(tmp_path: Path) -> None:
    r = run_opskit("-i", str(tmp_path / "none.yaml"), "monitor", "server", "--json", "--name", "me")
    doc = json.loads(r.stdout)
    (dev,) = doc["devices"]
    checks = {x["check"] for x in dev["readings"]}
    assert {"uptime", "cpu", "memory", "disk", "inodes", "load"} <= checks
    assert r.returncode == doc["exit_code"] and dev["device"] == "me"
