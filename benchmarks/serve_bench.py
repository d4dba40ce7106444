"""Benchmark: `opskit monitor serve` scraped per target, against Prometheus's snmp_exporter.

One net-snmp snmpd serves N UDP ports of 127.0.0.1 ("host" agents: the machine's
interfaces, hrStorage, laLoad, system group). Both servers run side by side for the
whole script:

* opskit: `opskit monitor serve --cache 0` (every scrape polls; two scrapes of one device
  at the same moment still share a poll), `/metrics?device=NAME`;
* anchor: Debian's prometheus-snmp-exporter with the project's copy of the `if_mib_health`
  module (benchmarks/data/snmp_exporter.yml), `/snmp?target=127.0.0.1:PORT&module=...`.

Two ways of scraping, each alternating between the two servers (the order flips every
round, so a busy machine slows both alike):

1. curl: one scrape per device, `--parallel-max 16` (the issue's "curl -P16"); wall time,
   the server process's CPU seconds per scrape, failed scrapes;
2. a real Prometheus with one job of N targets (the multi-target relabelling both
   exporters document), `scrape_interval` S: after a few intervals, Prometheus's own
   `scrape_duration_seconds` (mean, median, max), scrapes that failed (`up == 0`), and
   the server's CPU seconds per scrape.

    python benchmarks/serve_bench.py [--agents 500] [--parallel 16] [--rounds 3]
                                     [--prometheus-interval 10] [--prometheus-rounds 3]
                                     [--prometheus-repeats 2] [--no-prometheus]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from monitor_bench import free_udp_ports, write_inventory  # noqa: E402

from opskit.lab import Peer, free_port, wait_until  # noqa: E402
from opskit.lab.snmp import start_snmpd  # noqa: E402

EXPORTER_CONFIG = ROOT / "benchmarks" / "data" / "snmp_exporter.yml"
MODULE = "if_mib_health"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def get(url: str, timeout: float = 30) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@dataclass
class Server:
    name: str
    peer: Peer
    base: str
    urls: list[str]
    # Prometheus job: the path, the query parameter the target goes in, the targets
    path: str
    param: str
    targets: list[str]
    module: str | None = None

    def cpu(self) -> float:
        return process_cpu(self.peer.proc.pid)


@dataclass
class CurlRun:
    wall: float
    cpu: float
    failed: int
    body_bytes: int


def curl_round(server: Server, parallel: int, work: Path) -> CurlRun:
    """Every URL once, `parallel` at a time, by one curl process."""
    config = work / f"curl-{server.name}.txt"
    config.write_text(
        "".join(f'url = "{u}"\noutput = "/dev/null"\n' for u in server.urls),
    )
    cpu = server.cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        ["curl", "-sS", "--parallel", "--parallel-max", str(parallel), "--max-time", "60",
         "-w", "%{http_code} %{size_download}\n", "-K", str(config)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    cpu = server.cpu() - cpu
    codes = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    failed = sum(1 for c in codes if c[0] != "200") + (len(server.urls) - len(codes))
    return CurlRun(wall, cpu, failed, sum(int(c[1]) for c in codes if len(c) > 1))


def prometheus_config(server: Server, interval: float, where: str) -> str:
    """One job, the multi-target relabelling of snmp_exporter's README."""
    params = f"    params: {{module: [{server.module}]}}\n" if server.module else ""
    return (
        f"global: {{scrape_interval: {interval:g}s, scrape_timeout: {interval:g}s}}\n"
        "scrape_configs:\n"
        f"  - job_name: {server.name}\n"
        f"    metrics_path: {server.path}\n"
        f"{params}"
        f"    static_configs: [{{targets: {json.dumps(server.targets)}}}]\n"
        "    relabel_configs:\n"
        "      - {source_labels: [__address__], target_label: " + f"__param_{server.param}}}\n"
        "      - {source_labels: [__param_" + server.param + "], target_label: instance}\n"
        f"      - {{target_label: __address__, replacement: '{where}'}}\n"
    )


@dataclass
class PromRun:
    scrapes: int
    failed: int
    mean: float
    median: float
    p90: float
    worst: float
    cpu_per_scrape: float


