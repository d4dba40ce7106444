"""Notification speed: the syslog listener's per-message work, and cutting a huge digest.

1. Syslog: 100,000 RFC 3164 datagrams (half IOS `%SYS-5-CONFIG_I` from known devices,
   half other messages) through `Listener.handle` (parse RFC 3164/5424, find the device among 5,000,
   match the platform's patterns, schedule), against a baseline of decoding each datagram
   and one regex search (the least any listener does).
2. Over UDP: the same datagrams (found by HOSTNAME: they come from 127.0.0.1) sent on
   loopback to a running `Listener` (its bounded queue and consumer), against a bare
   asyncio UDP receiver that only counts.
3. Digest: a 2,000-device change (about 5 MB of diffs) cut to Slack's 40,000 characters
   and to a 256 KB mail, against rendering the same digest uncut.

    python benchmarks/notify_bench.py
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from opskit.notify.config import Channel
from opskit.notify.digest import Change, Digest, diff_text, head_text
from opskit.notify.listen import Listener, ListenSettings
from opskit.notify.render import render_email, render_webhook

N_MESSAGES = 100_000
N_DEVICES = 5_000


@dataclass(frozen=True)
class Dev:
    name: str
    host: str
    platform: str = "cisco_ios"


def devices() -> list[Dev]:
    return [Dev(f"sw{i}", f"10.{i // 250}.{i % 250}.1") for i in range(N_DEVICES)]


def datagrams() -> list[tuple[bytes, str]]:
    out = []
    for i in range(N_MESSAGES):
        d = i % N_DEVICES
        host = f"10.{d // 250}.{d % 250}.1"
        if i % 2:
            text = f"<189>Dec  7 10:00:00 sw{d} {i}: %SYS-5-CONFIG_I: Configured from console by admin on vty0 (10.9.9.9)"  # noqa: E501
        else:
            text = f"<189>Dec  7 10:00:00 sw{d} {i}: %LINK-3-UPDOWN: Interface Gi0/{i % 48}, changed state to up"  # noqa: E501
        out.append((text.encode(), host))
    return out


def no_backup(batch: list[Any], who: dict[str, str]) -> dict[str, Any]:
    return {"summary": ""}


def bench_handle(msgs: list[tuple[bytes, str]]) -> tuple[float, float]:
    pattern = re.compile(r"%SYS-5-CONFIG_I: Configured from (\S+) by (\S+)")
    t0 = time.perf_counter()
    hits = 0
    for data, _src in msgs:
        if pattern.search(data.decode("utf-8", "replace")):
            hits += 1
    baseline = time.perf_counter() - t0

    async def run() -> float:
        settings = ListenSettings("127.0.0.1", 0, quiet=3600, max_delay=7200)
        listener = Listener(devices(), settings, no_backup)
        t = time.perf_counter()
        now = time.monotonic()
        for data, src in msgs:
            listener.handle(data, src, now)
        assert listener.stats.config_changes == N_MESSAGES // 2, listener.stats
        return time.perf_counter() - t

    return baseline, asyncio.run(run())


def bench_udp(msgs: list[tuple[bytes, str]]) -> tuple[float, float, int, int]:
    """Loopback UDP: (bare receiver s, listener s, bare got, listener got)."""

    async def bare() -> tuple[float, int]:
        got = 0

        class Count(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                nonlocal got
                got += 1

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(Count, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        seconds = await send_all(port, msgs, lambda: got)
        transport.close()
        return seconds, got

    async def listener() -> tuple[float, int]:
        settings = ListenSettings("127.0.0.1", 0, quiet=3600, max_delay=7200, queue=10_000)
        lis = Listener(devices(), settings, no_backup)
        stop = asyncio.Event()
        ready = asyncio.Event()
        where: list[int] = []

        def on_ready(addr: str) -> None:
            where.append(int(addr.split(" ")[0].rsplit(":", 1)[1]))
            ready.set()

        task = asyncio.create_task(lis.run(stop, on_ready))
        await ready.wait()
        seconds = await send_all(
            where[0], msgs, lambda: lis.stats.config_changes + lis.stats.other_messages
        )
        handled = lis.stats.config_changes + lis.stats.other_messages
        print(f"  (listener counters: {lis.stats.to_dict()})")
        lis.pending.clear()  # no backups in a benchmark
        stop.set()
        await task
        return seconds, handled

    b_s, b_got = asyncio.run(bare())
    l_s, l_got = asyncio.run(listener())
    return b_s, l_s, b_got, l_got


SENDER = """
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
lines = sys.stdin.buffer.read().split(b"\\n")[:n]
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    for i, data in enumerate(lines):
        sock.sendto(data, ("127.0.0.1", port))
        if i % 50 == 49:
            time.sleep(0.0005)
