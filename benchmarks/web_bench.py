"""`opskit web` speed on a big shop, measured with a real HTTP client (httpx, keep-alive)
against the running server, each figure beside a baseline run in the same script.

The shop: the 5,000-device / 100,000-cable inventory of `inventory_bench.py`, and a
backup history of 20,000 commits (git fast-import): one switch changed in every commit
(20,000 versions), one changed every 1,000th commit (20 versions), two other devices per
commit at random. Pages timed (median and worst of `--repeat` requests):

* search (an exact label: the answer is the redirect), the cable page, a substring search,
  a device page with 48 traced ports: against `opskit inventory find LABEL` (the CLI, warm
  cache), what a technician would run otherwise; target < 0.1 s;
* a device's history (page 1, a deep page by the "older" link, a deep page by number),
  the rarely-changed device's history, and a diff of two versions 10,000 commits apart:
  against `git log` / `git diff` run directly for the same question; target < 0.3 s.

    python benchmarks/web_bench.py               # full size
    python benchmarks/web_bench.py --sites 10 --commits 2000   # a quick look
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inventory_bench import generate

HOT, RARE = "s000/sw-000-00.cfg", "s000/sw-000-01.cfg"


def make_history(repo: Path, commits: int, sites: int) -> None:
    """A linear history of `commits` backup runs (fast-import), like opskit's own."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    rnd = random.Random(14)
    others = [f"s{s:03d}/sw-{s:03d}-{i:02d}.cfg" for s in range(sites) for i in range(2, 20)]
    base = [f"interface GigabitEthernet1/0/{i}\n description port {i}\n!" for i in range(1, 49)]
    configs: dict[str, list[str]] = {}
    proc = subprocess.Popen(
        ["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE
    )
    assert proc.stdin is not None
    out = proc.stdin
    for c in range(commits):
        changed = [HOT, *rnd.sample(others, 2)]
        if c % 1000 == 0:
            changed.append(RARE)
        msg = f"opskit backup run: {len(changed)} changed\n".encode()
        head = f"commit refs/heads/main\nmark :{c + 1}\n"
        head += f"committer opskit <opskit@localhost> {1_700_000_000 + 60 * c} +0000\n"
        out.write(head.encode() + b"data %d\n" % len(msg) + msg)
        if c:
            out.write(f"from :{c}\n".encode())
        for path in changed:
            lines = configs.setdefault(path, [f"hostname {path[5:-4]}", *base, "end"])
            n = rnd.randrange(1, 49)
            lines[n] = f"interface GigabitEthernet1/0/{n}\n description changed in run {c}\n!"
            body = ("\n".join(lines) + "\n").encode()
            out.write(f"M 100644 inline {path}\n".encode() + b"data %d\n" % len(body) + body)
        out.write(b"\n")
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and worst wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def main() -> None:
    """Generate, serve, time, print."""
    import httpx

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="opskit-web-bench-") as tmp:
        root = Path(tmp)
        inventory = generate(root, args.sites)
        env = {**os.environ, "XDG_CACHE_HOME": str(root / "cache")}
        env.pop("OPSKIT_INVENTORY", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        t0 = time.perf_counter()
        make_history(root / "configs", args.commits, args.sites)
        print(
            f"shop: {args.sites * 50} devices, {args.sites * 1000} cables; "
            f"{args.commits} commits ({time.perf_counter() - t0:.0f} s to make)"
        )
        git = ["git", "-C", str(root / "configs")]

        def git_run(*more: str) -> None:
            subprocess.run([*git, *more], capture_output=True, check=True)

        # Baselines without git's commit-graph (the server writes one when it starts).
        cold_rare, _ = timed(lambda: git_run("log", "-n51", "HEAD", "--", RARE), 3)

        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "opskit", "-i", str(inventory), "web", "--listen",
             f"127.0.0.1:{port}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            t0 = time.perf_counter()
            client = httpx.Client(base_url=base, timeout=60, headers={"Accept": "text/html"})
            _wait(client)
            print(f"server ready in {time.perf_counter() - t0:.1f} s (index built or read)")
            _wait_for_graph(root / "configs")
            label = f"C-{args.sites * 500 + 1:06d}"
            device = f"sw-{args.sites // 2:03d}-10"
            log = git_run
            hot = [
                line.split()[0]
                for line in subprocess.run(
                    [*git, "log", "--format=%H", "HEAD", "--", HOT],
                    capture_output=True, text=True, check=True,
                ).stdout.splitlines()
            ]  # fmt: skip
            deep_after = hot[len(hot) // 2 - 1]

            def page(path: str, status: int = 200) -> Callable[[], None]:
                def get() -> None:
                    r = client.get(path)
                    if r.status_code != status:
                        raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")

                return get

            cli = [sys.executable, "-m", "opskit", "-i", str(inventory), "inventory", "find"]
            subprocess.run([*cli, label], env=env, capture_output=True, check=True)  # warm
            find_cli, _ = timed(
                lambda: subprocess.run([*cli, label], env=env, capture_output=True), 5
            )
            git_log, _ = timed(lambda: log("log", "-n51", "HEAD", "--", HOT), args.repeat)
            git_rare, _ = timed(lambda: log("log", "-n51", "HEAD", "--", RARE), args.repeat)
            deep = len(hot) // 100
            git_skip, _ = timed(
                lambda: log("log", "-n51", f"--skip={(deep - 1) * 50}", "HEAD", "--", HOT),
                args.repeat,
            )
            git_diff, _ = timed(
                lambda: log("diff", hot[10_000 % len(hot)], hot[0], "--", HOT), args.repeat
            )
            rows = [
                ("search: exact label (redirect)", f"/?q={label}", 303, find_cli, 0.1),
                ("cable page", f"/c/{label}", 200, find_cli, 0.1),
                ("search: 'sw-050-1' (substring)", f"/?q=sw-{args.sites // 2:03d}-1", 200,
                 find_cli, 0.1),
                ("device page (48 ports traced)", f"/d/{device}", 200, find_cli, 0.1),
                ("patch sheet", f"/d/{device}/sheet", 200, find_cli, 0.1),
                ("history, page 1", "/d/sw-000-00/history", 200, git_log, 0.3),
                ("history, deep ('older' link)",
                 f"/d/sw-000-00/history?page={deep}&after={deep_after}", 200, git_log, 0.3),
                ("history, deep (page number)", f"/d/sw-000-00/history?page={deep}",
                 200, git_skip, 0.3),
                ("history, rarely changed device", "/d/sw-000-01/history", 200, git_rare, 0.3),
                ("diff, versions 10,000 apart",
                 f"/d/sw-000-00/diff?a={hot[10_000 % len(hot)]}&b={hot[0]}", 200, git_diff, 0.3),
            ]  # fmt: skip
            print(f"{'page':34} {'median':>8} {'worst':>8}  {'baseline':>9}  ratio  target")
            for name, path, status, baseline, target in rows:
                page(path, status)()  # first call: caches, commit-graph
                med, worst = timed(page(path, status), args.repeat)
                ok = "ok" if med < target else "SLOW"
                print(
                    f"{name:34} {med:7.3f}s {worst:7.3f}s  {baseline:8.3f}s  "
                    f"{med / baseline:5.2f}  < {target} s {ok}"
                )
            print(
                "baselines: `opskit inventory find LABEL` (CLI, warm cache) for the rack pages; "
                "`git log -n51 [--skip=N] -- PATH` / `git diff A B -- PATH` for history, diff"
            )
            print(
                f"git log -n51 of the rarely changed device without commit-graph: {cold_rare:.3f} s"
                f", with it: {git_rare:.3f} s"
            )
        finally:
            server.terminate()
            server.wait(30)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(client: object) -> None:
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if client.get("/static/opskit.css").status_code == 200:  # type: ignore[attr-defined]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("opskit web did not start within 300 s")


def _wait_for_graph(repo: Path) -> None:
    deadline = time.monotonic() + 120
    info = repo / ".git" / "objects" / "info"
    while time.monotonic() < deadline:
        if (info / "commit-graph").exists() or (info / "commit-graphs").exists():
            return
        time.sleep(0.2)


if __name__ == "__main__":
    main()