def prometheus_round(
    server: Server, interval: float, rounds: int, work: Path, prometheus: str
) -> PromRun:
    """Prometheus scrapes every target for `rounds` intervals; its own figures."""
    tag = f"{server.name}-{time.monotonic_ns()}"
    config = work / f"prometheus-{tag}.yml"
    config.write_text(prometheus_config(server, interval, server.base.split("//", 1)[1]))
    port = free_port()
    prom = Peer(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={work / tag}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        work / f"{tag}.log",
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api/v1/query?query="

    def query(expr: str) -> list[dict[str, object]]:
        status, body = get(api + urllib.parse.quote(expr), timeout=60)
        if status != 200:
            raise RuntimeError(f"prometheus query {expr!r}: {status} {body[:200]}")
        result: list[dict[str, object]] = json.loads(body)["data"]["result"]
        return result

    try:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/-/ready")[0] == 200, timeout=60,
                   what="prometheus")  # fmt: skip
        # The first interval spreads the targets out; measure the ones after it.
        time.sleep(interval * 1.2)
        cpu = server.cpu()
        started = time.time()
        time.sleep(interval * rounds)
        cpu = server.cpu() - cpu
        window = f"{int(time.time() - started)}s"
        samples = query(f"count_over_time(scrape_duration_seconds[{window}])")
        scrapes = sum(int(float(str(s["value"][1]))) for s in samples)  # type: ignore[index]
        down = query(f"count_over_time((up == 0)[{window}:{interval:g}s])")
        failed = sum(int(float(str(s["value"][1]))) for s in down)  # type: ignore[index]
        durations = [
            float(str(v[1]))  # type: ignore[index]
            for s in query(f"scrape_duration_seconds[{window}]")
            for v in s["values"]  # type: ignore[union-attr]
        ]
    finally:
        prom.stop()
    durations.sort()
    return PromRun(
        scrapes=scrapes,
        failed=failed,
        mean=statistics.fmean(durations),
        median=statistics.median(durations),
        p90=durations[int(0.9 * (len(durations) - 1))],
        worst=durations[-1],
        cpu_per_scrape=cpu / max(1, scrapes),
    )


