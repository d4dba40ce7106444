"""Write the project's own snmpsim recordings into opskit/lab/data/snmp/.

The files are committed; rerun after editing this script (`python -m
tests.monitor.gen_snmprec`) and review the diff. Each file is one device state and its
name is its snmpsim community. Pairs `-a`/`-b` are two polls of one device 60 s apart
(sysUpTime moves by 6,000 ticks), so rates are exact in tests.
"""

from __future__ import annotations

from pathlib import Path

from opskit.lab.snmp import DATA_DIR

Row = tuple[str, int | str, object]

SYS = "1.3.6.1.2.1.1"
IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in oid.split("."))


def write(name: str, rows: list[Row]) -> None:
    # snmpsim needs lines sorted by OID, numerically, or walks come out of order.
    lines = [f"{oid}|{tag}|{value}" for oid, tag, value in sorted(rows, key=lambda r: _key(r[0]))]
    (DATA_DIR / f"{name}.snmprec").write_text("\n".join(lines) + "\n")


def system(descr: str, object_id: str, uptime: int, name: str) -> list[Row]:
    return [
        (f"{SYS}.1.0", 4, descr),
        (f"{SYS}.2.0", 6, object_id),
        (f"{SYS}.3.0", 67, uptime),
        (f"{SYS}.4.0", 4, "noc@example.net"),
        (f"{SYS}.5.0", 4, name),
        (f"{SYS}.6.0", 4, "Lab rack 1"),
    ]


def interface(
    idx: int,
    name: str,
    *,
    admin: int = 1,
    oper: int = 1,
    speed_mbps: int = 1000,
    in_octets: int = 0,
    out_octets: int = 0,
    in_errors: int = 0,
    out_errors: int = 0,
    in_discards: int = 0,
    out_discards: int = 0,
    hc: bool = True,
) -> list[Row]:
    rows: list[Row] = [
        (f"{IF}.1.{idx}", 2, idx),
        (f"{IF}.2.{idx}", 4, name),
        (f"{IF}.3.{idx}", 2, 6),
        (f"{IF}.5.{idx}", 66, min(speed_mbps * 1_000_000, 4294967295)),
        (f"{IF}.7.{idx}", 2, admin),
        (f"{IF}.8.{idx}", 2, oper),
        (f"{IF}.10.{idx}", 65, in_octets % 2**32),
        (f"{IF}.13.{idx}", 65, in_discards),
        (f"{IF}.14.{idx}", 65, in_errors),
        (f"{IF}.16.{idx}", 65, out_octets % 2**32),
        (f"{IF}.19.{idx}", 65, out_discards),
        (f"{IF}.20.{idx}", 65, out_errors),
    ]
    if hc:
        rows += [
            (f"{IFX}.1.{idx}", 4, name),
            (f"{IFX}.6.{idx}", 70, in_octets),
            (f"{IFX}.10.{idx}", 70, out_octets),
            (f"{IFX}.15.{idx}", 66, speed_mbps),
            (f"{IFX}.18.{idx}", 4, f"link {idx}"),
        ]
    return rows


