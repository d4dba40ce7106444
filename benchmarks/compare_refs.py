"""Benchmark: backup, monitor and firmware of this tree against the same commands from
another commit (default: where this branch left `main`), run in the same script.

The other commit is checked out with `git worktree add --detach` into a temp directory.
Each job runs as a process (`python -m opskit ...`) with PYTHONPATH pointing at one tree
or the other, alternating (the order flips every round), so a busy machine slows both
alike; the peers (fake switches, one snmpd serving many agents) are started once, from
this tree's lab, and shared. Printed per job: the best and median wall time of each
tree, the median CPU seconds of its processes (user + system, their children included:
a busy machine disturbs it less than wall time), and the ratios this/base (below 1: this
tree is faster).

Jobs:

* backup: `backup run --json` of N fake Cisco switches (SSH and Telnet), a fresh
  repository each run (every config committed);
* monitor: `monitor check --format json` of M snmpd agents (48 interfaces each in a
  private network namespace when run as root, the host's interfaces otherwise);
* firmware-check: `firmware check --json` of the same agents (sysDescr over SNMP,
  catalogue, evaluation);
* firmware-versions: parse + sort 20,000 version strings per vendor (timed inside the
  process, start-up excluded).

    python benchmarks/compare_refs.py [--base REV] [--rounds 3] [--devices 60]
                                      [--agents 300] [--only backup,monitor,...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import monitor_bench  # noqa: E402  (its snmpd helpers)

from opskit.lab.fakeswitch import FakeSwitches  # noqa: E402

JOBS = ("backup", "monitor", "firmware-check", "firmware-versions")

VERSIONS_SCRIPT = r"""
import random, sys, time
from opskit.firmware.versions import sort_versions
r = random.Random(1)
make = {
    "cisco_ios": lambda: f"15.{r.randint(0, 2)}({r.randint(1, 7)})E{r.randint(0, 12)}",
    "cisco_xe": lambda: f"17.{r.randint(1, 15)}.{r.randint(1, 6)}{r.choice(['', 'a'])}",
    "juniper_junos": lambda: f"{r.randint(18, 24)}.{r.randint(1, 4)}R{r.randint(1, 3)}"
    + f"-S{r.randint(1, 12)}",
    "mikrotik_routeros": lambda: f"7.{r.randint(1, 18)}{r.choice(['', 'rc2', 'beta4'])}",
    "linux": lambda: f"{r.randint(0, 20)}.{r.randint(0, 30)}.{r.randint(0, 200)}",
}
data = {p: [f() for _ in range(20000)] for p, f in make.items()}
t0 = time.perf_counter()
for p, vs in data.items():
    known, unknown = sort_versions(p, vs)
    assert not unknown
print(time.perf_counter() - t0)
"""


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def cpu_seconds() -> float:
    """CPU time of this script's finished children (the opskit processes and theirs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def opskit(tree: Path, inventory: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU time of one `opskit` process run from `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cpu = cpu_seconds()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "opskit", "-i", str(inventory), *args],
        capture_output=True, text=True, env=env, cwd=inventory.parent, timeout=900,
    )  # fmt: skip
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu
    try:
        json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(f"{tree}: opskit {' '.join(args)} failed: {proc.stderr[-500:]}") from None
    return elapsed, cpu


