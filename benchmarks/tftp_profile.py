"""Where a TFTP block's time goes: opskit's server and tftpd-hpa, per block, same client.

    python benchmarks/tftp_profile.py [--size-mb 20] [--client hpa|atftp] [--runs 3]
                                      [--strace] [--cprofile]

For each server (alternating, --runs each; opskit with busy-polling on and off), one put
of --size-mb with tftp-hpa's client (512 B blocks) or atftp (blksize 1428), and per block:

* wall time (the round trip: client, server and two wake-ups);
* the server's CPU (user + system, from `perf stat`, which follows tftpd-hpa's forked
  child: in.tftpd ignores SIGCHLD, so the child's time is in no rusage) and its context
  switches (each one a sleep in a wait and a wake-up);
* with --strace: system calls per block (`strace -c -f` on the server, one more run each;
  strace slows everything, only the counts matter);
* with --cprofile: the top of a cProfile of opskit's engine thread (in the server process).

Needs tftp-hpa, atftp, tftpd-hpa and perf (linux-perf) or strace for the counts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opskit.lab import free_port, wait_until  # noqa: E402


def serve(root: Path, spin: float, cprofile: bool) -> None:
    """`--serve`: opskit's server accepting `big.bin` again and again (READY PORT)."""
    import asyncio
    import cProfile
    import pstats
    import signal

    from opskit.transport import tftp

    tftp.SPIN_SECONDS = spin
    profiles: list[cProfile.Profile] = []
    if cprofile:
        run = tftp._Engine._run

        def profiled(engine: tftp._Engine) -> None:
            prof = cProfile.Profile()
            profiles.append(prof)
            prof.runcall(run, engine)

        tftp._Engine._run = profiled  # type: ignore[method-assign]

    async def main() -> None:
        server = tftp.TftpServer(root, "127.0.0.1", 0, max_size=1 << 31)
        await server.start()
        server.allow_uploads("big.bin", lambda received: received.discard())
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print(f"READY {server.port}", flush=True)
        await stop.wait()
        await server.close(1)

    asyncio.run(main())
    if profiles:
        stats = pstats.Stats(profiles[0])
        for p in profiles[1:]:
            stats.add(p)
        stats.sort_stats("tottime").print_stats(14)


def put(client: str, port: int, src: Path) -> float:
    if client == "hpa":
        argv = ["tftp", "-m", "binary", "127.0.0.1", str(port), "-c", "put", str(src), "big.bin"]
    else:
        argv = ["atftp", "--option", "blksize 1428", "-p", "-l", str(src), "-r", "big.bin",
                "127.0.0.1", str(port)]  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if out.returncode != 0 or "Error" in out.stdout + out.stderr:
        raise SystemExit(f"put failed: {out.stdout}{out.stderr}")
    return time.perf_counter() - start


def run_server(
    name: str, argv: list[str], work: Path, client: str, src: Path, wrap: list[str]
) -> tuple[float, str]:
    """Start a server under `wrap` (perf stat / strace), one put, stop; (wall, wrap's log)."""
    log = work / f"{name}.log"
    report = work / f"{name}.report"
    report.unlink(missing_ok=True)
    wrapped = [w.replace("REPORT", str(report)) for w in wrap]
    with open(log, "w") as out:
        proc = subprocess.Popen([*wrapped, *argv], stdout=out, stderr=subprocess.STDOUT)
    try:
        if "--serve" in argv:
            wait_until(lambda: "READY" in log.read_text(), timeout=30, what=name)
            port = int(log.read_text().split("READY", 1)[1].split()[0])
        else:
            port = int(argv[argv.index("-a") + 1].rsplit(":", 1)[1])
            time.sleep(0.5)
        wall = put(client, port, src)
        time.sleep(0.3)  # the last ACK, the hand-over
    finally:
        # SIGTERM to the server itself (perf and strace end when it does)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        pids = [int(p) for p in children.stdout.split()] if wrap else [proc.pid]
        for pid in pids or [proc.pid]:
            os.kill(pid, 15)
        proc.wait(30)
    text = report.read_text() if report.exists() else ""
    return wall, text + log.read_text()