def start_servers(work: Path, inventory: Path, ports: list[int]) -> tuple[Server, Server]:
    exporter_bin = shutil.which("prometheus-snmp-exporter")
    if exporter_bin is None:
        raise SystemExit("prometheus-snmp-exporter is not installed (bash install.sh --test)")
    o_port, e_port = free_port(), free_port()
    names = [f"h{i:03d}" for i in range(len(ports))]
    opskit = Server(
        "opskit",
        Peer(
            [
                sys.executable,
                "-m",
                "opskit",
                "-i",
                str(inventory),
                "monitor",
                "serve",
                "--listen",
                f"127.0.0.1:{o_port}",
                "--cache",
                "0",
            ],
            work / "serve.log",
            env={"PYTHONPATH": str(ROOT)},
        ),
        f"http://127.0.0.1:{o_port}",
        [f"http://127.0.0.1:{o_port}/metrics?device={n}" for n in names],
        "/metrics",
        "device",
        names,
    )
    agents = [f"127.0.0.1:{p}" for p in ports]
    exporter = Server(
        "snmp_exporter",
        Peer(
            [
                exporter_bin,
                f"--config.file={EXPORTER_CONFIG}",
                f"--web.listen-address=127.0.0.1:{e_port}",
                "--log.level=warn",
            ],
            work / "exporter.log",
        ),
        f"http://127.0.0.1:{e_port}",
        [f"http://127.0.0.1:{e_port}/snmp?target={a}&module={MODULE}" for a in agents],
        "/snmp",
        "target",
        agents,
        module=MODULE,
    )
    for s, probe in ((opskit, "/healthz"), (exporter, "/")):
        wait_until(lambda s=s, probe=probe: get(s.base + probe)[0] == 200, timeout=60,
                   what=s.name)  # fmt: skip
    return opskit, exporter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=500)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3, help="curl rounds per server")
    ap.add_argument("--prometheus-interval", type=float, default=10.0)
    ap.add_argument("--prometheus-rounds", type=int, default=3,
                    help="scrape intervals measured per server")  # fmt: skip
    ap.add_argument("--prometheus-repeats", type=int, default=2,
                    help="Prometheus runs per server, alternating")  # fmt: skip
    ap.add_argument("--no-prometheus", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="opskit-servebench-") as tmp:
        work = Path(tmp)
        ports = free_udp_ports(args.agents)
        agent = start_snmpd(work / "snmpd", ports=ports)
        servers: tuple[Server, ...] = ()
        try:
            inventory = write_inventory(work, ports, platform="generic", prefix="h")
            servers = start_servers(work, inventory, ports)
            print(f"agents: {args.agents} on one snmpd; CPUs: {os.cpu_count()}; "
                  f"curl --parallel-max {args.parallel}")  # fmt: skip
            for s in servers:  # warm-up: imports, snmpd's caches, the exporter's pools
                warm = Server(s.name, s.peer, s.base, s.urls[:50], s.path, s.param, s.targets)
                curl_round(warm, args.parallel, work)
            runs: dict[str, list[CurlRun]] = {s.name: [] for s in servers}
            for r in range(args.rounds):
                for s in servers if r % 2 == 0 else servers[::-1]:
                    run = curl_round(s, args.parallel, work)
                    runs[s.name].append(run)
                    n = len(s.urls)
                    print(f"  round {r + 1} {s.name:13s} {run.wall:6.2f} s, "
                          f"{run.cpu / n * 1000:5.1f} ms CPU/scrape, "
                          f"{run.failed} failed, {run.body_bytes / n:,.0f} B/scrape")  # fmt: skip
            o, e = runs["opskit"], runs["snmp_exporter"]
            o_wall = statistics.median(r.wall for r in o)
            e_wall = statistics.median(r.wall for r in e)
            o_cpu = statistics.median(r.cpu for r in o) / args.agents
            e_cpu = statistics.median(r.cpu for r in e) / args.agents
            print(f"curl, {args.agents} per-device scrapes, median of {args.rounds}: "
                  f"opskit {o_wall:.2f} s, snmp_exporter {e_wall:.2f} s, "
                  f"ratio {o_wall / e_wall:.2f}; CPU/scrape opskit {o_cpu * 1000:.1f} ms, "
                  f"snmp_exporter {e_cpu * 1000:.1f} ms, ratio {o_cpu / e_cpu:.2f}")  # fmt: skip

            prometheus = shutil.which("prometheus")
            if args.no_prometheus or prometheus is None:
                return
            print(f"prometheus: {args.agents} targets per job, scrape_interval "
                  f"{args.prometheus_interval:g}s, {args.prometheus_rounds} intervals "
                  "measured")  # fmt: skip
            prom: dict[str, list[PromRun]] = {s.name: [] for s in servers}
            for r in range(args.prometheus_repeats):
                for s in servers[::-1] if (r + args.rounds) % 2 else servers:
                    p = prometheus_round(s, args.prometheus_interval, args.prometheus_rounds,
                                         work, prometheus)  # fmt: skip
                    prom[s.name].append(p)
                    print(f"  {s.name:13s} scrape_duration_seconds mean {p.mean * 1000:.0f} ms, "
                          f"median {p.median * 1000:.0f} ms, p90 {p.p90 * 1000:.0f} ms, "
                          f"max {p.worst * 1000:.0f} ms; {p.scrapes} scrapes, {p.failed} down; "
                          f"{p.cpu_per_scrape * 1000:.1f} ms CPU/scrape")  # fmt: skip
            po, pe = prom["opskit"], prom["snmp_exporter"]
            mean_o = statistics.median(p.mean for p in po)
            mean_e = statistics.median(p.mean for p in pe)
            cpu_o = statistics.median(p.cpu_per_scrape for p in po)
            cpu_e = statistics.median(p.cpu_per_scrape for p in pe)
            print(f"prometheus, median of {args.prometheus_repeats}: scrape_duration_seconds mean "
                  f"opskit {mean_o * 1000:.0f} ms, snmp_exporter {mean_e * 1000:.0f} ms, ratio "
                  f"{mean_o / mean_e:.2f}; CPU/scrape opskit {cpu_o * 1000:.1f} ms, "
                  f"snmp_exporter {cpu_e * 1000:.1f} ms, ratio {cpu_o / cpu_e:.2f}")  # fmt: skip
            print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work slows both)")
        finally:
            for s in servers:
                s.peer.stop()
            agent.stop()


if __name__ == "__main__":
    main()
