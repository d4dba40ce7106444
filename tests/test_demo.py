"""`opskit demo` end to end: the simulated shop, the main job on it, nothing left behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import run_opskit


def _alive(pid: int) -> bool:
    """True when the process exists and is not a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_demo_runs_the_main_job_and_stops_every_peer(tmp_path: Path) -> None:
    where = tmp_path / "demo"
    proc = run_opskit("demo", "--dir", str(where), "--json", timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    summary = json.loads(proc.stdout)
    assert summary["ok"] is True
    commands = [s["command"] for s in summary["steps"]]
    assert commands.count("opskit backup run") == 2
    assert {"opskit monitor check", "opskit firmware check"} <= set(commands)
    assert all(s["ok"] for s in summary["steps"])

    # The history holds both versions of the changed device, and the diff shows the change.
    repo = where / "configs"
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%H", "--", "hq/access-sw1.cfg"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(log) == 2
    diff = subprocess.run(
        ["git", "-C", str(repo), "diff", log[1], log[0]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "+ description uplink to pp-1 port 1 (changed by opskit demo)" in diff
    # ...and the digest of that run reached the demo's SMTP server, with the diff
    mail = summary["digest_mail"]
    assert "Subject: opskit: 1 config changed (hq: access-sw1)\n" in mail
    assert "Auto-Submitted: auto-generated\n" in mail
    assert "\n+ description uplink to pp-1 port 1 (changed by opskit demo)\n" in mail
    # every method was used, and its config stored
    for path in ("hq/core-r1.cfg", "hq/access-sw1.cfg", "branch/branch-r1.cfg"):
        assert (repo / path).read_text().rstrip().endswith("end")

    # The demo ends with the web pages on its own inventory, and they work there.
    last = summary["steps"][-1]
    assert last["command"].startswith("opskit web --listen 127.0.0.1:") and last["ok"]
    assert "GET /c/A-001  200  access-sw1 FastEthernet0/1 -> pp-1 1 -> core-r1" in last["output"]
    _check_web_pages(where)

    # No peer outlives the demo.
    pids = json.loads((where / "demo-peers.json").read_text())["pids"]
    assert pids
    assert [p for p in pids if _alive(p)] == []

    # Secrets from the demo's secret files never reach the history or the output.
    for secret in ("enablepw", "FakeSwRoCommunity"):
        assert secret not in proc.stdout
        history = subprocess.run(
            ["git", "-C", str(repo), "log", "-p", "--all"], capture_output=True, text=True
        ).stdout
        assert secret not in history


def _check_web_pages(where: Path) -> None:
    """`opskit web` on what the demo left: the cable, the history of the changed device
    and the health page read from the demo's inventory, git history and check results."""
    import os
    import sys
    import urllib.request

    from opskit.lab import Peer, free_port, wait_until

    port = free_port()
    argv = [sys.executable, "-m", "opskit", "-i", str(where / "inventory.yaml"), "web",
            "--listen", f"127.0.0.1:{port}"]  # fmt: skip
    peer = Peer(argv, where / "web.log", env={"PYTHONPATH": os.environ.get("PYTHONPATH", "")})

    def get(path: str) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Accept": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())

    try:
        wait_until(lambda: bool(get("/api/search?q=")), timeout=30, what="opskit web")
        cable = get("/c/A-001")
        assert cable["path"]["end"] == {
            "device": "core-r1",
            "port": "FastEthernet0/1",
            "side": None,
        }
        history = get("/d/access-sw1/history")
        assert len(history["versions"]) == 2
        diff = get("/d/access-sw1/diff")
        assert "+ description uplink to pp-1 port 1 (changed by opskit demo)" in diff["diff"]
        health = get("/health")
        assert {d["device"] for d in health["devices"]} >= {"core-r1", "access-sw1"}
        assert get("/firmware")["devices"]
    finally:
        peer.stop()
    assert peer.proc.returncode == 0, peer.log_text()