def backup_inventory(directory: Path, switches: list[object], telnet: int) -> Path:
    lines = [
        "settings: {backup_repo: configs, state_dir: state, timeouts: {connect: 20, command: 60}}",
        "credentials:",
        "  fake: {username: admin, password: admin, enable_password: enablepw}",
        "sites: {lab: {}}",
        "devices:",
    ]
    for i, sw in enumerate(switches):
        telnet_dev = i < telnet
        port = sw.telnet_port if telnet_dev else sw.ssh_port  # type: ignore[attr-defined]
        platform = "cisco_ios_telnet" if telnet_dev else "cisco_ios"
        lines.append(
            f"  {sw.name}: {{site: lab, host: 127.0.0.1, port: {port}, "  # type: ignore[attr-defined]
            f"platform: {platform}, credentials: fake}}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "inventory.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def snmp_inventory(directory: Path, ports: list[int]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = monitor_bench.write_inventory(directory, ports)
    doc = json.loads(path.read_text())
    doc["settings"]["firmware_catalog"] = "firmware.yaml"
    path.write_text(json.dumps(doc))
    (directory / "firmware.yaml").write_text(
        "platforms:\n  cisco_ios:\n    releases:\n"
        '      - {version: "15.2(7)E10", status: recommended}\n'
    )
    return path


Times = dict[str, list[tuple[float, float]]]  # tree -> [(wall, cpu)]


def measure(
    name: str,
    trees: dict[str, Path],
    rounds: int,
    run: Callable[[str, Path, int], tuple[float, float]],
) -> tuple[str, Times]:
    times: Times = {label: [] for label in trees}
    for r in range(rounds):
        order = list(trees) if r % 2 == 0 else list(reversed(trees))
        for label in order:
            times[label].append(run(label, trees[label], r))
    return name, times


def _stats(runs: list[tuple[float, float]]) -> tuple[float, float, float]:
    walls = [w for w, _ in runs]
    return min(walls), statistics.median(walls), statistics.median(c for _, c in runs)


def report(name: str, times: Times) -> None:
    b_best, b_med, b_cpu = _stats(times["base"])
    n_best, n_med, n_cpu = _stats(times["this"])
    print(
        f"{name:<18} wall best/median: base {b_best:.2f}/{b_med:.2f} s, this "
        f"{n_best:.2f}/{n_med:.2f} s; CPU median: base {b_cpu:.2f} s, this {n_cpu:.2f} s | "
        f"ratio this/base: best {n_best / b_best:.2f}, median {n_med / b_med:.2f}, "
        f"CPU {n_cpu / b_cpu:.2f}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=None, help="commit to compare with (merge-base with main)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--devices", type=int, default=60, help="fake switches for backup")
    ap.add_argument("--telnet", type=int, default=10, help="of them over Telnet")
    ap.add_argument("--agents", type=int, default=300, help="snmpd agents for monitor/firmware")
    ap.add_argument("--only", default=",".join(JOBS), help="comma-separated jobs")
    ap.add_argument("--no-netns", action="store_true", help="do not use a network namespace")
    args = ap.parse_args()
    jobs = [j for j in args.only.split(",") if j]

    may_unshare = shutil.which("unshare") is not None and os.geteuid() == 0
    if not args.no_netns and may_unshare and os.environ.get("OPSKIT_BENCH_NETNS") != "1":
        os.environ["OPSKIT_BENCH_NETNS"] = "1"
        code = subprocess.run(["unshare", "-n", sys.executable, *sys.argv]).returncode
        raise SystemExit(code)
    interfaces = 0
    if os.environ.get("OPSKIT_BENCH_NETNS") == "1":
        interfaces = monitor_bench.make_interfaces(24)

    base_rev = args.base or git("merge-base", "HEAD", "main")
    this_rev = git("rev-parse", "--short", "HEAD")
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    with tempfile.TemporaryDirectory(prefix="opskit-refs-") as tmp:
        work = Path(tmp)
        base_tree = work / "base"
        git("worktree", "add", "--detach", str(base_tree), base_rev)
        trees = {"base": base_tree, "this": ROOT}
        print(
            f"base {base_rev[:10]} vs this {this_rev}{dirty}; {args.rounds} rounds, "
            f"alternating; CPUs {os.cpu_count()}; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        results = []
        try:
            if "backup" in jobs:
                names = [f"sw{i:03d}" for i in range(args.devices)]
                half = -(-len(names) // 2)
                labs = [
                    FakeSwitches(names[:half], work / "fs0.log", timeout=120),
                    FakeSwitches(names[half:], work / "fs1.log", timeout=120),
                ]
                try:
                    switches = [sw for lab in labs for sw in lab.switches.values()]
                    print(f"backup: {len(switches)} fake switches ({args.telnet} Telnet)")

                    def run_backup(label: str, tree: Path, r: int) -> tuple[float, float]:
                        inv = backup_inventory(work / f"backup-{label}-{r}", switches, args.telnet)
                        return opskit(tree, inv, "backup", "run", "--json")

                    results.append(measure("backup run", trees, args.rounds, run_backup))
                    report(*results[-1])
                finally:
                    for lab in labs:
                        lab.stop()
            snmp_jobs = [j for j in jobs if j in ("monitor", "firmware-check")]
            if snmp_jobs:
                ports = monitor_bench.free_udp_ports(args.agents)
                agent = monitor_bench.start_snmpd(
                    work / "snmpd", ports=ports, extra_conf=monitor_bench.env_overrides()
                )
                try:
                    print(f"snmp: {args.agents} agents, interfaces {interfaces or 'host'}")
                    if "monitor" in jobs:

                        def run_monitor(label: str, tree: Path, r: int) -> tuple[float, float]:
                            inv = snmp_inventory(work / f"mon-{label}-{r}", ports)
                            return opskit(tree, inv, "monitor", "check", "--format", "json")

                        results.append(measure("monitor check", trees, args.rounds, run_monitor))
                        report(*results[-1])
                    if "firmware-check" in jobs:

                        def run_fw(label: str, tree: Path, r: int) -> tuple[float, float]:
                            inv = snmp_inventory(work / f"fw-{label}-{r}", ports)
                            return opskit(tree, inv, "firmware", "check", "--json")

                        results.append(measure("firmware check", trees, args.rounds, run_fw))
                        report(*results[-1])
                finally:
                    agent.stop()
            if "firmware-versions" in jobs:

                def run_versions(label: str, tree: Path, r: int) -> tuple[float, float]:
                    env = {**os.environ, "PYTHONPATH": str(tree)}
                    out = subprocess.run(
                        [sys.executable, "-c", VERSIONS_SCRIPT],
                        capture_output=True, text=True, env=env, check=True, timeout=600,
                    )  # fmt: skip
                    seconds = float(out.stdout.strip())  # one thread: CPU ~ wall
                    return seconds, seconds

                results.append(measure("firmware versions", trees, args.rounds, run_versions))
                report(*results[-1])
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
                capture_output=True,
            )
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work slows both)")
        print("summary, ratio this/base (below 1: this tree is faster): wall best, CPU median")
        for name, times in results:
            b_best, _, b_cpu = _stats(times["base"])
            n_best, _, n_cpu = _stats(times["this"])
            print(f"  {name:<18} {n_best / b_best:.2f}  {n_cpu / b_cpu:.2f}")


if __name__ == "__main__":
    main()
