"""Device health over SNMP against snmpsim: own recordings (router, 48-port switch with
64-bit counters, 32-bit switch that wraps, ENTITY-SENSOR device) and real ones from
snmpsim-data (Cisco c3560/c3750)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from opskit.inventory import load_inventory, select_devices
from opskit.lab import free_port
from opskit.monitor.model import DeviceHealth, HealthReport, Reading, Status
from opskit.monitor.service import STATE_FILE, check_devices
from tests.monitor.helpers import snmp_device, write_inventory

OWN = ("cisco-router", "switch48-a", "switch48-b", "switch32-a", "switch32-b", "entity-sensor")
REAL = ("cisco-c3560", "cisco-c3750", "eaton-93e-80", "arista-dcs-7150s-52-cl")


def poll(path: Path, names: list[str] | None = None, **kw: Any) -> HealthReport:
    inv = load_inventory(path)
    return check_devices(inv, select_devices(inv, names or []), **kw)


def readings(health: DeviceHealth, check: str) -> dict[str, Reading]:
    return {r.subject: r for r in health.readings if r.check == check}


def inventory(tmp_path: Path, lab: Any, devices: dict[str, str], **kw: Any) -> Path:
    return write_inventory(
        tmp_path,
        {name: snmp_device(comm, lab.port) for name, comm in devices.items()},
        communities=OWN + REAL,
        **kw,
    )


def test_cisco_router_envmon_cpu_memory_interfaces(tmp_path: Path, snmpsim_lab: Any) -> None:
    path = inventory(tmp_path, snmpsim_lab, {"core-rtr1": "cisco-router"})
    (dev,) = poll(path).devices
    assert dev.error is None
    assert dev.status == Status.CRITICAL
    fans = readings(dev, "fan")
    assert fans["Fan 2"].status == Status.CRITICAL and fans["Fan 2"].value == "critical"
    assert fans["Fan 1"].status == Status.OK
    psus = readings(dev, "psu")
    assert psus["Power Supply 2"].value == "notPresent"
    assert psus["Power Supply 2"].status == Status.OK  # an empty slot is not a failure
    temps = readings(dev, "temperature")
    # The device's own limit (CPU sensor 85 C) is used, not the 60/75 default.
    assert temps["CPU Temp Sensor"].value == 48 and temps["CPU Temp Sensor"].crit == 85
    assert readings(dev, "cpu")[""].value == 23
    mem = readings(dev, "memory")
    assert mem["Processor"].value == 60 and mem["I/O"].status == Status.WARNING
    status = readings(dev, "if_status")
    assert status["Gi0/0/2"].status == Status.WARNING  # admin up, oper down
    assert status["Gi0/0/1"].status == Status.OK  # admin down is not a problem
    assert status["Gi0/0/1"].value == "admin-down"
    assert dev.info["mibs"] == ["CISCO-ENVMON-MIB", "CISCO-MEMORY-POOL-MIB", "CISCO-PROCESS-MIB"]


def _repoint(path: Path, device: str, community: str) -> None:
    # The same device, polled again: its agent now answers with the later recording.
    doc = json.loads(path.read_text())
    doc["devices"][device]["snmp"]["credentials"] = community
    path.write_text(json.dumps(doc))


def test_rates_between_polls_64_bit(tmp_path: Path, snmpsim_lab: Any) -> None:
    path = inventory(tmp_path, snmpsim_lab, {"access-sw1": "switch48-a"})
    (first,) = poll(path).devices
    assert first.info["counters"] == "64-bit"
    assert not readings(first, "if_in")  # no rates on the first poll
    assert (tmp_path / "state" / STATE_FILE).exists()
    _repoint(path, "access-sw1", "switch48-b")
    (second,) = poll(path).devices
    rates = readings(second, "if_in")
    # Uplink: 7.5e9 bytes in the 60 s between the recordings (sysUpTime +6000 ticks).
    assert rates["Te1/1/1"].value == pytest.approx(1e9)
    assert rates["Te1/1/1"].max == 10e9
    assert rates["Gi1/0/3"].value == pytest.approx(3 * 75_000 * 8 / 60)
    errors = readings(second, "if_in_errors")
    assert errors["Gi1/0/7"].value == pytest.approx(20.0)
    assert errors["Gi1/0/7"].status == Status.CRITICAL
    assert errors["Gi1/0/8"].value == 0 and errors["Gi1/0/8"].status == Status.OK
    assert readings(second, "if_status")["Gi1/0/41"].value == "admin-down"
    assert "Gi1/0/41" not in rates  # shut ports get no rate readings
    assert second.status == Status.CRITICAL


def test_32_bit_counters_wrap_between_polls(tmp_path: Path, snmpsim_lab: Any) -> None:
    path = inventory(tmp_path, snmpsim_lab, {"old-sw1": "switch32-a"})
    (first,) = poll(path).devices
    assert first.info["counters"] == "32-bit"
    _repoint(path, "old-sw1", "switch32-b")
    (second,) = poll(path).devices
    rate = readings(second, "if_in")["1"]
    assert rate.value == pytest.approx((2**32 - 4_294_960_000 + 2000) * 8 / 60)
    assert readings(second, "if_out")["1"].value == pytest.approx(60_000 * 8 / 60)


def test_reboot_detected_when_uptime_goes_back(tmp_path: Path, snmpsim_lab: Any) -> None:
    path = inventory(tmp_path, snmpsim_lab, {"access-sw1": "switch48-b"})
    poll(path)
    _repoint(path, "access-sw1", "switch48-a")  # uptime 60 s lower than last time
    (dev,) = poll(path).devices
    uptime = readings(dev, "uptime")[""]
    assert uptime.status == Status.WARNING and "rebooted" in uptime.message
    assert not readings(dev, "if_in")  # counters restarted: no rates this time


def test_entity_sensor_scale_precision_and_thresholds(tmp_path: Path, snmpsim_lab: Any) -> None:
    path = inventory(tmp_path, snmpsim_lab, {"dc-leaf1": "entity-sensor"})
    (dev,) = poll(path).devices
    temps = readings(dev, "temperature")
    assert temps["Cpu temp sensor"].value == 41.5 and temps["Cpu temp sensor"].unit == "celsius"
    assert temps["Rear temp sensor"].value == 78.1
    assert temps["Rear temp sensor"].status == Status.CRITICAL  # default crit 75
    assert readings(dev, "voltage")["VRM1 12V"].value == pytest.approx(12.05)  # milli
    fans = readings(dev, "fan_speed")
    assert fans["Fan Tray 1 Fan 1"].value == 5400 and fans["Fan Tray 1 Fan 1"].unit == "rpm"
    # nonoperational: shown, not graded, no value (and so no perfdata) ...
    broken = fans["Fan Tray 2 Fan 1"]
    assert (broken.status, broken.graded, broken.state, broken.value) == (
        Status.OK,
        False,
        "nonoperational",
        None,
    )
    assert readings(dev, "cpu")[""].value == 15  # HOST-RESOURCES mean of 12 and 18
    assert readings(dev, "memory")["RAM"].value == 87.5

    # Thresholds merge defaults -> site -> role -> device: the device's own wins.
    doc = json.loads(path.read_text())
    doc["defaults"] = {"thresholds": {"temperature": {"warn": 50, "crit": 60}}}
    doc["roles"] = {"leaf": {"thresholds": {"temperature": {"crit": 80}}}}
    doc["devices"]["dc-leaf1"]["role"] = "leaf"
    doc["devices"]["dc-leaf1"]["thresholds"] = {
        "memory": {"warn": 90},
        "sensor_nonoperational": "critical",  # ... unless the shop grades that state
    }
    path.write_text(json.dumps(doc))
    (dev,) = poll(path).devices
    rear = readings(dev, "temperature")["Rear temp sensor"]
    assert (rear.warn, rear.crit, rear.status) == (50, 80, Status.WARNING)
    assert readings(dev, "memory")["RAM"].status == Status.OK
    broken = readings(dev, "fan_speed")["Fan Tray 2 Fan 1"]
    assert (broken.status, broken.graded) == (Status.CRITICAL, True)


@pytest.mark.parametrize("name", ["cisco-c3560", "cisco-c3750"])
def test_real_cisco_recordings(tmp_path: Path, snmpsim_lab: Any, name: str) -> None:
    path = inventory(tmp_path, snmpsim_lab, {name: name})
    (dev,) = poll(path).devices
    assert dev.error is None
    assert name.split("-")[1].upper() in str(dev.info["sys_descr"])
    assert {"CISCO-PROCESS-MIB", "CISCO-ENVMON-MIB"} <= set(dev.info["mibs"])
    assert 0 <= float(readings(dev, "cpu")[""].value or -1) <= 100
    assert readings(dev, "fan") and readings(dev, "psu")
    assert len(readings(dev, "if_status")) >= 19
    # Quirk of the c3560 recording: its one temperature sensor is in state "warning"
    # (ENVMON YELLOW), 61 C; the device's verdict is kept.
    if name == "cisco-c3560":
        (temp,) = readings(dev, "temperature").values()
        assert temp.value == 61 and temp.status == Status.WARNING


def test_arista_unavailable_fan_sensors_are_shown_not_graded(
    tmp_path: Path, snmpsim_lab: Any
) -> None:
    """A 7150S reports six fan sensors `unavailable`: they no longer make it UNKNOWN."""
    from opskit.monitor.render import perfdata, render_text_lines, report_dict

    path = inventory(tmp_path, snmpsim_lab, {"arista": "arista-dcs-7150s-52-cl"})
    report = poll(path)
    (dev,) = report.devices
    assert dev.error is None and len(dev.readings) > 200
    assert dev.status in (Status.OK, Status.WARNING, Status.CRITICAL)
    ungraded = [r for r in dev.readings if not r.graded]
    assert len(ungraded) == 6 and {r.state for r in ungraded} == {"unavailable"}
    assert all(r.status == Status.OK and r.value is None for r in ungraded)
    text = "\n".join(render_text_lines(report))
    assert "6 not graded" in text
    doc = report_dict(report)
    shown = [r for r in doc["devices"][0]["readings"] if r["graded"] is False]
    assert {r["subject"] for r in shown} == {r.subject for r in ungraded}
    perf = " ".join(perfdata(report))
    assert not any(f"'arista {r.check} {r.subject}'" in perf for r in ungraded)

    # A sensor that was ok at the last poll and is unavailable now: one WARNING.
    name = ungraded[0].subject
    state_path = tmp_path / "state" / STATE_FILE
    state = json.loads(state_path.read_text())
    state["arista"]["sensors_ok"] = [*state["arista"]["sensors_ok"], name]
    state_path.write_text(json.dumps(state))
    (dev,) = poll(path).devices
    changed = next(r for r in dev.readings if r.subject == name and r.state == "unavailable")
    assert changed.status == Status.WARNING and "became unavailable" in changed.message
    (dev,) = poll(path).devices  # still unavailable: back to not graded
    again = next(r for r in dev.readings if r.subject == name and r.state == "unavailable")
    assert again.status == Status.OK and not again.graded


def test_dead_device_costs_its_timeout_and_others_still_report(
    tmp_path: Path, snmpsim_lab: Any
) -> None:
    dead = free_port(socket.SOCK_DGRAM)
    path = write_inventory(
        tmp_path,
        {
            "core-rtr1": snmp_device("cisco-router", snmpsim_lab.port),
            "gone": snmp_device("cisco-router", dead, timeout=0.5, retries=0),
            "panel": {"platform": "patch_panel"},
            "no-snmp": {"host": "127.0.0.1"},
        },
        communities=OWN,
    )
    report = poll(path)
    assert [d.device for d in report.devices] == ["core-rtr1", "gone"]
    gone = report.devices[1]
    assert gone.status == Status.UNKNOWN and "no SNMP response" in (gone.error or "")
    assert report.devices[0].error is None
    report = poll(path, ["gone"], unreachable=Status.CRITICAL)
    assert report.status == Status.CRITICAL
