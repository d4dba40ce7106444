"""Benchmark: full health of 500 SNMP agents, opskit vs a loop of net-snmp tools.

One net-snmp snmpd serves 500 UDP ports of 127.0.0.1 (ports on the command line). Each
"agent" answers with 48 interfaces, CISCO-ENVMON-MIB temperatures/fans/PSUs and a
CISCO-PROCESS-MIB CPU (snmpd `override` lines), so a poll is a router/switch health
check: system group, the interface columns, env sensors, CPU.

To give snmpd 48 interfaces without touching the host, the script re-runs itself in a
new network namespace (`unshare -n`, needs root) with 24 veth pairs; without that it
falls back to the host's interfaces and says so.

    python benchmarks/monitor_bench.py [--agents 500] [--parallel 16] [--pysnmp]

Prints opskit's wall time, the baseline's (`snmpget` + `snmpbulkwalk` per table, 16 in
parallel, as a shell loop would), their ratio, and `opskit monitor check` start-up time
for one device.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opskit.lab.snmp import start_snmpd  # noqa: E402

ENVMON = "1.3.6.1.4.1.9.9.13.1"
CPM = "1.3.6.1.4.1.9.9.109.1.1.1"
# What a shell loop reads per agent: the system group, then whole tables.
BASELINE_WALKS = ("1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1", ENVMON, CPM)
SYSTEM = ("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0")


def env_overrides() -> str:
    """snmpd.conf lines adding ENVMON sensors and a CPU to every agent."""
    lines = []
    for i, (name, value) in enumerate([("Inlet", 31), ("CPU", 48), ("Outlet", 35)], 1):
        lines += [
            f'override {ENVMON}.3.1.2.{i} octet_str "{name} Temp Sensor"',
            f"override {ENVMON}.3.1.3.{i} unsigned {value}",
            f"override {ENVMON}.3.1.4.{i} integer 85",
            f"override {ENVMON}.3.1.6.{i} integer 1",
        ]
    for i in (1, 2):
        lines += [
            f'override {ENVMON}.4.1.2.{i} octet_str "Fan {i}"',
            f"override {ENVMON}.4.1.3.{i} integer 1",
            f'override {ENVMON}.5.1.2.{i} octet_str "Power Supply {i}"',
            f"override {ENVMON}.5.1.3.{i} integer 1",
            f"override {ENVMON}.5.1.4.{i} integer 2",
        ]
    lines.append(f"override {CPM}.1.8.1 unsigned 12")
    return "\n".join(lines) + "\n"


def make_interfaces(pairs: int) -> int:
    """Add veth pairs in this (private) network namespace; returns interfaces up."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for i in range(pairs):
        subprocess.run(
            ["ip", "link", "add", f"a{i}", "type", "veth", "peer", "name", f"b{i}"], check=True
        )
        subprocess.run(["ip", "link", "set", f"a{i}", "up"], check=True)
        subprocess.run(["ip", "link", "set", f"b{i}", "up"], check=True)
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    return len(out.stdout.splitlines())


def free_udp_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):  # hold them all so no port repeats
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def write_inventory(
    directory: Path, ports: list[int], platform: str = "cisco_ios", prefix: str = "sw"
) -> Path:
    """One device per agent port, named PREFIX000, PREFIX001, ..."""
    doc = {
        "settings": {"state_dir": "state", "monitor": {"concurrency": 50}},
        "credentials": {"ro": {"community": "public"}},
        "sites": {"lab": {}},
        "devices": {
            f"{prefix}{i:03d}": {
                "site": "lab",
                "platform": platform,
                "host": "127.0.0.1",
                "snmp": {"credentials": "ro", "port": p, "timeout": 5, "retries": 2},
            }
            for i, p in enumerate(ports)
        },
    }
    path = directory / "inventory.yaml"
    path.write_text(json.dumps(doc))
    return path


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (net-snmp tools)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_opskit(inventory: Path, limit: int | None = None) -> tuple[float, float, int, int, int]:
    from opskit.inventory import load_inventory, select_devices
    from opskit.monitor.service import check_devices

    inv = load_inventory(inventory)
    devices = select_devices(inv)[:limit]
    start, cpu = time.perf_counter(), cpu_seconds()
    report = check_devices(inv, devices)
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    failed = sum(1 for d in report.devices if d.error)
    for why in sorted({str(d.error).split(": ", 1)[-1] for d in report.devices if d.error})[:3]:
        print(f"  failure: {why}")
    readings = sum(len(d.readings) for d in report.devices)
    ifaces = sum(1 for d in report.devices for r in d.readings if r.check == "if_status")
    return elapsed, cpu, failed, readings, ifaces


def run_baseline(ports: list[int], parallel: int) -> tuple[float, float, int, int]:
    get = shutil.which("snmpget") or "snmpget"
    walk = shutil.which("snmpbulkwalk") or "snmpbulkwalk"
    env = {**os.environ, "MIBS": "", "MIBDIRS": ""}

    def one(port: int) -> tuple[int, int]:
        agent = f"127.0.0.1:{port}"
        common = ["-v2c", "-c", "public", "-On", "-t", "5", "-r", "2", "-Le"]
        lines = 0
        r = subprocess.run([get, *common, agent, *SYSTEM], capture_output=True, env=env)
        bad = int(r.returncode != 0)
        lines += r.stdout.count(b"\n")
        for root in BASELINE_WALKS:
            r = subprocess.run([walk, *common, "-Cr25", agent, root], capture_output=True, env=env)
            bad += int(r.returncode != 0)
            lines += r.stdout.count(b"\n")
        return bad, lines

    start, cpu = time.perf_counter(), cpu_seconds()
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(one, ports))
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    return elapsed, cpu, sum(b for b, _ in results), sum(n for _, n in results)


