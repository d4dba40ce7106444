"""Benchmark: the central pieces of a sharded install - the git remote and the Redis leases.

Git remote: N pollers (processes) each commit a backup of their shard (`--files` configs
of ~6 KB, every one changed) and push it to one bare remote, `--rounds` times, all at once,
through opskit's own push path (`opskit.store.remote`: fetch + replay after a lost race).
Prints pushes per minute for N = 1 (the baseline, run first in the same script) and each
larger N, the ratio to the baseline, and how many pushes had to be replayed.

Redis: lease renewals per second from one client (the Lua compare-and-expire a worker
sends every ttl/3 per shard) against plain PINGs on the same connection (the baseline).

    python benchmarks/cluster_bench.py [--pollers 1,2,4,8] [--rounds 10] [--files 50]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = "".join(f"interface Gi1/0/{i}\n description port {i}\n!\n" for i in range(120))


def poller(directory: Path, remote: Path, shard: str, rounds: int, files: int) -> None:
    """One poller: `rounds` times, commit `files` changed configs and push them."""
    from opskit.inventory import load_inventory
    from opskit.store.git import GitStore
    from opskit.store.remote import Remote

    directory.mkdir(parents=True, exist_ok=True)
    inv_path = directory / "inventory.yaml"
    inv_path.write_text(f"settings: {{backup_remote: '{remote}', state_dir: state}}\n")
    inventory = load_inventory(inv_path)
    assert inventory.settings.backup_remote is not None
    store = GitStore(directory / "configs")
    store.ensure()
    remote = Remote(store, inventory, inventory.settings.backup_remote)
    stats = {"pushes": 0, "attempts": 0, "replayed": 0, "failed": 0, "seconds": 0.0}
    for r in range(rounds):
        texts = {f"site-{shard}/dev-{i:04d}.cfg": f"! round {r}\n{CONFIG}" for i in range(files)}
        t0 = time.perf_counter()
        with store.lock():
            remote.sync()
            store.commit(texts, f"bench: shard {shard} round {r}")
            result = remote.push()
        stats["seconds"] += time.perf_counter() - t0
        stats["pushes"] += 1
        stats["attempts"] += result.attempts
        stats["replayed"] += result.replayed
        stats["failed"] += 0 if result.ok else 1
    # pushes that gave up go with the next run: here, a last run that only pushes
    for _ in range(10):
        with store.lock():
            if remote.push().ok:
                break
    print(json.dumps(stats))


def run_pollers(work: Path, n: int, rounds: int, files: int) -> dict[str, float]:
    """N pollers at once against a fresh remote; wall time and totals."""
    remote = work / f"remote-{n}.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    t0 = time.perf_counter()
    procs = []
    for i in range(n):
        argv = [sys.executable, __file__, "--as-poller", str(work / f"n{n}-p{i}"), str(remote)]
        argv += [f"s{i}", str(rounds), str(files)]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    totals = {"pushes": 0.0, "attempts": 0.0, "replayed": 0.0, "failed": 0.0}
    for p in procs:
        out, _ = p.communicate(timeout=1800)
        stats = json.loads(out.strip().splitlines()[-1])
        for k in totals:
            totals[k] += stats[k]
    wall = time.perf_counter() - t0
    count = ["git", "-C", str(remote), "rev-list", "--count", "main"]
    commits = int(subprocess.run(count, capture_output=True, text=True, check=True).stdout)
    # none lost: every poller's every commit is on the remote in the end
    assert commits == n * rounds, f"{commits} commits on the remote, expected {n * rounds}"
    return {**totals, "wall": wall, "per_minute": totals["pushes"] / wall * 60}


def bench_git(pollers: list[int], rounds: int, files: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="opskit-cluster-bench-"))
    try:
        print(f"git remote: {rounds} pushes per poller, {files} changed configs per push")
        base = None
        for n in pollers:
            r = run_pollers(work, n, rounds, files)
            base = base or r["per_minute"]
            print(
                f"  {n:>2} pollers: {r['pushes']:.0f} pushes in {r['wall']:.1f} s = "
                f"{r['per_minute']:.0f} pushes/min ({r['per_minute'] / base:.2f}x the 1-poller "
                f"baseline); {r['attempts'] / r['pushes']:.2f} attempts/push, "
                f"{r['replayed']:.0f} replays, {r['failed']:.0f} gave up (pushed next run)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_redis(seconds: float) -> None:
    server = shutil.which("redis-server")
    if server is None:
        print("redis: redis-server not installed, skipped")
        return
    import redis

    from opskit.coordinator import RedisLeases
    from opskit.lab import Peer, free_port, wait_until

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        peer = Peer([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", tmp], Path(tmp) / "redis.log")  # fmt: skip
        try:
            client = redis.Redis(port=port)
            wait_until(lambda: bool(client.ping()), what="redis-server")
            leases = RedisLeases(f"redis://127.0.0.1:{port}/0", "bench", ttl=30)
            assert leases.acquire("bench")

            def rate(call: object) -> float:
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < seconds:
                    for _ in range(100):
                        call()  # type: ignore[operator]
                    n += 100
                return n / (time.perf_counter() - t0)

            pings = rate(client.ping)
            renews = rate(lambda: leases.renew("bench"))
            print(
                f"redis: {renews:,.0f} lease renewals/s from one client, {pings:,.0f} PINGs/s "
                f"baseline ({renews / pings:.2f}x)"
            )
            leases.close()
            client.close()
        finally:
            peer.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--as-poller":
        _, _, directory, remote, shard, rounds, files = sys.argv
        poller(Path(directory), Path(remote), shard, int(rounds), int(files))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pollers", default="1,2,4,8", help="poller counts, the first the baseline")
    ap.add_argument("--rounds", type=int, default=10, help="pushes per poller")
    ap.add_argument("--files", type=int, default=50, help="changed configs per push")
    ap.add_argument("--redis-seconds", type=float, default=3.0)
    args = ap.parse_args()
    bench_git([int(n) for n in args.pollers.split(",")], args.rounds, args.files)
    bench_redis(args.redis_seconds)


if __name__ == "__main__":
    main()