def cisco_router() -> list[Row]:
    env = "1.3.6.1.4.1.9.9.13.1"
    rows = system(
        "Cisco IOS XE Software, Version 17.09.04a, ISR4331 (X86_64_LINUX_IOSD-UNIVERSALK9-M)",
        "1.3.6.1.4.1.9.1.1861",
        987654321,
        "core-rtr1",
    )
    rows += interface(1, "Gi0/0/0", in_octets=10**12, out_octets=5 * 10**11)
    rows += interface(2, "Gi0/0/1", admin=2, oper=2)
    rows += interface(3, "Gi0/0/2", admin=1, oper=2)
    rows += interface(4, "Lo0", speed_mbps=8000)
    # CISCO-PROCESS-MIB cpmCPUTotalTable: 5-minute average (Rev) 23 %.
    cpm = "1.3.6.1.4.1.9.9.109.1.1.1.1"
    rows += [(f"{cpm}.2.7", 2, 0), (f"{cpm}.8.7", 66, 23)]
    # CISCO-MEMORY-POOL-MIB: Processor and I/O pools (name, used, free).
    pool = "1.3.6.1.4.1.9.9.48.1.1.1"
    rows += [
        (f"{pool}.2.1", 4, "Processor"),
        (f"{pool}.2.2", 4, "I/O"),
        (f"{pool}.5.1", 66, 600_000_000),
        (f"{pool}.5.2", 66, 30_000_000),
        (f"{pool}.6.1", 66, 400_000_000),
        (f"{pool}.6.2", 66, 3_000_000),
    ]
    # CISCO-ENVMON-MIB: temperatures (descr, value, threshold, state), fans, PSUs.
    temps = [(1, "Inlet Temp Sensor", 31, 60, 1), (2, "CPU Temp Sensor", 48, 85, 1)]
    for i, descr, value, thr, state in temps:
        rows += [
            (f"{env}.3.1.2.{i}", 4, descr),
            (f"{env}.3.1.3.{i}", 66, value),
            (f"{env}.3.1.4.{i}", 2, thr),
            (f"{env}.3.1.6.{i}", 2, state),
        ]
    for i, descr, state in [(1, "Fan 1", 1), (2, "Fan 2", 3)]:
        rows += [(f"{env}.4.1.2.{i}", 4, descr), (f"{env}.4.1.3.{i}", 2, state)]
    for i, descr, state in [(1, "Power Supply 1", 1), (2, "Power Supply 2", 5)]:
        rows += [
            (f"{env}.5.1.2.{i}", 4, descr),
            (f"{env}.5.1.3.{i}", 2, state),
            (f"{env}.5.1.4.{i}", 2, 2),
        ]
    return rows


def switch48(poll: str) -> list[Row]:
    """48 access ports + 2 uplinks with 64-bit counters; poll "a" then "b" (60 s on)."""
    b = poll == "b"
    rows = system(
        "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4",
        "1.3.6.1.4.1.9.1.1208",
        500_000 + (6000 if b else 0),
        "access-sw1",
    )
    for i in range(1, 49):
        down = i > 40  # unused ports, shut down
        rows += interface(
            i,
            f"Gi1/0/{i}",
            admin=2 if down else 1,
            oper=2 if down else 1,
            in_octets=i * 10**9 + (i * 75_000 if b else 0),
            out_octets=i * 2 * 10**9 + (i * 150_000 if b else 0),
            # Port 7 collects 1,200 input errors in the 60 s: 20/s, over the crit limit.
            in_errors=100 + (1200 if b and i == 7 else 0),
        )
    # Uplinks: 10G, 2^40 bytes in (past 2^32: only right with 64-bit counters).
    for j, i in enumerate((49, 50)):
        rows += interface(
            i,
            f"Te1/1/{j + 1}",
            speed_mbps=10_000,
            in_octets=2**40 + (7_500_000_000 if b else 0),  # 1 Gbit/s over 60 s
            out_octets=2**41,
        )
    return rows


def switch32(poll: str) -> list[Row]:
    """An old switch with only 32-bit counters; port 1's ifInOctets wraps between polls."""
    b = poll == "b"
    rows = system(
        "HP J4813A ProCurve Switch 2524, revision F.05.17, ROM F.02.01",
        "1.3.6.1.4.1.11.2.3.7.11.19",
        100_000 + (6000 if b else 0),
        "old-sw1",
    )
    rows += interface(
        1,
        "1",
        speed_mbps=100,
        in_octets=2000 if b else 4_294_960_000,  # wrapped: 9,296 bytes in 60 s
        out_octets=60_000 if b else 0,
        hc=False,
    )
    rows += interface(2, "2", speed_mbps=100, admin=1, oper=2, hc=False)
    return rows


