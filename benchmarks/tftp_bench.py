"""TFTP throughput: opskit's server against tftpd-hpa (in.tftpd), same clients, loopback.

    python benchmarks/tftp_bench.py [--runs 3] [--size-mb 40] [--uploads 200]

1. A 40 MB put with tftp-hpa's client (512-byte blocks, 81,920 lock-step round trips:
   block numbers roll over), with atftp at blksize 1428, and with atftp at blksize 1428
   asking for RFC 7440 `windowsize 8` (tftpd-hpa does not know the option and answers
   lock-step); MB/s (median of --runs, the servers alternating run by run) and the ratio
   opskit / tftpd-hpa. Targets: >= 0.8 lock-step; windowsize past tftpd-hpa.
2. 200 concurrent 100 KB uploads (tftp-hpa clients) against each server, alternating:
   wall time and how many arrived whole (sha256). Target: within 1.25x tftpd-hpa's time.

Both servers run in their own process: opskit's as `tftp_bench.py --serve ROOT` (a
TftpServer accepting the benchmark's names), tftpd-hpa as
`in.tftpd -L -u root -c -s -a 127.0.0.1:PORT DIR`. Needs tftp-hpa, atftp and tftpd-hpa.
Where the time goes per block: benchmarks/tftp_profile.py.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opskit.lab import Peer, free_port, wait_until
from tests.lab.tftp import ClientResult, atftp_put, hpa_put, start_in_tftpd

MB = 1_000_000
# `OPSKIT_TFTP_ENGINES=N` tries another number of packet threads (see tftp.ENGINES).
ENGINES = (
    {"engines": int(os.environ["OPSKIT_TFTP_ENGINES"])}
    if "OPSKIT_TFTP_ENGINES" in os.environ
    else {}
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Target:
    """A server under test: how to start a put and how to read back what arrived."""

    def __init__(self, name: str, port: int, receive: Callable[[str], Callable[[], bytes]]):
        self.name = name
        self.port = port
        self.receive = receive  # receive(remote_name) -> waiter returning the bytes


def serve(root: Path, names: list[str]) -> None:
    """`--serve`: opskit's server in its own process (as tftpd-hpa is): accept `names`,
    move each complete upload to ROOT/out/NAME for the benchmark to check."""
    import asyncio

    from opskit.transport.tftp import ReceivedFile, TftpServer

    out = root / "out"
    out.mkdir(parents=True, exist_ok=True)

    def keep(received: ReceivedFile) -> None:
        os.replace(received.path, out / received.name)

    async def run() -> None:
        server = TftpServer(root, "127.0.0.1", 0, max_size=1 << 30, **ENGINES)
        await server.start()
        for name in names:
            server.allow_uploads(name, keep)
        print(f"READY {server.port}", flush=True)
        await asyncio.Event().wait()  # until SIGTERM

    asyncio.run(run())


def opskit_target(port: int, root: Path) -> Target:
    out = root / "out"

    def receive(name: str) -> Callable[[], bytes]:
        def wait() -> bytes:
            # The server hands an upload over just after the client got its last ACK.
            path = out / name
            try:
                wait_until(path.exists, timeout=10, what=name, interval=0.01)
            except TimeoutError:
                return b""
            data = path.read_bytes()
            path.unlink()
            return data

        return wait

    return Target("opskit", port, receive)


def tftpd_target(port: int, root: Path) -> Target:
    def receive(name: str) -> Callable[[], bytes]:
        def wait() -> bytes:
            path = root / name
            data = path.read_bytes() if path.exists() else b""
            path.unlink(missing_ok=True)
            return data

        return wait

    return Target("tftpd-hpa", port, receive)


def timed_put(
    target: Target, client: Callable[[int, Path, str], ClientResult], src: Path, digest: str
) -> float:
    wait = target.receive("big.bin")
    t0 = time.perf_counter()
    result = client(target.port, src, "big.bin")
    elapsed = time.perf_counter() - t0
    if not result.ok:
        raise SystemExit(f"{target.name}: put failed: {result.output.strip()}")
    if sha(wait()) != digest:
        raise SystemExit(f"{target.name}: the 40 MB file arrived damaged")
    return elapsed


def many_uploads(target: Target, files: list[tuple[Path, str]]) -> tuple[float, int]:
    waits = [target.receive(f"u{i}.cfg") for i in range(len(files))]
    tftp = shutil.which("tftp") or "tftp"
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                tftp,
                "-m",
                "binary",
                "127.0.0.1",
                str(target.port),
                "-c",
                "put",
                str(path),
                f"u{i}.cfg",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        for i, (path, _digest) in enumerate(files)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    elapsed = time.perf_counter() - t0
    whole = sum(
        1
        for i, out in enumerate(outputs)
        if procs[i].returncode == 0 and b"Error code" not in out and sha(waits[i]()) == files[i][1]
    )
    return elapsed, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=40)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, ["big.bin", *(f"u{i}.cfg" for i in range(args.uploads))])
        return
    for tool in ("tftp", "atftp"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install tftp-hpa atftp)")
    tftpd = shutil.which("in.tftpd") or "/usr/sbin/in.tftpd"

    with tempfile.TemporaryDirectory(prefix="tftp-bench-") as tmp:
        work = Path(tmp)
        size = args.size_mb * MB
        src = work / "big.bin"
        src.write_bytes(os.urandom(size))
        digest = sha(src.read_bytes())
        files = []
        for i in range(args.uploads):
            path = work / f"u{i}.bin"
            data = os.urandom(100_000)
            path.write_bytes(data)
            files.append((path, sha(data)))

        c_root = work / "tftpd-root"
        c_root.mkdir()
        c_port = free_port(socket.SOCK_DGRAM)
        peer = start_in_tftpd(tftpd, c_root, c_port, work / "in.tftpd.log")
        o_root = work / "opskit-root"
        o_log = work / "opskit.log"
        opskit = Peer(
            [sys.executable, __file__, "--serve", str(o_root), "--uploads", str(args.uploads)],
            o_log,
        )
        wait_until(lambda: "READY" in o_log.read_text(), what="opskit tftp server")
        o_port = int(o_log.read_text().split("READY", 1)[1].split()[0])
        targets = [opskit_target(o_port, o_root), tftpd_target(c_port, c_root)]
        window = ("windowsize 8",)
        clients: list[tuple[str, Callable[[int, Path, str], ClientResult]]] = [
            ("tftp-hpa, 512 B blocks", lambda p, s, r: hpa_put(p, s, r)),
            ("atftp, blksize 1428", lambda p, s, r: atftp_put(p, s, r, blksize=1428)),
            (
                "atftp, blksize 1428, windowsize 8",
                lambda p, s, r: atftp_put(p, s, r, blksize=1428, options=window),
            ),
        ]
        try:
            print(f"{args.size_mb} MB put, median of {args.runs} runs, the servers alternating "
                  f"(loopback, {os.cpu_count()} CPUs)")  # fmt: skip
            print(f"{'client':<34} {'opskit MB/s':>12} {'tftpd-hpa MB/s':>15} {'ratio':>7}")
            for label, client in clients:
                times: dict[str, list[float]] = {t.name: [] for t in targets}
                for i in range(args.runs):
                    for target in targets if i % 2 == 0 else targets[::-1]:
                        times[target.name].append(timed_put(target, client, src, digest))
                rates = {n: size / statistics.median(ts) / MB for n, ts in times.items()}
                ratio = rates["opskit"] / rates["tftpd-hpa"]
                print(
                    f"{label:<34} {rates['opskit']:>12.2f} {rates['tftpd-hpa']:>15.2f}"
                    f" {ratio:>7.2f}"
                )
            print()
            print(
                f"{args.uploads} concurrent 100 KB uploads (tftp-hpa clients), median of"
                f" {args.runs} alternating rounds"
            )
            rounds: dict[str, list[tuple[float, int]]] = {t.name: [] for t in targets}
            for i in range(args.runs):
                for target in targets if i % 2 == 0 else targets[::-1]:
                    rounds[target.name].append(many_uploads(target, files))
            medians = {}
            for name, results in rounds.items():
                elapsed = medians[name] = statistics.median(r[0] for r in results)
                whole = min(r[1] for r in results)
                print(
                    f"{name:<10} {elapsed:6.2f} s (runs: "
                    + ", ".join(f"{r[0]:.2f}" for r in results)
                    + f"), {whole}/{args.uploads} whole in the worst run"
                )
            print(f"ratio opskit / tftpd-hpa: {medians['opskit'] / medians['tftpd-hpa']:.2f}")
            print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        finally:
            opskit.stop()
            peer.stop()


if __name__ == "__main__":
    main()
