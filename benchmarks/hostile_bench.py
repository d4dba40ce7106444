"""Benchmark: what issue 13's defences cost, each against a baseline in the same run.

* host key checks: `opskit backup run` of N fake switches over SSH with
  `ssh: {host_key_check: tofu}` (the default: the first run writes N keys, the second
  reads them) against `host_key_check: off` (no file at all), alternating, best of R;
* secret rules by section: `prepare` (clean + scrub) of a 1 MB IOS config with the
  profile as shipped (a `not_under` rule) against the same rules without sections;
* the size cap: the test device streaming forever (mode `endless`), stopped at
  `settings.max_config_size` (16 MiB), against a whole 15 MB config from the same device
  (MB/s of the read, and the process's peak memory).

    python benchmarks/hostile_bench.py                 # 50 switches, best of 3
    python benchmarks/hostile_bench.py --devices 100 --reps 5
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opskit.lab import Peer, free_port, wait_until  # noqa: E402
from opskit.lab.fakeswitch import FakeSwitch, FakeSwitches  # noqa: E402
from opskit.lab.peers import run_opskit_measured  # noqa: E402


def inventory(d: Path, devices: dict[str, dict[str, object]], creds: dict[str, object]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    doc = {
        "settings": {"backup_repo": "configs", "state_dir": "state"},
        "credentials": creds,
        "sites": {"lab": {}},
        "devices": {n: {"site": "lab", "host": "127.0.0.1", **v} for n, v in devices.items()},
    }
    path = d / "inventory.yaml"
    path.write_text(json.dumps(doc))
    return path


def timed_run(inv: Path) -> tuple[float, str]:
    """Seconds of one `opskit backup run --json`, and its stdout then stderr."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "opskit", "-i", str(inv), "backup", "run", "--json"],
        capture_output=True, text=True, cwd=inv.parent,
    )  # fmt: skip
    return time.perf_counter() - t0, proc.stdout + proc.stderr


def bench_host_keys(switches: list[FakeSwitch], reps: int, work: Path) -> None:
    creds = {"fake": {"username": "admin", "password": "admin", "enable_password": "enablepw"}}
    best: dict[tuple[str, str], float] = {}
    for rep in range(reps):
        for check in ("off", "tofu"):
            devices = {
                sw.name: {"port": sw.ssh_port, "platform": "cisco_ios", "credentials": "fake",
                          "ssh": {"host_key_check": check}}
                for sw in switches
            }  # fmt: skip
            inv = inventory(work / f"{check}-{rep}", devices, creds)
            for run in ("first", "second"):
                elapsed, out = timed_run(inv)
                if '"failed": 0' not in out:
                    raise SystemExit(f"backup failed: {out[-500:]}")
                key = (check, run)
                best[key] = min(best.get(key, elapsed), elapsed)
    n = len(switches)
    print(f"host key checks, {n} SSH devices, best of {reps} (alternating):")
    for run in ("first", "second"):
        off, tofu = best[("off", run)], best[("tofu", run)]
        what = "writes the keys" if run == "first" else "reads them"
        print(f"  {run} run ({what}): tofu {tofu:.2f} s, off {off:.2f} s: ratio {tofu / off:.2f}x")


def bench_scrub(reps: int) -> None:
    from opskit.lab.testdevice import Options, canned_config, huge_config
    from opskit.platforms import load_profile
    from opskit.platforms.clean import prepare

    text = huge_config(Options("core-r1", "", "", "", "ok", None, canned_config()), 1_000_000)
    shipped = load_profile("cisco_ios")
    plain = dataclasses.replace(
        shipped,
        secrets=tuple(dataclasses.replace(r, under=None, not_under=None) for r in shipped.secrets),
    )

    times: dict[str, list[float]] = {"shipped": [], "plain": []}
    for _ in range(reps):  # alternating, so load from other processes hits both alike
        for name, profile in (("shipped", shipped), ("plain", plain)):
            t0 = time.perf_counter()
            prepare(text, profile)
            times[name].append(time.perf_counter() - t0)
    by_section, flat = min(times["shipped"]), min(times["plain"])
    print(
        f"clean + scrub of 1 MB (cisco_ios), best of {reps}: with sections "
        f"{by_section * 1000:.0f} ms, without {flat * 1000:.0f} ms: ratio {by_section / flat:.2f}x"
    )


def bench_cap(work: Path) -> None:
    control = work / "control.json"
    ssh, tel = free_port(), free_port()
    peer = Peer(
        [sys.executable, "-m", "opskit.lab.testdevice", "--ssh-port", str(ssh),
         "--telnet-port", str(tel), "--control", str(control)],
        work / "device.log",
    )  # fmt: skip
    wait_until(lambda: "READY" in peer.log_text(), what="test device")
    creds = {"td": {"username": "netops", "password": "Pw-Login-7731",
                    "enable_password": "En-Secret-4410"}}  # fmt: skip
    try:
        big = work / "big.cfg"
        block = "".join(f"interface Vlan{i}\n description 15 MB of config\n!\n" for i in range(500))
        big.write_text("hostname {hostname}\n!\n" + block * (15_000_000 // len(block)) + "end\n")
        size_big = big.stat().st_size
        print("size cap (16 MiB) against a whole 15 MB config, same device:")
        for method, port, platform in (("telnet", tel, "cisco_ios_telnet"),
                                       ("ssh", ssh, "cisco_ios")):  # fmt: skip
            for mode, size in (("ok", size_big), ("endless", 16 << 20)):
                control.write_text(json.dumps({"mode": mode, "config": str(big)}))
                inv = inventory(
                    work / f"{method}-{mode}",
                    {"r1": {"port": port, "platform": platform, "credentials": "td",
                            "backup": {"timeout": 300}}},
                    creds,
                )  # fmt: skip
                t0 = time.perf_counter()
                proc, peak_kib = run_opskit_measured(
                    ["-i", str(inv), "backup", "run", "--json"], cwd=inv.parent, timeout=600
                )
                elapsed, rss = time.perf_counter() - t0, peak_kib >> 10
                (result,) = json.loads(proc.stdout)["devices"]
                outcome = "stored" if result["status"] == "ok" else "refused at the cap"
                print(
                    f"  {method:6} {mode:7} {size / 1e6:5.1f} MB {outcome:18} in {elapsed:5.2f} s"
                    f" ({size / 1e6 / elapsed:5.1f} MB/s), peak RSS {rss} MiB"
                )
    finally:
        peer.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    bench_scrub(args.reps * 3)
    with tempfile.TemporaryDirectory(prefix="hostile-bench-") as tmp:
        work = Path(tmp)
        bench_cap(work)
        names = [f"sw{i:03d}" for i in range(args.devices)]
        lab = FakeSwitches(names, work / "fs.log", timeout=120)
        try:
            bench_host_keys(list(lab.switches.values()), args.reps, work)
        finally:
            lab.stop()
    print(
        f"(bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB)"
    )


if __name__ == "__main__":
    main()