def decode_cost(port: int, rounds: int = 30) -> tuple[int, float, float]:
    """Microseconds per varbind to decode one real 10-column GETBULK response: pyasn1 as
    pysnmp does (plus its value conversion), and opskit's own codec (`snmp_wire`)."""
    from pyasn1.codec.ber import decoder
    from pysnmp.proto import api

    from opskit.transport.snmp import wire as snmp_wire
    from opskit.transport.snmp.client import _convert_value

    cols = [(1, 3, 6, 1, 2, 1, 2, 2, 1, c) for c in (2, 5, 7, 8, 10, 13, 14, 16, 19, 20)]
    msg = snmp_wire.encode_request(1, b"public", snmp_wire.GET_BULK, 1, cols, 0, 25)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(msg, ("127.0.0.1", port))
        data = s.recvfrom(65535)[0]
    mod = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    start = time.process_time()
    for _ in range(rounds):
        m, _rest = decoder.decode(data, asn1Spec=mod.Message())
        vbs = mod.apiPDU.get_varbinds(mod.apiMessage.get_pdu(m))
        n = len([(tuple(name), _convert_value(value)) for name, value in vbs])
    slow = (time.process_time() - start) / rounds / n * 1e6
    start = time.process_time()
    for _ in range(rounds):
        snmp_wire.decode_message(data)
    fast = (time.process_time() - start) / rounds / n * 1e6
    return n, slow, fast


def startup_time(inventory: Path, repeat: int = 3) -> float:
    """Best wall time of `opskit monitor check -d sw000 -f nagios` as a process."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "opskit", "-i", str(inventory), "monitor", "check",
             "-d", "sw000", "-f", "nagios"],
            capture_output=True, cwd=ROOT, check=False,
        )  # fmt: skip
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=500)
    ap.add_argument("--parallel", type=int, default=16, help="baseline processes at once")
    ap.add_argument("--no-netns", action="store_true", help="do not use a network namespace")
    ap.add_argument(
        "--pysnmp",
        action="store_true",
        help="also poll through pysnmp (OPSKIT_SNMP_ENGINE=pysnmp, the engine before the "
        "own v2c codec): the before/after figure",
    )
    args = ap.parse_args()

    may_unshare = shutil.which("unshare") is not None and os.geteuid() == 0
    if not args.no_netns and may_unshare and os.environ.get("OPSKIT_BENCH_NETNS") != "1":
        os.environ["OPSKIT_BENCH_NETNS"] = "1"
        code = subprocess.run(["unshare", "-n", sys.executable, *sys.argv]).returncode
        if code == 0:
            return
        print("unshare -n failed: running on the host's interfaces", file=sys.stderr)
        os.environ["OPSKIT_BENCH_NETNS"] = "0"
    interfaces = 0
    if os.environ.get("OPSKIT_BENCH_NETNS") == "1":
        interfaces = make_interfaces(24)

    with tempfile.TemporaryDirectory(prefix="opskit-monbench-") as tmp:
        work = Path(tmp)
        ports = free_udp_ports(args.agents)
        agent = start_snmpd(work / "snmpd", ports=ports, extra_conf=env_overrides())
        try:
            inventory = write_inventory(work, ports)
            print(f"agents: {args.agents} on one snmpd; interfaces per agent: "
                  f"{interfaces or 'host'}; CPUs: {os.cpu_count()}")  # fmt: skip
            run_opskit(inventory, limit=20)  # warm-up: imports, snmpd's caches
            o_time, o_cpu, o_failed, o_readings, o_ifaces = run_opskit(inventory)
            print(f"opskit (one process): {o_time:.2f} s "
                  f"({o_cpu:.1f} CPU s), {o_failed} failed, {o_readings} readings, "
                  f"{o_ifaces} interfaces")  # fmt: skip
            if args.pysnmp:
                os.environ["OPSKIT_SNMP_ENGINE"] = "pysnmp"  # read by the client
                try:
                    p_time, p_cpu, p_failed, _, _ = run_opskit(inventory)
                finally:
                    del os.environ["OPSKIT_SNMP_ENGINE"]
                print(
                    f"opskit through pysnmp: {p_time:.2f} s "
                    f"({p_cpu:.1f} CPU s), {p_failed} failed; own codec is "
                    f"{p_time / o_time:.1f}x faster (wall), {p_cpu / o_cpu:.1f}x (CPU)"
                )
            b_time, b_cpu, b_failed, b_lines = run_baseline(ports, args.parallel)
            print(f"snmpget + snmpbulkwalk x{len(BASELINE_WALKS)} per agent, "
                  f"{args.parallel} in parallel: {b_time:.2f} s ({b_cpu:.1f} CPU s), "
                  f"{b_failed} failed, {b_lines} varbinds")  # fmt: skip
            print(
                f"ratio opskit / net-snmp loop: wall {o_time / b_time:.2f}, CPU {o_cpu / b_cpu:.2f}"
            )
            print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work slows both)")
            print(f"opskit monitor check start-up, one device: {startup_time(inventory):.2f} s")
            n, slow, fast = decode_cost(ports[0])
            print(
                f"decoding a {n}-varbind response: pyasn1 {slow:.0f} us/varbind, "
                f"opskit's codec {fast:.1f} us/varbind ({slow / fast:.0f}x)"
            )
        finally:
            agent.stop()


if __name__ == "__main__":
    main()
