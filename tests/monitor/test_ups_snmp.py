"""UPSes over SNMP: UPS-MIB and PowerNet-MIB recordings, decoded directly and served by
snmpsim (own recordings in opskit/lab/data/snmp/, and the real Eaton 93E from
snmpsim-data)."""

from __future__ import annotations

import bz2
import json
from pathlib import Path
from typing import Any

import pytest

from opskit.lab.snmp import DATA_DIR
from opskit.monitor.model import Status, worst
from opskit.monitor.ups import evaluate
from opskit.monitor.ups_snmp import hertz, reading_from_snmp, reading_from_ups_mib, volts
from tests.conftest import run_opskit
from tests.lab.nut import snmp_ups_devices, ups_inventory
from tests.lab.snmpsim_data import snmpsim_recording

INTEGER_TAGS = {"2", "65", "66", "67", "70"}


def read_snmprec(path: Path) -> dict[str, Any]:
    """A `.snmprec` recording as "dotted OID" -> value, typed as the engine returns them."""
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    values: dict[str, Any] = {}
    for line in text.splitlines():
        oid, tag, value = [*line.split("|", 2), "", ""][:3]
        if tag.endswith("x"):
            values[oid] = "0x" + value
        elif tag in INTEGER_TAGS:
            values[oid] = int(value)
        else:
            values[oid] = value
    return values


# (community, mib, flags, charge %, runtime s, input V, load %, status, problem text)
OWN = [
    ("ups-mib-online", "ups-mib", ("OL",), 100, 2700, 230, 35, Status.OK, ""),
    ("ups-mib-onbattery", "ups-mib", ("OB", "DISCHRG"), 80, 1500, 0, 35, Status.WARNING,
     "on battery"),
    ("ups-mib-lowbattery", "ups-mib", ("OB", "LB", "DISCHRG"), 18, 240, 0, 35, Status.CRITICAL,
     "on battery, low battery"),
    ("ups-mib-bypass", "ups-mib", ("OL", "RB", "BYPASS", "OVER"), 100, 2700, 231, 104,
     Status.CRITICAL, "on bypass"),
    ("ups-mib-brownout", "ups-mib", ("OL", "BOOST"), 100, 2400, 140, 35, Status.CRITICAL,
     "input voltage 140 V below 150 V"),
    ("apc-online", "powernet", ("OL",), 100.4, 3600, 231.3, 18.2, Status.OK, ""),
    ("apc-onbattery", "powernet", ("OB", "DISCHRG"), 85.4, 1800, 0.3, 18.2, Status.WARNING,
     "on battery"),
    ("apc-lowbattery", "powernet", ("OB", "LB", "DISCHRG"), 9.4, 180, 0.3, 18.2,
     Status.CRITICAL, "3 min left < 10 min"),
    ("apc-replacebattery", "powernet", ("OL", "RB"), 100.4, 1200, 229.3, 18.2, Status.WARNING,
     "replace battery"),
    ("apc-surge", "powernet", ("OL", "TRIM"), 100, 3600, 270, 18, Status.CRITICAL,
     "input voltage 270 V above 260 V"),
]  # fmt: skip


@pytest.mark.parametrize("case", OWN, ids=[c[0] for c in OWN])
def test_own_recordings_decode(case: tuple[Any, ...]) -> None:
    name, mib, flags, charge, runtime, vin, load, status, text = case
    reading = reading_from_snmp(read_snmprec(DATA_DIR / f"{name}.snmprec"))
    assert reading is not None
    assert reading.source == mib
    assert reading.status == flags
    assert (reading.battery_charge, reading.runtime_s) == (charge, runtime)
    assert (reading.input_voltage, reading.load) == (vin, load)
    readings = evaluate(reading)
    assert worst([r.status for r in readings]) == status
    assert text in " / ".join(r.message for r in readings if r.status != Status.OK)


def test_own_recordings_are_sorted_numerically() -> None:
    # snmpsim walks in file order: an unsorted file breaks walks ("OID not increasing").
    for path in sorted(DATA_DIR.glob("ups-*.snmprec")) + sorted(DATA_DIR.glob("apc-*.snmprec")):
        oids = [tuple(int(p) for p in line.split("|")[0].split(".")) for line in
                path.read_text().splitlines()]  # fmt: skip
        assert oids == sorted(oids), path.name


def test_ups_mib_details() -> None:
    bypass = reading_from_snmp(read_snmprec(DATA_DIR / "ups-mib-bypass.snmprec"))
    assert bypass is not None
    assert bypass.alarms == ("battery bad", "output overload", "on bypass")
    assert (bypass.self_test, bypass.self_test_failed) == ("error", True)
    apc = reading_from_snmp(read_snmprec(DATA_DIR / "apc-online.snmprec"))
    assert apc is not None
    assert (apc.model, apc.battery_temperature, apc.input_frequency) == ("Smart-UPS 1500", 24.5, 50)