"""


async def send_all(port: int, msgs: list[tuple[bytes, str]], done: Any) -> float:
    """Send from another process in bursts of 50 (a busy network's pace), then wait until
    nothing more arrives; the seconds from the first datagram to the last one handled."""
    import sys

    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SENDER, str(port), str(len(msgs)), stdin=asyncio.subprocess.PIPE
    )
    await proc.communicate(b"\n".join(data for data, _src in msgs))
    last, still, t_last = -1, 0, time.perf_counter()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and still < 20:  # until nothing more arrives
        now = done()
        if now != last:
            t_last = time.perf_counter()
        still = still + 1 if now == last else 0
        last = now
        await asyncio.sleep(0.01)
    return t_last - t0


def bench_digest() -> tuple[float, float, float]:
    changes = tuple(
        Change(
            f"sw{i}",
            f"site{i % 20}",
            f"site{i % 20}/sw{i}.cfg",
            "".join(f"-interface Gi0/{n}\n+interface Gi0/{n} changed\n" for n in range(60)),
        )
        for i in range(2000)
    )
    digest = Digest("run", "2026-12-07T00:00:00+00:00", "c" * 40, "/srv/configs", changes)
    t0 = time.perf_counter()
    full = head_text(digest) + diff_text(digest)
    baseline = time.perf_counter() - t0
    slack = Channel("s", "webhook", frozenset({"changes"}), format="slack")
    mail = Channel("m", "email", frozenset({"changes"}), to=("a@b.c",), sender="o@b.c")
    t0 = time.perf_counter()
    rendered = render_webhook(slack, digest)
    t_slack = time.perf_counter() - t0
    t0 = time.perf_counter()
    render_email(mail, digest)
    t_mail = time.perf_counter() - t0
    assert rendered.truncated and len(full) > 4_000_000
    return baseline, t_slack, t_mail


def main() -> None:
    msgs = datagrams()
    base, handle = bench_handle(msgs)
    print(f"syslog, {N_MESSAGES:,} messages, {N_DEVICES:,} devices (in process):")
    print(f"  baseline decode + one regex:   {base:.3f} s ({N_MESSAGES / base:,.0f}/s)")
    print(
        f"  Listener.handle:               {handle:.3f} s ({N_MESSAGES / handle:,.0f}/s), "
        f"{handle / base:.1f}x the baseline"
    )
    b_s, l_s, b_got, l_got = bench_udp(msgs)
    print("syslog over loopback UDP (a sender process, bursts of 50):")
    print(f"  bare asyncio receiver:  {b_s:.3f} s, {b_got:,} of {N_MESSAGES:,} received")
    print(
        f"  opskit listener:        {l_s:.3f} s, {l_got:,} handled "
        f"({l_s / b_s:.1f}x the bare receiver's time)"
    )
    base, slack, mail = bench_digest()
    print("digest of 2,000 changed devices (~5 MB of diffs):")
    print(f"  baseline: render uncut       {base * 1000:.1f} ms")
    print(f"  cut to Slack's 40,000 chars  {slack * 1000:.1f} ms ({slack / base:.1f}x)")
    print(f"  cut to a 256 KB mail         {mail * 1000:.1f} ms ({mail / base:.1f}x)")


if __name__ == "__main__":
    main()
