"""Stress: CLI sessions (login, enable, `show running-config`) on a loaded machine, opskit
against netmiko's own `enable()`, alternating; every failure explained by its reason.

The peers are opskit's test devices (`opskit.lab.testdevice`, SSH and Telnet, with
`--log-lines`: each device logs every line a session sends, what is typed at a password
prompt masked as `<secret ok>`, `<secret wrong>` or `<blank>`). The load is one CPU burner
per core (a Python busy loop that ends by itself after `--seconds`).

1. The reported race, reproduced: sessions against a device in mode `stray-prompt` (a late
   `core-r1>` between the echo of `enable` and `Password:`, as a loaded device sends it).
2. `--sessions` sessions each way (default 200), half SSH and half Telnet, 16 at a time,
   against devices in mode `ok`, with the burners running.

Printed per run: sessions, failures grouped by reason, and what the devices logged at
their enable prompts. The credentials are right, so a `<blank>` or `<secret wrong>` line
is a secret that was never sent; a session that reports "refused" must have one.

    python benchmarks/enable_stress.py [--sessions 200] [--devices 4] [--workers 16]
                                       [--burn 2] [--seconds 600]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opskit.lab import Peer, free_port, wait_until  # noqa: E402
from opskit.lab.testdevice import DEFAULT_ENABLE, DEFAULT_PASSWORD, DEFAULT_USER  # noqa: E402


@dataclass
class Device:
    peer: Peer
    ssh: int
    telnet: int
    control: Path

    def set_mode(self, mode: str) -> None:
        self.control.write_text(f'{{"mode": "{mode}"}}')

    def log_size(self) -> int:
        return self.peer.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.peer.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")


def start_devices(work: Path, n: int) -> list[Device]:
    devices = []
    for i in range(n):
        ssh, telnet = free_port(), free_port()
        control = work / f"device-{i}.json"
        control.write_text('{"mode": "ok"}')
        peer = Peer(
            [sys.executable, "-m", "opskit.lab.testdevice", "--ssh-port", str(ssh),
             "--telnet-port", str(telnet), "--control", str(control), "--log-lines"],
            work / f"device-{i}.log",
            env={"PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        devices.append(Device(peer, ssh, telnet, control))
    for d in devices:
        wait_until(lambda d=d: "READY" in d.peer.log_text(), timeout=30, what="test device")
    return devices


@dataclass
class Session:
    method: str
    port: int


def sessions_for(devices: list[Device], n: int) -> list[Session]:
    out = []
    for i in range(n):
        d = devices[i % len(devices)]
        out.append(Session("ssh", d.ssh) if i % 2 == 0 else Session("telnet", d.telnet))
    return out


def generic(reason: str) -> str:
    """A failure's reason with numbers and ports taken out, to group alike ones."""
    return re.sub(r"\d+(\.\d+)?", "N", reason)


def run_opskit(sessions: list[Session], workers: int, timeout: float) -> list[str | None]:
    """Each session through opskit's login, enable and read (the backup path)."""
    from opskit.inventory.model import Secret
    from opskit.transport.cli import CliTarget, connect, quick_prompt, read_until_prompt

    def one(s: Session) -> str | None:
        target = CliTarget(
            device=f"td-{s.port}",
            host="127.0.0.1",
            platform="cisco_ios" if s.method == "ssh" else "cisco_ios_telnet",
            method=s.method,
            port=s.port,
            username=DEFAULT_USER,
            password=Secret(DEFAULT_PASSWORD),
            enable_password=Secret(DEFAULT_ENABLE),
            timeout=timeout,
            connect_timeout=timeout / 3,
            command_timeout=timeout,
        )
        try:
            with connect(target) as (conn, wd):
                prompt = quick_prompt(conn, wd)
                text = read_until_prompt(conn, "show running-config", prompt, wd,
                                         re.compile(r"^end$"))  # fmt: skip
                if "\nend" not in text:
                    return "no end marker in the config"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, sessions))