def entity_sensor() -> list[Row]:
    """An Arista-like switch: ENTITY-SENSOR-MIB sensors, HOST-RESOURCES CPU and memory."""
    rows = system(
        "Arista Networks EOS version 4.28.3M running on an Arista Networks DCS-7050SX-64",
        "1.3.6.1.4.1.30065.1.3011.7050.1958.64",
        4_200_000,
        "dc-leaf1",
    )
    rows += interface(1, "Ethernet1", speed_mbps=10_000, in_octets=5 * 10**12)
    rows += interface(2, "Management1", speed_mbps=1000)
    ent = "1.3.6.1.2.1.47.1.1.1.1"
    sens = "1.3.6.1.2.1.99.1.1.1"
    # index, name, type (8 celsius, 4 voltsDC, 10 rpm, 6 watts), scale (9 units, 8 milli),
    # precision, value, oper status (1 ok, 3 nonoperational)
    sensors = [
        (100006001, "Cpu temp sensor", 8, 9, 1, 415, 1),
        (100006002, "Rear temp sensor", 8, 9, 1, 781, 1),
        (100601110, "VRM1 12V", 4, 8, 0, 12050, 1),
        (100601111, "Fan Tray 1 Fan 1", 10, 9, 0, 5400, 1),
        (100601112, "Fan Tray 2 Fan 1", 10, 9, 0, 0, 3),
        (100601113, "PowerSupply1 input power", 6, 9, 0, 182, 1),
    ]
    for idx, name, typ, scale, prec, value, status in sensors:
        rows += [
            (f"{ent}.2.{idx}", 4, name),
            (f"{ent}.7.{idx}", 4, name),
            (f"{sens}.1.{idx}", 2, typ),
            (f"{sens}.2.{idx}", 2, scale),
            (f"{sens}.3.{idx}", 2, prec),
            (f"{sens}.4.{idx}", 2, value),
            (f"{sens}.5.{idx}", 2, status),
        ]
    # HOST-RESOURCES: two CPUs (hrProcessorLoad), RAM in hrStorage (1 KiB units).
    rows += [("1.3.6.1.2.1.25.3.3.1.2.1", 2, 12), ("1.3.6.1.2.1.25.3.3.1.2.2", 2, 18)]
    hr = "1.3.6.1.2.1.25.2.3.1"
    rows += [
        (f"{hr}.1.1", 2, 1),
        (f"{hr}.2.1", 6, "1.3.6.1.2.1.25.2.1.2"),
        (f"{hr}.3.1", 4, "RAM"),
        (f"{hr}.4.1", 2, 1024),
        (f"{hr}.5.1", 2, 8_000_000),
        (f"{hr}.6.1", 2, 7_000_000),
    ]
    return rows


def backwards() -> list[Row]:
    """Rows written out of OID order on purpose (see the writer below)."""
    return [
        *system("broken agent", "1.3.6.1.4.1.99999", 1000, "broken"),
        (f"{IF}.2.1", 4, "eth0"),
        (f"{IF}.2.2", 4, "eth1"),
        (f"{IF}.2.3", 4, "eth2"),
    ]


def main() -> None:
    write("cisco-router", cisco_router())
    write("switch48-a", switch48("a"))
    write("switch48-b", switch48("b"))
    write("switch32-a", switch32("a"))
    write("switch32-b", switch32("b"))
    write("entity-sensor", entity_sensor())
    # An agent whose walk goes backwards: snmpsim serves lines in file order, so put
    # ifDescr.3 before ifDescr.2 (found by trying: a GETBULK then steps back).
    rows = backwards()
    lines = [f"{o}|{t}|{v}" for o, t, v in sorted(rows, key=lambda r: _key(r[0]))]
    lines[-1], lines[-2] = lines[-2], lines[-1]
    Path(DATA_DIR / "broken-backwards.snmprec").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