def perf_figures(text: str) -> tuple[float, float, float, int]:
    """(task-clock s, user s, sys s, context switches) from `perf stat`'s report."""
    clock = float(re.search(r"([\d.,]+)\s+msec task-clock", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    switches = re.search(r"([\d,]+)\s+context-switches", text)
    user = re.search(r"([\d.]+) seconds user", text)
    system = re.search(r"([\d.]+) seconds sys", text)
    return (
        clock / 1000,
        float(user.group(1)) if user else 0.0,
        float(system.group(1)) if system else 0.0,
        int(switches.group(1).replace(",", "")) if switches else 0,
    )


def syscalls(text: str) -> dict[str, int]:
    """Calls per syscall from `strace -c`'s table."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            out[parts[-1]] = int(parts[3])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=20)
    ap.add_argument("--client", choices=("hpa", "atftp"), default="hpa")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--spin", type=float, default=0.0002, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.spin, args.cprofile)
        return
    perf = shutil.which("perf")
    tftpd = shutil.which("in.tftpd") or "/usr/sbin/in.tftpd"
    blk = 512 if args.client == "hpa" else 1428
    size = args.size_mb * 1_000_000
    blocks = size // blk + 1
    from opskit.transport.tftp import SPIN_SECONDS

    with tempfile.TemporaryDirectory(prefix="tftp-profile-") as tmp:
        work = Path(tmp)
        src = work / "big.bin"
        src.write_bytes(os.urandom(size))
        (work / "tftpd").mkdir()

        def opskit(spin: float, cprofile: bool = False) -> list[str]:
            extra = ["--cprofile"] if cprofile else []
            return [sys.executable, __file__, "--serve", str(work / "opskit"),
                    "--spin", str(spin), *extra]  # fmt: skip

        def tftpd_argv() -> list[str]:
            port = free_port(socket.SOCK_DGRAM)
            return [tftpd, "-L", "-u", "root", "-c", "-s", "-a", f"127.0.0.1:{port}",
                    str(work / "tftpd")]  # fmt: skip

        servers = [
            ("opskit", lambda: opskit(SPIN_SECONDS)),
            ("opskit, no busy-poll", lambda: opskit(0.0)),
            ("tftpd-hpa", tftpd_argv),
        ]
        wrap = ["perf", "stat", "-e", "task-clock,context-switches", "-o", "REPORT"] if perf else []
        print(f"{args.size_mb} MB put, {blocks} blocks of {blk} B ({args.client} client); "
              f"per block, median of {args.runs} runs, the servers alternating")  # fmt: skip
        if not perf:
            print("(no perf: wall time only)")
        figures: dict[str, list[tuple[float, float, float, float, int]]] = {}
        for i in range(args.runs):
            for name, argv in servers if i % 2 == 0 else servers[::-1]:
                wall, text = run_server(name.split(",")[0], argv(), work, args.client, src, wrap)
                clock, user, system, switches = perf_figures(text) if perf else (0, 0, 0, 0)
                figures.setdefault(name, []).append((wall, clock, user, system, switches))
                (work / "tftpd" / "big.bin").unlink(missing_ok=True)
        for name, runs in figures.items():
            wall, clock, user, system, switches = (statistics.median(r[k] for r in runs)
                                                   for k in range(5))  # fmt: skip
            us = 1e6 / blocks
            print(f"  {name:22s} {wall * us:5.1f} us wall, {size / wall / 1e6:6.2f} MB/s; "
                  f"server CPU {clock * us:5.1f} us (user {user * us:.1f}, sys {system * us:.1f});"
                  f" {switches / blocks:.2f} context switches")  # fmt: skip
        if args.strace and shutil.which("strace"):
            print("system calls per block (strace -c -f, one run each):")
            for name, argv in servers:
                trace = ["strace", "-f", "-c", "-o", "REPORT"]
                _wall, text = run_server(name.split(",")[0], argv(), work, args.client, src, trace)
                calls = {k: v / blocks for k, v in syscalls(text).items() if v / blocks >= 0.5}
                (work / "tftpd" / "big.bin").unlink(missing_ok=True)
                listed = ", ".join(
                    f"{k} {v:.1f}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1])
                )
                print(f"  {name:22s} {sum(calls.values()):.1f}: {listed}")
        if args.cprofile:
            print("opskit's engine threads, cProfile (tottime):")
            _wall, text = run_server("opskit-prof", opskit(SPIN_SECONDS, True), work,
                                     args.client, src, [])  # fmt: skip
            print(text.split("READY", 1)[1].split("\n", 1)[1])


if __name__ == "__main__":
    main()