def run_netmiko(sessions: list[Session], workers: int, timeout: float) -> list[str | None]:
    """Each session as a netmiko script does it: ConnectHandler, enable(), send_command."""
    from netmiko import ConnectHandler

    def one(s: Session) -> str | None:
        try:
            conn = ConnectHandler(
                device_type="cisco_ios" if s.method == "ssh" else "cisco_ios_telnet",
                host="127.0.0.1", port=s.port, username=DEFAULT_USER,
                password=DEFAULT_PASSWORD, secret=DEFAULT_ENABLE, fast_cli=True,
                conn_timeout=timeout / 3, auth_timeout=timeout / 3,
                banner_timeout=timeout / 3, timeout=timeout,
            )  # fmt: skip
            try:
                conn.enable()
                text = conn.send_command("show running-config", read_timeout=timeout)
                if "\nend" not in text:
                    return "no end marker in the config"
            finally:
                conn.disconnect()
        except Exception as exc:
            return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:120]}"
        return None

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, sessions))


ANSWER = re.compile(r"^\[\d+\] (<secret ok>|<secret wrong>|<blank>)$", re.M)


def prompt_answers(log: str) -> collections.Counter[str]:
    """What the devices logged at their enable password prompts."""
    return collections.Counter(m.group(1) for m in ANSWER.finditer(log))


def report(
    name: str,
    devices: list[Device],
    sessions: list[Session],
    run: Callable[[list[Session], int, float], list[str | None]],
    workers: int,
    timeout: float,
) -> tuple[int, collections.Counter[str]]:
    offsets = [d.log_size() for d in devices]
    start = time.perf_counter()
    reasons = run(sessions, workers, timeout)
    wall = time.perf_counter() - start
    log = "".join(d.log_since(o) for d, o in zip(devices, offsets, strict=True))
    answers = prompt_answers(log)
    failures = collections.Counter(generic(r) for r in reasons if r)
    print(f"  {name:8s} {len(sessions)} sessions in {wall:.1f} s: "
          f"{sum(failures.values())} failed; the devices logged at enable: "
          f"{dict(sorted(answers.items()))}")  # fmt: skip
    for reason, n in failures.most_common():
        print(f"      {n:3d} x {reason}")
    return sum(failures.values()), answers


def burners(n: int, seconds: float) -> list[subprocess.Popen[bytes]]:
    """Busy loops that end by themselves after `seconds` (even if this script dies)."""
    code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--devices", type=int, default=4, help="test device processes")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--burn", type=int, default=os.cpu_count() or 2, help="CPU burners")
    ap.add_argument("--seconds", type=float, default=600, help="the burners' time limit")
    ap.add_argument("--timeout", type=float, default=60, help="per-session deadline")
    ap.add_argument("--stray", type=int, default=20, help="sessions against stray-prompt")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="opskit-enable-stress-") as tmp:
        devices = start_devices(Path(tmp), args.devices)
        load: list[subprocess.Popen[bytes]] = []
        try:
            print(f"1. the reported race: {args.stray} sessions against a device in mode "
                  "stray-prompt (no load)")  # fmt: skip
            stray = devices[:1]
            stray[0].set_mode("stray-prompt")
            few = sessions_for(stray, args.stray)
            report("netmiko", stray, few, run_netmiko, args.workers, args.timeout)
            report("opskit", stray, few, run_opskit, args.workers, args.timeout)
            stray[0].set_mode("ok")

            print(f"2. {args.sessions} sessions each way, {args.workers} at a time, "
                  f"{args.burn} CPU burners on {os.cpu_count()} CPUs")  # fmt: skip
            load = burners(args.burn, args.seconds)
            time.sleep(1)
            sessions = sessions_for(devices, args.sessions)
            unexplained = 0
            for name, run in (("opskit", run_opskit), ("netmiko", run_netmiko)):
                _failed, answers = report(name, devices, sessions, run, args.workers,
                                         args.timeout)  # fmt: skip
                never_sent = answers["<blank>"] + answers["<secret wrong>"]
                if name == "opskit":
                    # every failure has its reason; a secret never sent would be a bug
                    unexplained += never_sent
            print(f"   opskit sessions whose secret was never sent: {unexplained}")
            print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        finally:
            for p in load:
                p.kill()
                p.wait()
            for d in devices:
                d.peer.stop()


if __name__ == "__main__":
    main()
