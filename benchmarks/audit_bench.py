"""`opskit audit` of 5,000 stored configs, against the time to read the same files from git.

The configs are the test suite's golden configs (weak and hardened, every OS family, in
the mix of a shop that is mostly Cisco IOS access switches) grown to a realistic size with
interfaces, committed in one commit to a git repository, and audited three ways:

* baseline: `GitStore.read_many` of every file (one `git cat-file --batch`), nothing else;
* `run_audit` (the library: read from git, rules, value findings, waivers);
* `opskit audit --format json` as a process (also loads the 5,000-device inventory).

    python benchmarks/audit_bench.py [--devices 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "audit" / "golden"
# Share of each family in the generated shop (weights), and its platform.
MIX = {
    "ios": (60, "cisco_ios"),
    "nxos": (8, "cisco_nxos"),
    "eos": (8, "arista_eos"),
    "junos": (8, "juniper_junos"),
    "fortios": (4, "fortinet"),
    "routeros": (6, "mikrotik_routeros"),
    "procurve": (6, "hp_procurve"),
}
PORTS = 48


def _interfaces(family: str, n: int) -> str:
    """`n` access ports in the family's syntax (the bulk of a real switch config)."""
    if family == "ios":
        return "".join(
            f"interface GigabitEthernet1/0/{i}\n description desk {i}\n switchport access vlan 10\n"
            f" switchport mode access\n spanning-tree portfast\n!\n"
            for i in range(1, n + 1)
        )
    if family == "nxos":
        return "".join(
            f"interface Ethernet1/{i}\n  description rack {i}\n  switchport access vlan 10\n\n"
            for i in range(1, n + 1)
        )
    if family == "eos":
        return "".join(
            f"interface Ethernet{i}\n   description rack {i}\n   switchport access vlan 10\n!\n"
            for i in range(1, n + 1)
        )
    if family == "junos":
        return "".join(
            f"set interfaces ge-0/0/{i} description desk-{i}\n"
            f"set interfaces ge-0/0/{i} unit 0 family ethernet-switching vlan members v10\n"
            for i in range(n)
        )
    if family == "fortios":
        return (
            "config firewall policy\n"
            + "".join(
                f'    edit {i}\n        set name "rule-{i}"\n        set srcintf "lan"\n'
                f'        set dstintf "wan1"\n        set action accept\n    next\n'
                for i in range(1, n + 1)
            )
            + "end\n"
        )
    if family == "routeros":
        return "".join(
            f"/interface ethernet set [ find default-name=ether{i} ] comment=desk-{i}\n"
            for i in range(1, n + 1)
        )
    return "".join(f'interface {i}\n   name "desk {i}"\n   exit\n' for i in range(1, n + 1))


def _config(family: str, kind: str) -> str:
    """A golden config (as fetched) with the interfaces put in before its end."""
    text = (GOLDEN / family / f"{kind}.cfg").read_text()
    body = _interfaces(family, PORTS)
    if text.rstrip().endswith("\nend") and family != "fortios":
        head, _, _ = text.rstrip().rpartition("\nend")
        return f"{head}\n{body}end\n"
    return text + body


def build(workdir: Path, n: int) -> tuple[Path, list[str]]:
    """An inventory of `n` devices and a repository holding each one's stored config."""
    from opskit.inventory import load_inventory
    from opskit.platforms import load_profile
    from opskit.platforms.clean import prepare
    from opskit.store import open_store

    families = [f for f, (weight, _) in MIX.items() for _ in range(weight)]
    devices, files = {}, {}
    for i in range(n):
        family = families[i % len(families)]
        platform = MIX[family][1]
        name = f"{family}-{i:05d}"
        devices[name] = {"site": f"site{i % 50:02d}", "host": "127.0.0.1", "platform": platform}
        raw = _config(family, "weak" if i % 2 else "hardened")
        files[f"site{i % 50:02d}/{name}.cfg"] = prepare(raw, load_profile(platform))
    inventory = workdir / "inventory.yaml"
    sites = {f"site{i:02d}": {} for i in range(50)}
    inventory.write_text(
        yaml.safe_dump(
            {
                "settings": {"backup_repo": "configs", "state_dir": "state"},
                "sites": sites,
                "devices": devices,
            },
            sort_keys=False,
        )
    )
    store = open_store(load_inventory(inventory))
    store.ensure()
    with store.lock():
        store.commit(files, f"benchmark: {n} configs")
    return inventory, sorted(files)


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from opskit.audit import run_audit
    from opskit.inventory import load_inventory
    from opskit.store import open_store

    workdir = Path(tempfile.mkdtemp(prefix="opskit-audit-bench-"))
    try:
        t0 = time.perf_counter()
        inventory, paths = build(workdir, args.devices)
        inv = load_inventory(inventory)
        devices = list(inv.devices.values())
        size = sum(len(t or "") for t in open_store(inv).read_many(paths).values())
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"load average {load} before the runs; "
            f"{args.devices} configs, {size / 1e6:.1f} MB, {PORTS} ports each; "
            f"set up in {time.perf_counter() - t0:.1f} s, {os.cpu_count()} CPUs"
        )

        read, _ = best_of(lambda: open_store(inv).read_many(paths), args.repeat)
        audit, report = best_of(lambda: run_audit(inv, devices), args.repeat)
        findings = len(report.findings)  # type: ignore[attr-defined]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cli_cmd = [sys.executable, "-m", "opskit", "-i", str(inventory), "audit", "-f", "json"]

        def cli() -> int:
            proc = subprocess.run(cli_cmd, capture_output=True, env=env, timeout=600)
            return proc.returncode

        cli_time, code = best_of(cli, args.repeat)
        rows = [
            ("baseline: read every config from git (cat-file --batch)", read, ""),
            (f"run_audit: read + audit ({findings} findings)", audit,
             f", {audit / args.devices * 1e3:.2f} ms/config"),
            ("opskit audit -f json (a process: inventory load too)", cli_time, f", exit {code}"),
        ]  # fmt: skip
        print(f"best of {args.repeat}:")
        for label, seconds, extra in rows:
            print(f"  {label:<58} {seconds:6.2f} s  {seconds / read:5.1f}x the read{extra}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
