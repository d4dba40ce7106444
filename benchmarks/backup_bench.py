"""Benchmark: `opskit backup run` of N devices vs a plain sequential netmiko loop.

Starts fake Cisco switches (fake-switches, `opskit.lab.fakeswitch`) on 127.0.0.1, several
processes of many switches each (all SSH; `--telnet K` makes K of them Telnet devices),
writes an inventory, and times:

* opskit: `opskit backup run --json` as a child process, end to end (process start,
  inventory, N parallel fetches, clean/scrub, one git commit) - a first run that commits
  every config, then a second run that finds nothing changed;
* baseline: the loop an admin writes by hand - for each device `ConnectHandler(...)`,
  `enable()`, `send_command("show running-config")`, `disconnect()`, one after the other,
  writing each config to a file. It runs on a subset (`--baseline N`, default 20) and is
  extrapolated to all devices (said so in the output);
* where one device's time goes, phase by phase (netmiko login, enable, prompt, the config
  read, disconnect), with netmiko's stock Telnet login for comparison.

    python benchmarks/backup_bench.py                    # 200 devices
    python benchmarks/backup_bench.py --devices 50 --procs 2 --telnet 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opskit.lab.fakeswitch import FakeSwitch, FakeSwitches  # noqa: E402


def write_inventory(directory: Path, switches: list[FakeSwitch], telnet: int) -> Path:
    lines = [
        "settings:",
        "  backup_repo: configs",
        "  state_dir: state",
        "credentials:",
        "  fake: {username: admin, password: admin, enable_password: enablepw}",
        "sites:",
        "  lab: {}",
        "devices:",
    ]
    for i, sw in enumerate(switches):
        if i < telnet:
            port, platform = sw.telnet_port, "cisco_ios_telnet"
        else:
            port, platform = sw.ssh_port, "cisco_ios"
        lines.append(
            f"  {sw.name}: {{site: lab, host: 127.0.0.1, port: {port}, "
            f"platform: {platform}, credentials: fake}}"
        )
    path = directory / "inventory.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_opskit(inventory: Path, workers: int | None) -> tuple[float, dict[str, object]]:
    import resource

    args = [sys.executable, "-m", "opskit", "-i", str(inventory), "backup", "run", "--json"]
    if workers:
        args += ["--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=inventory.parent)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"  (opskit process CPU: {cpu:.1f} s user+sys over {elapsed:.1f} s wall)")
    if not proc.stdout.strip():
        raise SystemExit(f"opskit failed: {proc.stderr}")
    return elapsed, json.loads(proc.stdout)


def _netmiko_login(sw: FakeSwitch, telnet: bool) -> Any:
    """netmiko's stock login to one fake switch, over Telnet or SSH."""
    from netmiko import ConnectHandler

    return ConnectHandler(
        device_type="cisco_ios_telnet" if telnet else "cisco_ios",
        host=sw.host,
        port=sw.telnet_port if telnet else sw.ssh_port,
        username=sw.username,
        password=sw.password,
        secret=sw.enable_secret,
    )


def baseline(switches: list[FakeSwitch], telnet: int, outdir: Path) -> float:
    """The hand-written sequential netmiko loop; seconds for these switches."""
    import netmiko  # noqa: F401  (loaded before the clock starts)

    outdir.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    for i, sw in enumerate(switches):
        conn = _netmiko_login(sw, telnet=i < telnet)
        conn.enable()
        text = conn.send_command("show running-config")
        conn.disconnect()
        (outdir / f"{sw.name}.cfg").write_text(text)
    return time.perf_counter() - t0


