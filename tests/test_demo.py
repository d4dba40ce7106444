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