def test_real_eaton_93e_recording() -> None:
    """snmpsim-data's UPS/eaton-93e-80: a three-phase UPS-MIB UPS nobody here made."""
    reading = reading_from_snmp(read_snmprec(snmpsim_recording("eaton-93e-80")))
    assert reading is not None
    assert (reading.manufacturer, reading.model) == ("EATON", "EATON 93E 80")
    assert reading.status == ("OL",)
    assert reading.input_voltages == (227, 227, 233)
    assert reading.input_frequency == 50.0  # 500 in tenths of a hertz
    assert reading.load == 21  # the most loaded of three output phases
    assert reading.runtime_s == 1092 * 60
    assert reading.self_test == "passed"
    assert worst([r.status for r in evaluate(reading)]) == Status.OK


def test_quirks_of_real_agents() -> None:
    # Values as in snmpsim-data's UPS/huawei-gse200m (tenths of volts, hundredths of a
    # hertz, -1 for "not measured") and UPS/eastpower-istars-swv053 (a stray ".0" on
    # table indexes).
    u = "1.3.6.1.2.1.33.1"
    huawei = {
        f"{u}.2.1.0": 2, f"{u}.2.3.0": -1, f"{u}.2.4.0": -1, f"{u}.2.7.0": -1,
        f"{u}.3.2.0": 1, f"{u}.3.3.1.2.1": 5000, f"{u}.3.3.1.3.1": 2369,
        f"{u}.4.1.0": 3, f"{u}.4.3.0": 1, f"{u}.4.4.1.2.1": 2199, f"{u}.4.4.1.5.1": 8,
    }  # fmt: skip
    r = reading_from_ups_mib(huawei)
    assert (r.input_voltage, r.output_voltage, r.input_frequency) == (236.9, 219.9, 50.0)
    assert (r.battery_charge, r.runtime_s, r.battery_temperature) == (None, None, None)
    eastpower = {
        f"{u}.3.2.0": 3, f"{u}.4.1.0": 3,
        f"{u}.3.3.1.3.1.0": 236, f"{u}.3.3.1.3.2.0": 236, f"{u}.3.3.1.3.3.0": 234,
    }  # fmt: skip
    assert reading_from_ups_mib(eastpower).input_voltages == (236, 236, 234)
    phoenixtec = {  # one line declared, three rows, two of them zero
        f"{u}.3.2.0": 1, f"{u}.4.1.0": 3,
        f"{u}.3.3.1.3.1": 238, f"{u}.3.3.1.3.2": 0, f"{u}.3.3.1.3.3": 0,
    }  # fmt: skip
    assert reading_from_ups_mib(phoenixtec).input_voltages == (238,)
    assert (volts(231), volts(2369), volts(-1), hertz(4999)) == (231, 236.9, None, 49.99)


def test_not_a_ups() -> None:
    assert reading_from_snmp(read_snmprec(DATA_DIR / "cisco-router.snmprec")) is None


def test_snmp_upses_through_snmpsim_and_the_cli(snmpsim_lab: Any, tmp_path: Path) -> None:
    communities = [c[0] for c in OWN] + ["eaton-93e-80", "cisco-router"]
    devices, credentials = snmp_ups_devices(snmpsim_lab.port, communities)
    inv = ups_inventory(tmp_path / "inventory.yaml", devices, credentials=credentials)
    result = run_opskit("-i", str(inv), "monitor", "ups", "--json")
    doc = json.loads(result.stdout)
    got = {d["device"]: d for d in doc["devices"]}
    for name, mib, flags, charge, _runtime, _vin, _load, status, _text in OWN:
        d = got[name]
        assert d["status"] == status.name, (name, d)
        assert d["info"]["mib"] == mib
        assert tuple(d["info"]["ups"]["status"]) == flags
        assert d["info"]["ups"]["battery_charge_percent"] == charge
    assert got["eaton-93e-80"]["status"] == "OK"
    assert got["eaton-93e-80"]["info"]["ups"]["input_voltages_volts"] == [227, 227, 233]
    assert got["cisco-router"]["status"] == "UNKNOWN"
    assert "neither UPS-MIB nor PowerNet-MIB" in got["cisco-router"]["error"]
    assert result.returncode == 2  # the worst: CRITICAL

    one = run_opskit("-i", str(inv), "monitor", "ups", "apc-onbattery", "--format", "nagios")
    assert one.returncode == 1, one.stdout + one.stderr
    first = one.stdout.splitlines()[0]
    assert first.startswith("OPSKIT WARNING - apc-onbattery ")
    assert "on battery" in first.split("|")[0]


def test_snmp_ups_timeout_is_unreachable(snmpsim_lab: Any, tmp_path: Path) -> None:
    # A community snmpsim does not serve gets no answer at all: a timeout.
    devices, credentials = snmp_ups_devices(snmpsim_lab.port, ["no-such-ups"])
    devices["no-such-ups"]["snmp"].update(timeout=0.3, retries=0)
    inv = ups_inventory(tmp_path / "inventory.yaml", devices, credentials=credentials)
    result = run_opskit("-i", str(inv), "monitor", "ups", "--json")
    device = json.loads(result.stdout)["devices"][0]
    assert device["status"] == "UNKNOWN"
    assert "no SNMP response" in device["error"]
    assert result.returncode == 3
