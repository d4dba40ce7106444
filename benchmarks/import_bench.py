"""NetBox import speed: 5,000 devices / 100,000 cables from the NetBox API on loopback.

Starts `opskit.lab.netbox` with a generated shop (100 sites of 50 devices and 1,000
cables, NetBox 4.5 shape, 1,000 objects a page), then times the real CLI as a child
process: the first import, a re-import of the unchanged source (which must write
nothing), and `opskit inventory validate` of the result (the time to load what was
written), printed side by side with their ratio.

    python benchmarks/import_bench.py              # full size
    python benchmarks/import_bench.py --sites 10   # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from opskit.lab import Peer, free_port, wait_until

TOKEN = "bench-token-not-a-secret"


def _opskit(inventory: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "opskit", "-i", str(inventory), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NETBOX_TOKEN": TOKEN},
        timeout=900,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"opskit {' '.join(args)} failed: {proc.stderr.strip()}")
    return elapsed, proc


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            h.update(str(path).encode() + path.read_bytes())
    return h.hexdigest()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=100, help="50 devices, 1,000 cables each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opskit-import-bench-") as tmp:
        root = Path(tmp)
        port = free_port()
        log = root / "netbox.log"
        server = Peer(
            [
                sys.executable,
                "-m",
                "opskit.lab.netbox",
                "--port",
                str(port),
                "--generate",
                str(args.sites),
                "--version",
                "4.5",
                "--token",
                TOKEN,
            ],
            log,
        )
        try:
            t0 = time.perf_counter()
            wait_until(lambda: "READY" in server.log_text(), timeout=600, what="NetBox API")
            print(f"NetBox API ready ({args.sites} sites) in {time.perf_counter() - t0:.1f} s")
            shop = root / "shop"
            shop.mkdir()
            inventory = shop / "inventory.yaml"
            inventory.write_text("settings:\n  backup_repo: configs\n")
            url = f"http://127.0.0.1:{port}"
            first, proc = _opskit(
                inventory, "inventory", "import", "netbox", "--url", url, "--json"
            )
            report = json.loads(proc.stdout)
            counts = {k: v["added"] for k, v in report["counts"].items()}
            before = _digest(shop)
            again, proc = _opskit(
                inventory, "inventory", "import", "netbox", "--url", url, "--json"
            )
            written = json.loads(proc.stdout)["written"]
            unchanged = _digest(shop) == before
            load, _ = _opskit(inventory, "inventory", "validate")
        finally:
            server.stop()
    print(
        f"imported {counts['devices']} devices, {counts['ports']} ports, {counts['cables']} cables"
    )
    print(f"first import           {first:7.2f} s")
    print(
        f"re-import, no change   {again:7.2f} s   "
        f"(written: {written}, files unchanged: {unchanged})"
    )
    print(f"validate (load result) {load:7.2f} s")
    print(f"import / load          {first / load:7.2f}x")
    print(f"re-import / load       {again / load:7.2f}x")
    if written or not unchanged:
        raise SystemExit("a re-import of an unchanged source wrote something")


if __name__ == "__main__":
    main()
