"""UPSes over SNMP: RFC 1628 UPS-MIB and APC PowerNet-MIB mapped to one UpsReading.

Vendor knowledge is data: the OID tables and value maps below. Decoders take a flat
mapping "dotted OID -> value" (ints and strs, None for missing), so the same code reads a
live agent (through `opskit.transport.snmp`) and a `.snmprec` recording in a test.

Quirks met in real recordings (snmpsim-data's UPS/ set), handled here:

* Huawei GSE200M reports upsInputVoltage 2369 and upsOutputVoltage 2199 (tenths of a
  volt, where RFC 1628 says RMS volts) and upsInputFrequency 5000 (hundredths of a hertz,
  where the RFC says tenths). No UPS input is 1000 V or more, nor a grid 100 Hz or more, so
  a voltage >= 1000 is read as tenths and a frequency >= 1000 (x0.1 Hz) as hundredths.
* The same Huawei and others answer -1 for what they do not measure (charge, minutes,
  temperature): negative means "not available".
* Eastpower iStars numbers its input/output table rows `1.0`, `2.0`, `3.0` (a stray `.0`
  on a table index), so tables are walked, never fetched by a guessed index.
* Phoenixtec declares upsInputNumLines 1 but has 3 rows (2 of them zero): only the first
  NumLines rows count, and all-zero rows of an unused phase are dropped.
* Ingrasys returns some INTEGERs as TimeTicks: values are read as plain numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opskit.monitor.ups import UpsReading, order_flags, to_number

if TYPE_CHECKING:
    from opskit.transport.snmp import SnmpClient, SnmpTarget

UPS_MIB = "1.3.6.1.2.1.33.1"
POWERNET_UPS = "1.3.6.1.4.1.318.1.1.1"

# RFC 1628 UPS-MIB scalars (each `.0`).
UPS_MIB_SCALARS: Mapping[str, str] = {
    "manufacturer": f"{UPS_MIB}.1.1.0",  # upsIdentManufacturer
    "model": f"{UPS_MIB}.1.2.0",  # upsIdentModel
    "battery_status": f"{UPS_MIB}.2.1.0",  # upsBatteryStatus
    "seconds_on_battery": f"{UPS_MIB}.2.2.0",  # upsSecondsOnBattery
    "minutes_remaining": f"{UPS_MIB}.2.3.0",  # upsEstimatedMinutesRemaining
    "charge": f"{UPS_MIB}.2.4.0",  # upsEstimatedChargeRemaining (%)
    "battery_temperature": f"{UPS_MIB}.2.7.0",  # upsBatteryTemperature (C)
    "input_num_lines": f"{UPS_MIB}.3.2.0",  # upsInputNumLines
    "output_source": f"{UPS_MIB}.4.1.0",  # upsOutputSource
    "output_num_lines": f"{UPS_MIB}.4.3.0",  # upsOutputNumLines
    "alarms_present": f"{UPS_MIB}.6.1.0",  # upsAlarmsPresent
    "test_result": f"{UPS_MIB}.7.3.0",  # upsTestResultsSummary
    "test_detail": f"{UPS_MIB}.7.4.0",  # upsTestResultsDetail
}
# UPS-MIB table columns, walked.
UPS_MIB_COLUMNS: Mapping[str, str] = {
    "input_frequency": f"{UPS_MIB}.3.3.1.2",  # upsInputFrequency (0.1 Hz)
    "input_voltage": f"{UPS_MIB}.3.3.1.3",  # upsInputVoltage (RMS V)
    "output_voltage": f"{UPS_MIB}.4.4.1.2",  # upsOutputVoltage (RMS V)
    "output_load": f"{UPS_MIB}.4.4.1.5",  # upsOutputPercentLoad (%)
    "alarm_descr": f"{UPS_MIB}.6.2.1.2",  # upsAlarmDescr (an upsWellKnownAlarms OID)
}
# upsOutputSource -> NUT status words.
UPS_MIB_SOURCE: Mapping[int, tuple[str, ...]] = {
    1: (),  # other
    2: ("OFF",),  # none
    3: ("OL",),  # normal
    4: ("OL", "BYPASS"),  # bypass
    5: ("OB", "DISCHRG"),  # battery
    6: ("OL", "BOOST"),  # booster
    7: ("OL", "TRIM"),  # reducer
}
# upsBatteryStatus -> words.
UPS_MIB_BATTERY: Mapping[int, tuple[str, ...]] = {3: ("LB",), 4: ("LB",)}  # low, depleted
# upsWellKnownAlarms (1.3.6.1.2.1.33.1.6.3.N) -> (words, text).
UPS_MIB_ALARMS: Mapping[int, tuple[tuple[str, ...], str]] = {
    1: (("RB",), "battery bad"),
    2: ((), "on battery"),
    3: (("LB",), "low battery"),
    4: (("LB",), "battery depleted"),
    5: (("ALARM",), "temperature bad"),
    6: ((), "input bad"),
    7: (("ALARM",), "output bad"),
    8: (("OVER",), "output overload"),
    9: (("BYPASS",), "on bypass"),
    10: (("ALARM",), "bypass bad"),
    11: (("OFF",), "output off as requested"),
    12: (("OFF",), "UPS off as requested"),
    13: (("ALARM",), "charger failed"),
    14: (("OFF",), "UPS output off"),
    15: (("OFF",), "UPS system off"),
    16: (("ALARM",), "fan failure"),
    17: (("ALARM",), "fuse failure"),
    18: (("ALARM",), "general fault"),
    19: (("ALARM",), "diagnostic test failed"),
    20: (("ALARM",), "communications lost"),
    21: ((), "awaiting power"),
    22: ((), "shutdown pending"),
    23: (("ALARM",), "shutdown imminent"),
    24: (("CAL",), "test in progress"),
}
UPS_MIB_TEST: Mapping[int, tuple[str, bool]] = {
    1: ("passed", False),
    2: ("warning", True),
    3: ("error", True),
    4: ("aborted", False),
    5: ("in progress", False),
    6: ("no test initiated", False),
}

# APC PowerNet-MIB (upsBasic/upsAdv/upsHighPrec groups), all scalars.
POWERNET_SCALARS: Mapping[str, str] = {
    "model": f"{POWERNET_UPS}.1.1.1.0",  # upsBasicIdentModel
    "battery_status": f"{POWERNET_UPS}.2.1.1.0",  # upsBasicBatteryStatus
    "charge": f"{POWERNET_UPS}.2.2.1.0",  # upsAdvBatteryCapacity (%)
    "battery_temperature": f"{POWERNET_UPS}.2.2.2.0",  # upsAdvBatteryTemperature (C)
    "runtime_ticks": f"{POWERNET_UPS}.2.2.3.0",  # upsAdvBatteryRunTimeRemaining
    "replace_battery": f"{POWERNET_UPS}.2.2.4.0",  # upsAdvBatteryReplaceIndicator
    "hp_charge": f"{POWERNET_UPS}.2.3.1.0",  # upsHighPrecBatteryCapacity (0.1 %)
    "hp_battery_temperature": f"{POWERNET_UPS}.2.3.2.0",  # (0.1 C)
    "input_voltage": f"{POWERNET_UPS}.3.2.1.0",  # upsAdvInputLineVoltage (V)
    "input_frequency": f"{POWERNET_UPS}.3.2.4.0",  # upsAdvInputFrequency (Hz)
    "hp_input_voltage": f"{POWERNET_UPS}.3.3.1.0",  # upsHighPrecInputLineVoltage (0.1 V)
    "hp_input_frequency": f"{POWERNET_UPS}.3.3.4.0",  # (0.1 Hz)
    "output_status": f"{POWERNET_UPS}.4.1.1.0",  # upsBasicOutputStatus
    "output_voltage": f"{POWERNET_UPS}.4.2.1.0",  # upsAdvOutputVoltage (V)
    "load": f"{POWERNET_UPS}.4.2.3.0",  # upsAdvOutputLoad (%)
    "hp_output_voltage": f"{POWERNET_UPS}.4.3.1.0",  # (0.1 V)
    "hp_load": f"{POWERNET_UPS}.4.3.3.0",  # (0.1 %)
    "test_result": f"{POWERNET_UPS}.7.2.3.0",  # upsAdvTestDiagnosticsResults
    "calibration": f"{POWERNET_UPS}.7.2.6.0",  # upsAdvTestCalibrationResults
}
# upsBasicOutputStatus -> words (as NUT's apc-mib reads them, plus the newer values).
POWERNET_OUTPUT: Mapping[int, tuple[str, ...]] = {
    2: ("OL",),  # onLine
    3: ("OB", "DISCHRG"),  # onBattery
    4: ("OL", "BOOST"),  # onSmartBoost
    5: ("OFF",),  # timedSleeping
    6: ("OL", "BYPASS"),  # softwareBypass
    7: ("OFF",),  # off
    8: (),  # rebooting
    9: ("OL", "BYPASS"),  # switchedBypass
    10: ("OL", "BYPASS"),  # hardwareFailureBypass
    11: ("OFF",),  # sleepingUntilPowerReturn
    12: ("OL", "TRIM"),  # onSmartTrim
    13: ("OL",),  # ecoMode
    14: ("OL",),  # hotStandby
    15: ("OB", "DISCHRG"),  # onBatteryTest
    16: ("OL", "BYPASS"),  # emergencyStaticBypass
    17: ("OL",),  # staticBypassStandby
    18: ("OL",),  # powerSavingMode
}
POWERNET_BATTERY: Mapping[int, tuple[str, ...]] = {3: ("LB",), 4: ("RB",)}  # low, fault
POWERNET_TEST: Mapping[int, tuple[str, bool]] = {
    1: ("ok", False),
    2: ("failed", True),
    3: ("invalid test", False),
    4: ("in progress", False),
}

Values = Mapping[str, Any]


def scalar_oids(kind: str) -> list[str]:
    """The scalar OIDs to GET for a MIB ("ups-mib" or "powernet")."""
    table = UPS_MIB_SCALARS if kind == "ups-mib" else POWERNET_SCALARS
    return list(table.values())


def detect(values: Values) -> str | None:
    """Which UPS MIB the agent answered: "powernet", "ups-mib" or None.

    PowerNet wins when both answer: APC cards that also serve UPS-MIB fill it from the
    same data, and PowerNet has the finer (high-precision) values.
    """
    if _int(values.get(POWERNET_SCALARS["output_status"])) is not None:
        return "powernet"
    if _int(values.get(UPS_MIB_SCALARS["output_source"])) is not None:
        return "ups-mib"
    return None


def _int(value: Any) -> int | None:
    number = to_number(value)
    return int(number) if number is not None else None


def _positive(value: Any, scale: float = 1.0) -> float | None:
    """A measured value: negative means "not available" (-1 on many agents)."""
    number = to_number(value)
    if number is None or number < 0:
        return None
    return round(number * scale, 3)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if text.startswith("0x"):
        try:
            text = bytes.fromhex(text[2:]).decode("utf-8", errors="replace").strip("\x00 ")
        except ValueError:
            return None
    return text or None


def _column(values: Values, column: str) -> list[tuple[str, Any]]:
    """Rows of one table column as (index suffix, value), in OID order."""
    prefix = column + "."
    rows = [(oid[len(prefix) :], v) for oid, v in values.items() if oid.startswith(prefix)]
    return sorted(rows, key=lambda row: _oid_key(row[0]))


def _oid_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in text.split("."))


def volts(raw: Any) -> float | None:
    """An RFC 1628 voltage in volts: values of 1000 and more are tenths (Huawei).

    >>> volts(231), volts(2369), volts(-1)
    (231.0, 236.9, None)
    """
    number = _positive(raw)
    if number is None:
        return None
    return round(number / 10, 1) if number >= 1000 else number


def hertz(raw: Any) -> float | None:
    """An RFC 1628 frequency (0.1 Hz) in hertz; 1000 and more are hundredths (Huawei).

    >>> hertz(500), hertz(5000), hertz(4999)
    (50.0, 50.0, 49.99)
    """
    number = _positive(raw)
    if number is None:
        return None
    return round(number / 100 if number >= 1000 else number / 10, 2)


def _phases(values: Values, column: str, lines: int | None, convert: Any) -> list[float]:
    rows = _column(values, column)
    if lines is not None and lines > 0:
        rows = rows[:lines]
    out = [convert(v) for _, v in rows]
    # An unused phase reads 0 on some agents (Phoenixtec): drop it unless it is the only one.
    real = [v for v in out if v is not None]
    nonzero = [v for v in real if v > 0]
    return nonzero if len(real) > 1 and nonzero else real


def reading_from_ups_mib(values: Values) -> UpsReading:
    """Normalize RFC 1628 UPS-MIB values ("dotted OID" -> value) into a UpsReading.

    >>> r = reading_from_ups_mib({"1.3.6.1.2.1.33.1.4.1.0": 5, "1.3.6.1.2.1.33.1.2.1.0": 3,
    ...                           "1.3.6.1.2.1.33.1.2.3.0": 4})
    >>> r.status, r.runtime_s
    (('OB', 'LB', 'DISCHRG'), 240.0)
    """
    s = UPS_MIB_SCALARS
    c = UPS_MIB_COLUMNS
    flags: list[str] = []
    alarms: list[str] = []
    flags += UPS_MIB_SOURCE.get(_int(values.get(s["output_source"])) or 1, ())
    flags += UPS_MIB_BATTERY.get(_int(values.get(s["battery_status"])) or 0, ())
    for _, descr in _column(values, c["alarm_descr"]):
        text = str(descr or "")
        if text.startswith(f"{UPS_MIB}.6.3."):
            number = _int(text.rsplit(".", 1)[-1]) or 0
            words, name = UPS_MIB_ALARMS.get(number, (("ALARM",), f"alarm {number}"))
            flags += words
            alarms.append(name)
    minutes = _positive(values.get(s["minutes_remaining"]))
    test = UPS_MIB_TEST.get(_int(values.get(s["test_result"])) or 0)
    detail = _text(values.get(s["test_detail"]))
    in_lines = _int(values.get(s["input_num_lines"]))
    out_lines = _int(values.get(s["output_num_lines"]))
    inputs = _phases(values, c["input_voltage"], in_lines, volts)
    outputs = _phases(values, c["output_voltage"], out_lines, volts)
    freqs = _phases(values, c["input_frequency"], in_lines, hertz)
    loads = _phases(values, c["output_load"], out_lines, _positive)
    return UpsReading(
        source="ups-mib",
        status=order_flags(flags),
        battery_charge=_positive(values.get(s["charge"])),
        runtime_s=minutes * 60 if minutes is not None else None,
        load=max(loads) if loads else None,
        input_voltage=inputs[0] if inputs else None,
        input_voltages=tuple(inputs),
        output_voltage=outputs[0] if outputs else None,
        input_frequency=freqs[0] if freqs else None,
        battery_temperature=_positive(values.get(s["battery_temperature"])),
        self_test=(f"{test[0]}: {detail}" if detail else test[0]) if test else None,
        self_test_failed=bool(test and test[1]),
        alarms=tuple(alarms),
        manufacturer=_text(values.get(s["manufacturer"])),
        model=_text(values.get(s["model"])),
    )


def _precise(values: Values, fine: str, coarse: str, scale: float = 0.1) -> float | None:
    """The high-precision value (tenths) when the agent has it, else the coarse one."""
    value = _positive(values.get(POWERNET_SCALARS[fine]), scale)
    if value is None:
        value = _positive(values.get(POWERNET_SCALARS[coarse]))
    return value


def reading_from_powernet(values: Values) -> UpsReading:
    """Normalize APC PowerNet-MIB values ("dotted OID" -> value) into a UpsReading.

    Runtime is TimeTicks (hundredths of a second); the high-precision group (tenths) is
    preferred where the card has it, as NUT's apc-mib does.

    >>> r = reading_from_powernet({"1.3.6.1.4.1.318.1.1.1.4.1.1.0": 3,
    ...                            "1.3.6.1.4.1.318.1.1.1.2.2.3.0": 48000})
    >>> r.status, r.runtime_s
    (('OB', 'DISCHRG'), 480.0)
    """
    p = POWERNET_SCALARS
    flags: list[str] = list(POWERNET_OUTPUT.get(_int(values.get(p["output_status"])) or 0, ()))
    flags += POWERNET_BATTERY.get(_int(values.get(p["battery_status"])) or 0, ())
    if _int(values.get(p["replace_battery"])) == 2:
        flags.append("RB")
    if _int(values.get(p["calibration"])) == 3:
        flags.append("CAL")
    ticks = _positive(values.get(p["runtime_ticks"]))
    test = POWERNET_TEST.get(_int(values.get(p["test_result"])) or 0)
    return UpsReading(
        source="powernet",
        status=order_flags(flags),
        battery_charge=_precise(values, "hp_charge", "charge"),
        runtime_s=ticks / 100 if ticks is not None else None,
        load=_precise(values, "hp_load", "load"),
        input_voltage=_precise(values, "hp_input_voltage", "input_voltage"),
        output_voltage=_precise(values, "hp_output_voltage", "output_voltage"),
        input_frequency=_precise(values, "hp_input_frequency", "input_frequency"),
        battery_temperature=_precise(values, "hp_battery_temperature", "battery_temperature"),
        self_test=test[0] if test else None,
        self_test_failed=bool(test and test[1]),
        manufacturer="APC",
        model=_text(values.get(p["model"])),
    )


def reading_from_snmp(values: Values) -> UpsReading | None:
    """Detect the MIB and normalize; None when the agent serves neither UPS MIB."""
    kind = detect(values)
    if kind == "powernet":
        return reading_from_powernet(values)
    if kind == "ups-mib":
        return reading_from_ups_mib(values)
    return None


async def read_snmp_ups(
    client: SnmpClient, target: SnmpTarget
) -> tuple[str | None, dict[str, Any]]:
    """Poll one UPS agent: GET both MIBs' scalars (one request), then walk the UPS-MIB
    tables when that is the MIB it speaks.

    Args:
        client: an `opskit.transport.snmp.SnmpClient`.
        target: its `SnmpTarget`.

    Returns:
        (the MIB detected or None, every value as "dotted OID" -> value).

    Raises:
        SnmpError / SnmpTimeout from the engine, as one line naming the device.
    """
    values: dict[str, Any] = dict(
        await client.get(target, [*scalar_oids("powernet"), *scalar_oids("ups-mib")])
    )
    kind = detect(values)
    if kind == "ups-mib":
        tables = await client.walk_columns(target, list(UPS_MIB_COLUMNS.values()))
        for column, rows in tables.items():
            for suffix, value in rows.items():
                values[f"{column}.{suffix}"] = value
    return kind, values