def phases(sw: FakeSwitch, telnet: bool) -> dict[str, float]:
    """One device's session, phase by phase, netmiko stock vs opskit's reader."""
    import netmiko  # noqa: F401  (loaded before the clock starts)

    from opskit.inventory import Secret
    from opskit.platforms import load_profile
    from opskit.transport.cli import CliTarget, connect, quick_prompt, read_until_prompt

    out: dict[str, float] = {}
    t = time.perf_counter()
    conn = _netmiko_login(sw, telnet=telnet)
    out["netmiko login (ConnectHandler)"] = time.perf_counter() - t
    t = time.perf_counter()
    conn.enable()
    out["netmiko enable()"] = time.perf_counter() - t
    t = time.perf_counter()
    conn.send_command("show running-config")
    out["netmiko send_command(show run)"] = time.perf_counter() - t
    t = time.perf_counter()
    conn.disconnect()
    out["netmiko disconnect()"] = time.perf_counter() - t

    profile = load_profile("cisco_ios")
    target = CliTarget(
        device=sw.name,
        host=sw.host,
        platform="cisco_ios_telnet" if telnet else "cisco_ios",
        method="telnet" if telnet else "ssh",
        port=sw.telnet_port if telnet else sw.ssh_port,
        username=sw.username,
        password=Secret(sw.password),
        enable_password=Secret(sw.enable_secret),
        timeout=60,
    )
    t = time.perf_counter()
    with connect(target) as (c, wd):
        out["opskit login + enable"] = time.perf_counter() - t
        t = time.perf_counter()
        prompt = quick_prompt(c, wd)
        out["opskit quick_prompt()"] = time.perf_counter() - t
        t = time.perf_counter()
        for cmd in profile.cli.pre_commands:
            read_until_prompt(c, cmd, prompt, wd, quiet=0.0)
        read_until_prompt(c, "show running-config", prompt, wd, profile.end_marker)
        out["opskit pre-commands + config read"] = time.perf_counter() - t
        t = time.perf_counter()
    out["opskit disconnect"] = time.perf_counter() - t
    return out


def profile_in_process(inventory: Path, workers: int | None) -> None:
    """cProfile of `run_backup` in this process: where opskit's own CPU goes."""
    import cProfile
    import pstats

    from opskit.backup import run_backup
    from opskit.inventory import load_inventory

    inv = load_inventory(inventory)
    prof = cProfile.Profile()
    prof.enable()
    run_backup(inv, list(inv.devices.values()), workers=workers)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--procs", type=int, default=4, help="fake-switches processes")
    ap.add_argument("--telnet", type=int, default=0, help="how many devices use Telnet")
    ap.add_argument("--baseline", type=int, default=20, help="devices the baseline fetches")
    ap.add_argument("--workers", type=int, default=None, help="opskit --workers (16)")
    ap.add_argument("--profile", action="store_true", help="cProfile one run in-process")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="backup-bench-") as tmp:
        d = Path(tmp)
        names = [f"sw{i:03d}" for i in range(args.devices)]
        per = -(-len(names) // args.procs)
        labs = []
        t0 = time.perf_counter()
        try:
            for p in range(args.procs):
                chunk = names[p * per : (p + 1) * per]
                if chunk:
                    labs.append(FakeSwitches(chunk, d / f"fs{p}.log", timeout=120))
            switches = [sw for lab in labs for sw in lab.switches.values()]
            print(
                f"{len(switches)} fake switches in {len(labs)} processes ready in "
                f"{time.perf_counter() - t0:.1f} s ({args.telnet} over Telnet, the rest SSH); "
                f"{os.cpu_count()} CPUs"
            )
            inv = write_inventory(d, switches, args.telnet)

            first, report = run_opskit(inv, args.workers)
            summary = report["summary"]
            print(
                f"opskit backup run (first, commits all): {first:6.2f} s  "
                f"{len(switches) / first:6.1f} devices/s  {summary}"
            )
            second, report2 = run_opskit(inv, args.workers)
            print(
                f"opskit backup run (second, no change):  {second:6.2f} s  "
                f"{len(switches) / second:6.1f} devices/s  commit={report2['commit']}"
            )
            durations = sorted(float(r["duration"]) for r in report["devices"])  # type: ignore[index,union-attr]
            print(
                f"  per-device fetch (in parallel): median {durations[len(durations) // 2]:.2f}"
                f" s, max {durations[-1]:.2f} s"
            )

            if args.profile:
                profile_in_process(inv, args.workers)

            n = min(args.baseline, len(switches))
            tel = min(args.telnet, n) if args.telnet else 0
            base = baseline(switches[:n], tel, d / "baseline")
            per_dev = base / n
            est = per_dev * len(switches)
            print(
                f"baseline: sequential netmiko loop on {n} devices: {base:.2f} s "
                f"({per_dev:.3f} s/device); extrapolated to {len(switches)}: {est:.1f} s  "
                f"{1 / per_dev:6.1f} devices/s"
            )
            print(f"ratio (baseline / opskit, first run): {est / first:.1f}x")

            for telnet in (False, True):
                kind = "Telnet" if telnet else "SSH"
                print(f"one {kind} device, phase by phase:")
                for k, v in phases(switches[-1], telnet).items():
                    print(f"  {k:<38} {v:6.3f} s")
        finally:
            for lab in labs:
                lab.stop()


if __name__ == "__main__":
    main()
