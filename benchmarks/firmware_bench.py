"""Firmware version parsing and sorting throughput, against packaging.version as a baseline.

Both sides parse and sort the same strings in the same process: PEP 440-shaped versions
(which packaging understands) through opskit's generic scheme, and each vendor's real
strings through its own scheme. The figure that matters is the ratio to the baseline
(the machine's speed cancels out), printed last.

    python benchmarks/firmware_bench.py [--n 20000]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from opskit.firmware.versions import parse_version, sort_versions


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def paired(
    a: Callable[[], object], b: Callable[[], object], repeat: int = 7
) -> tuple[float, float]:
    """Best times of a and b, run alternately so a busy machine slows both alike."""
    best_a = best_b = float("inf")
    for _ in range(repeat):
        best_a = min(best_a, timed(a, 1))
        best_b = min(best_b, timed(b, 1))
    return best_a, best_b


def pep440_strings(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        base = f"{rng.randint(0, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 200)}"
        tail = rng.choice(["", "", "", f"rc{rng.randint(1, 5)}", f"b{rng.randint(1, 9)}",
                           f".post{rng.randint(1, 3)}"])  # fmt: skip
        out.append(base + tail)
    return out


VENDOR = {
    "cisco_ios": lambda r: f"15.{r.randint(0, 2)}({r.randint(1, 7)})E{r.randint(0, 12)}",
    "cisco_xe": lambda r: f"17.{r.randint(1, 15)}.{r.randint(1, 6)}{r.choice(['', 'a'])}",
    "juniper_junos": lambda r: (
        f"{r.randint(18, 24)}.{r.randint(1, 4)}R{r.randint(1, 3)}-S{r.randint(1, 12)}"
    ),
    "mikrotik_routeros": lambda r: f"7.{r.randint(1, 18)}{r.choice(['', 'rc2', 'beta4'])}",
    "paloalto_panos": lambda r: f"10.{r.randint(0, 2)}.{r.randint(0, 14)}-h{r.randint(1, 9)}",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args()
    rng = random.Random(1)
    strings = pep440_strings(args.n, rng)

    from packaging.version import Version as PkgVersion

    base_parse, ours_parse = paired(
        lambda: [PkgVersion(s) for s in strings],
        lambda: [parse_version("linux", s) for s in strings],
    )
    base_sort, ours_sort = paired(
        lambda: sorted(strings, key=PkgVersion), lambda: sort_versions("linux", strings)
    )
    print(f"{args.n} PEP 440-shaped strings")
    print(f"  packaging.version parse   {args.n / base_parse:>10,.0f}/s")
    print(f"  opskit generic parse      {args.n / ours_parse:>10,.0f}/s")
    print(f"  packaging.version sort    {base_sort * 1000:>10.1f} ms")
    print(f"  opskit generic sort       {ours_sort * 1000:>10.1f} ms")
    for platform, make in VENDOR.items():
        vs = [make(rng) for _ in range(args.n)]
        t = timed(lambda vs=vs, p=platform: sort_versions(p, vs))
        print(f"  {platform:<18} parse+sort {args.n / t:>10,.0f}/s")
    print(f"ratio parse opskit/packaging: {base_parse / ours_parse:.2f}x the baseline's speed")
    print(f"ratio sort  opskit/packaging: {base_sort / ours_sort:.2f}x the baseline's speed")


if __name__ == "__main__":
    main()
