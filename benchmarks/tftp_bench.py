"""TFTP throughput: opskit's server against tftpd-hpa (in.tftpd), same clients, loopback.

    python benchmarks/tftp_bench.py [--runs 2] [--size-mb 40] [--uploads 200]

1. A 40 MB put with tftp-hpa's client (512-byte blocks, 81,920 lock-step round trips:
   block numbers roll over) and with atftp at blksize 1428, against each server; MB/s
   (median of --runs) and the ratio opskit / tftpd-hpa. Target: ratio >= 0.5.
2. 200 concurrent 100 KB uploads (tftp-hpa clients) against each server: wall time and
   how many arrived whole (sha256). Target: all 200 whole in under 5 s.

opskit's server runs in this process (a thread, as under `backup run`); tftpd-hpa runs as
`in.tftpd -L -u root -c -s -a 127.0.0.1:PORT DIR`. Needs tftp-hpa, atftp and tftpd-hpa.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opskit.backup.tftp import BackgroundTftpServer
from opskit.lab import free_port
from tests.lab.tftp import ClientResult, atftp_put, hpa_put, start_in_tftpd

MB = 1_000_000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Target:
    """A server under test: how to start a put and how to read back what arrived."""

    def __init__(self, name: str, port: int, receive: Callable[[str], Callable[[], bytes]]):
        self.name = name
        self.port = port
        self.receive = receive  # receive(remote_name) -> waiter returning the bytes


def opskit_target(server: BackgroundTftpServer) -> Target:
    def receive(name: str) -> Callable[[], bytes]:
        future = server.expect_upload(name, max_size=1 << 30)

        def wait() -> bytes:
            received = future.result(60)
            try:
                return received.read_bytes()
            finally:
                received.discard()

        return wait

    return Target("opskit", server.port, receive)


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
    with concurrent.futures.ThreadPoolExecutor(len(files)) as pool:
        t0 = time.perf_counter()
        results = list(
            pool.map(lambda i: hpa_put(target.port, files[i][0], f"u{i}.cfg"), range(len(files)))
        )
        elapsed = time.perf_counter() - t0
    whole = sum(1 for i, r in enumerate(results) if r.ok and sha(waits[i]()) == files[i][1])
    return elapsed, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--size-mb", type=int, default=40)
    parser.add_argument("--uploads", type=int, default=200)
    args = parser.parse_args()
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
        server = BackgroundTftpServer(work / "opskit-root", "127.0.0.1", 0).start()
        targets = [opskit_target(server), tftpd_target(c_port, c_root)]
        clients: list[tuple[str, Callable[[int, Path, str], ClientResult]]] = [
            ("tftp-hpa, 512 B blocks", lambda p, s, r: hpa_put(p, s, r)),
            ("atftp, blksize 1428", lambda p, s, r: atftp_put(p, s, r, blksize=1428)),
        ]
        try:
            print(f"{args.size_mb} MB put, median of {args.runs} runs (loopback, 2 cores)")
            print(f"{'client':<24} {'opskit MB/s':>12} {'tftpd-hpa MB/s':>15} {'ratio':>7}")
            for label, client in clients:
                rates = {}
                for target in targets:
                    times = [timed_put(target, client, src, digest) for _ in range(args.runs)]
                    rates[target.name] = size / statistics.median(times) / MB
                ratio = rates["opskit"] / rates["tftpd-hpa"]
                print(
                    f"{label:<24} {rates['opskit']:>12.2f} {rates['tftpd-hpa']:>15.2f}"
                    f" {ratio:>7.2f}"
                )
            print()
            print(f"{args.uploads} concurrent 100 KB uploads (tftp-hpa clients)")
            for target in targets:
                elapsed, whole = many_uploads(target, files)
                print(
                    f"{target.name:<10} {elapsed:6.2f} s, {whole}/{args.uploads} whole"
                    f" ({args.uploads * 0.1 / elapsed:.1f} MB/s aggregate)"
                )
        finally:
            server.close(drain=1)
            peer.stop()


if __name__ == "__main__":
    main()
