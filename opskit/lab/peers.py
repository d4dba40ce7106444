"""Start and stop peer processes on loopback: free ports, readiness waits, clean stops."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port that is free right now on `host` (TCP by default; SOCK_DGRAM for UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_until(
    check: Callable[[], bool], timeout: float = 15.0, what: str = "peer", interval: float = 0.1
) -> None:
    """Call `check` until it returns True; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the peer is not up yet; any error means "not ready"
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s")


class Peer:
    """A peer process with its output in a log file; `stop()` terminates, then kills."""

    def __init__(
        self,
        argv: Sequence[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.log_path = Path(log)
        self._log: IO[bytes] = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )

    def log_text(self) -> str:
        """What the peer printed so far."""
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM, wait 5 s, then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


# Runs opskit's CLI in a child that prints its own peak memory last, on stderr.
_PEAK_RSS = (
    "import resource, runpy, sys\n"
    "sys.argv = ['opskit', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('opskit', run_name='__main__')\n"
    "finally:\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    sys.stderr.write(f'\\nPEAK_RSS_KIB {peak}')\n"
)


def run_opskit_measured(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> tuple[subprocess.CompletedProcess[str], int]:
    """`opskit ARGS...` as a child process, and its peak resident memory in KiB (for tests
    and benchmarks that bound memory; the figure is taken off stderr)."""
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    err, _, peak = proc.stderr.rpartition("\nPEAK_RSS_KIB ")
    proc.stderr = err
    return proc, int(peak)
