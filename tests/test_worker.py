"""`opskit worker`: shards held as Redis leases, failover to a standby and back.

Real peers: Debian's redis-server, fake switches over SSH, a bare git remote, and the
workers as real `opskit worker` processes (SIGKILL is a real crash).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from opskit.lab import Peer, wait_until
from tests.backup.cluster import (
    bare_remote,
    git,
    poller_inventory,
    reads_in,
    start_farm,
    switches,
)
from tests.lab.redis import RedisServer

TTL, TICK, INTERVAL = 2.0, 0.25, 5.0
CYCLE = re.compile(r"^opskit worker (\S+): backup of shard (\S+), cycle (\d+)")


def _worker(inv: Path, log: Path, *args: str) -> Peer:
    return Peer([sys.executable, "-m", "opskit", "-i", str(inv), "worker", *args, "--json"], log,
                cwd=inv.parent)  # fmt: skip


def _stop(peer: Peer) -> dict[str, Any]:
    """SIGTERM; the worker finishes its running job, drops its leases, prints its JSON."""
    peer.proc.send_signal(signal.SIGTERM)
    code = peer.proc.wait(60)
    text = peer.log_text()
    peer.stop()
    assert code == 0, text
    return dict(json.loads(text[text.index("{\n") :]))


def test_a_standby_takes_a_lapsed_shard_and_gives_it_back(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    shard_of = {"a1": "a", "a2": "a", "a3": "a", "b1": "b", "b2": "b"}
    farm = start_farm(tmp_path, list(shard_of), processes=1)
    db = redis.Redis(port=redis_server.port, decode_responses=True, socket_timeout=5)
    try:
        sws = switches(farm)
        remote = bare_remote(tmp_path / "remote.git")
        settings = {
            "backup_remote": str(remote),
            "coordinator": {"url": redis_server.url, "ttl": f"{TTL}s"},
            "schedule": {"backup": f"{INTERVAL}s", "tick": f"{TICK}s"},
        }
        devices = {n: (sws[n], f"site-{s}") for n, s in shard_of.items()}
        site_shards = {"site-a": "a", "site-b": "b"}
        inv_a = poller_inventory(tmp_path / "A", devices, settings, site_shards)
        inv_b = poller_inventory(tmp_path / "B", devices, settings, site_shards)
        args_a = ("--shards", "a", "--standby", "b", "--id", "A")
        a = _worker(inv_a, tmp_path / "A.log", *args_a)
        b = _worker(inv_b, tmp_path / "B.log", "--shards", "b", "--standby", "a", "--id", "B")
        wait_until(lambda: db.get("shard:a") == "A" and db.get("shard:b") == "B", timeout=30,
                   what="both workers holding their own shard")  # fmt: skip
        assert 0 < db.pttl("shard:a") <= TTL * 1000
        wait_until(lambda: db.get("shard:a:done:backup") is not None, timeout=60,
                   what="worker A's first backup of shard a")  # fmt: skip

        # A dies without a word: its lease lapses, B takes shard a over
        os.killpg(a.proc.pid, signal.SIGKILL)
        a.proc.wait(10)
        a.stop()
        killed = time.monotonic()
        wait_until(lambda: db.get("shard:a") == "B", timeout=TTL + TICK + 10,
                   what="B taking over shard a", interval=0.05)  # fmt: skip
        took = time.monotonic() - killed
        done_when_killed = int(db.get("shard:a:done:backup") or -1)
        wait_until(lambda: int(db.get("shard:a:done:backup") or -1) > done_when_killed,
                   timeout=INTERVAL * 3, what="B backing up shard a")  # fmt: skip

        # A returns: B lets go once its running job is done, A holds shard a again
        a = _worker(inv_a, tmp_path / "A2.log", *args_a)
        wait_until(lambda: db.get("shard:a") == "A", timeout=INTERVAL * 3,
                   what="B giving shard a back to A")  # fmt: skip
        back = int(db.get("shard:a:done:backup") or -1)
        wait_until(lambda: int(db.get("shard:a:done:backup") or -1) > back,
                   timeout=INTERVAL * 3, what="A backing up shard a again")  # fmt: skip
        report_a, report_b = _stop(a), _stop(b)
    finally:
        for lab in farm:
            lab.stop()
        db.close()

    print(f"shard a taken over {took:.2f} s after its owner was killed (ttl {TTL}, tick {TICK})")
    print("\n".join(f"B: {e['shard']}: {e['text']}" for e in report_b["events"]))
    # within the lease time plus one tick (and the test's own polling and process start)
    assert took <= TTL + TICK + 2.0, f"took over after {took:.2f} s"
    kinds_b = [(e["kind"], e["shard"]) for e in report_b["events"]]
    assert ("took-over", "a") in kinds_b and ("gave-back", "a") in kinds_b
    assert any(r["shard"] == "a" and r["ok"] for r in report_b["runs"])
    assert any(r["shard"] == "a" and r["ok"] for r in report_a["runs"])
    assert db_keys_released(redis_server)

    # every device backed up exactly once per cycle: one version per (device, cycle), no
    # cycle missing between a shard's first and last, and no fetch that was not stored
    log = git(remote, "log", "--format=@%s", "--name-only", "main")
    per: Counter[tuple[str, int]] = Counter()
    cycles: dict[str, set[int]] = {"a": set(), "b": set()}
    who: dict[int, str] = {}
    current: tuple[str, str, int] | None = None
    for line in log.splitlines():
        if line.startswith("@"):
            m = CYCLE.match(line[1:])
            assert m, line
            current = (m.group(1), m.group(2), int(m.group(3)))
        elif line.strip() and current is not None:
            device = Path(line).stem
            assert shard_of[device] == current[1]
            per[(device, current[2])] += 1
            cycles[current[1]].add(current[2])
            if current[1] == "a":
                who[current[2]] = current[0]
    assert per and set(per.values()) == {1}, per
    for shard, seen in cycles.items():
        assert seen == set(range(min(seen), max(seen) + 1)), (shard, sorted(seen))
        for device in (d for d, s in shard_of.items() if s == shard):
            assert {c for d, c in per if d == device} == seen
            assert reads_in(remote, f"site-{shard}/{device}.cfg") == len(seen)
    assert {"A", "B"} <= set(who.values())  # shard a was backed up by both, in turn


def db_keys_released(server: RedisServer) -> bool:
    """After both workers stopped, no shard lease is left behind."""
    db = redis.Redis(port=server.port, decode_responses=True, socket_timeout=5)
    try:
        return db.get("shard:a") is None and db.get("shard:b") is None
    finally:
        db.close()


def test_without_a_coordinator_shards_are_static(tmp_path: Path, snmpsim_lab: Any) -> None:
    """No Redis anywhere: a worker runs its own shard (here a monitor job writing the
    shard's textfile) and refuses --standby."""
    from tests.monitor.helpers import snmp_device, write_inventory

    inv = write_inventory(
        tmp_path,
        {
            "core-1": {**snmp_device("cisco-router", snmpsim_lab.port), "site": "core"},
            "edge-1": {**snmp_device("entity-sensor", snmpsim_lab.port), "site": "edge"},
        },
        communities=("cisco-router", "entity-sensor"),
        settings={"schedule": {"monitor": "1s", "tick": "0.2s"}},
        extra={"sites": {"core": {"shard": "x"}, "edge": {"shard": "y"}}},
    )
    refused = subprocess.run(
        [sys.executable, "-m", "opskit", "-i", str(inv), "worker", "--shards", "x",
         "--standby", "y"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.startswith("opskit: error: --standby needs settings.coordinator")
    unknown = subprocess.run(
        [sys.executable, "-m", "opskit", "-i", str(inv), "worker", "--shards", "z"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert unknown.returncode == 2 and "no shard 'z'" in unknown.stderr

    worker = _worker(inv, tmp_path / "worker.log", "--shards", "x", "--id", "solo")
    textfile = tmp_path / "state" / "monitor-shard-x.prom"
    try:
        wait_until(textfile.exists, timeout=60, what="the monitor job's textfile")
        wait_until(lambda: "monitor cycle" in worker.log_text(), timeout=30, what="its log line")
    finally:
        report = _stop(worker)
    text = textfile.read_text()
    assert 'opskit_device_up{device="core-1",shard="x",site="core"} 1.0' in text
    assert "edge-1" not in text
    assert report["ok"] and {r["shard"] for r in report["runs"]} == {"x"}
    assert {r["job"] for r in report["runs"]} == {"monitor"}


def test_cycle_arithmetic_doctests() -> None:
    import doctest

    import opskit.scheduler

    result = doctest.testmod(opskit.scheduler)
    assert result.attempted > 0 and result.failed == 0
