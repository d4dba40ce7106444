"""TFTP peers for the tests: real clients (tftp-hpa, atftp), in.tftpd, a lossy UDP relay.

The helpers are plain functions too, so `benchmarks/tftp_bench.py` uses the same command
lines. tftp-hpa exits 0 on a server error: every helper reads "Error code" from its output
instead of trusting the exit code.
"""

from __future__ import annotations

import random
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opskit.lab import Peer, free_port, wait_until
from opskit.lab.fakeswitch import FakeSwitch, FakeSwitches
from opskit.transport.tftp import BackgroundTftpServer
from tests.lab.common import require_binary

CLIENT_TIMEOUT = 120.0


@dataclass(frozen=True)
class ClientResult:
    """What a TFTP client run said."""

    ok: bool
    returncode: int
    output: str


def _run(argv: list[str], timeout: float, stdin: str | None = None) -> ClientResult:
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        return ClientResult(False, -1, f"client timed out: {exc}")
    out = proc.stdout + proc.stderr
    ok = proc.returncode == 0 and "Error code" not in out and "timed out" not in out.lower()
    return ClientResult(ok, proc.returncode, out)


def hpa_put(
    port: int,
    local: Path,
    remote: str,
    host: str = "127.0.0.1",
    rexmt: int | None = None,
    timeout: float = CLIENT_TIMEOUT,
) -> ClientResult:
    """`tftp -m binary HOST PORT -c put LOCAL REMOTE` (tftp-hpa, 512-byte blocks).

    With `rexmt`, the commands go on stdin so the retransmission timeout can be set.
    """
    return _hpa("put", port, str(local), remote, host, rexmt, timeout)


def hpa_get(
    port: int,
    remote: str,
    local: Path,
    host: str = "127.0.0.1",
    rexmt: int | None = None,
    timeout: float = CLIENT_TIMEOUT,
) -> ClientResult:
    """`tftp -m binary HOST PORT -c get REMOTE LOCAL`."""
    return _hpa("get", port, remote, str(local), host, rexmt, timeout)


def _hpa(
    verb: str,
    port: int,
    a: str,
    b: str,
    host: str,
    rexmt: int | None,
    timeout: float,
) -> ClientResult:
    tftp = require_binary("tftp")
    family = ["-6"] if ":" in host else []
    if rexmt is None:
        return _run([tftp, *family, "-m", "binary", host, str(port), "-c", verb, a, b], timeout)
    script = f"binary\nrexmt {rexmt}\ntimeout {int(timeout) - 5}\n{verb} {a} {b}\nquit\n"
    return _run([tftp, *family, host, str(port)], timeout, stdin=script)


def atftp_put(
    port: int,
    local: Path,
    remote: str,
    blksize: int | None = None,
    host: str = "127.0.0.1",
    timeout: float = CLIENT_TIMEOUT,
    options: tuple[str, ...] = (),
) -> ClientResult:
    """`atftp [--option "blksize N"] -p -l LOCAL -r REMOTE HOST PORT`."""
    return _atftp("-p", port, local, remote, blksize, host, timeout, options)


def atftp_get(
    port: int,
    remote: str,
    local: Path,
    blksize: int | None = None,
    host: str = "127.0.0.1",
    timeout: float = CLIENT_TIMEOUT,
    options: tuple[str, ...] = (),
) -> ClientResult:
    """`atftp [--option "blksize N"] -g -r REMOTE -l LOCAL HOST PORT`."""
    return _atftp("-g", port, local, remote, blksize, host, timeout, options)


def _atftp(
    verb: str,
    port: int,
    local: Path,
    remote: str,
    blksize: int | None,
    host: str,
    timeout: float,
    options: tuple[str, ...],
) -> ClientResult:
    argv = [require_binary("atftp")]
    if blksize is not None:
        argv += ["--option", f"blksize {blksize}"]
    for option in options:
        argv += ["--option", option]
    argv += [verb, "-l", str(local), "-r", remote, host, str(port)]
    return _run(argv, timeout)


class LossyRelay:
    """A UDP relay between one TFTP client and a server that drops packets both ways.

    The client talks to `relay.port`. Requests go to the server's listening port; once the
    server answers from its transfer port (its TID), the client's packets go there. Loss is
    random with a fixed seed so a failure can be replayed.
    """

    def __init__(
        self,
        server_port: int,
        loss: float = 0.1,
        seed: int = 4,
        host: str = "127.0.0.1",
        delay: float = 0.0,
        drop_reply: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.server = (host, server_port)
        self.drop_reply = drop_reply  # also drops the server's packets it returns True for
        self.loss = loss
        self.delay = delay  # seconds added to each client -> server packet (a slow link)
        self.random = random.Random(seed)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind((host, 0))
        self.port = int(self.front.getsockname()[1])
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind((host, 0))
        self.client: tuple[str, int] | None = None
        self.server_tid: tuple[str, int] | None = None
        self.dropped = [0, 0]  # client->server, server->client
        self.passed = [0, 0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)

    def __enter__(self) -> LossyRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.front.close()
        self.back.close()

    def _drop(self, direction: int) -> bool:
        if self.random.random() < self.loss:
            self.dropped[direction] += 1
            return True
        self.passed[direction] += 1
        return False

    def _pump(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.front, self.back], [], [], 0.1)
            for sock in ready:
                data, addr = sock.recvfrom(70000)
                if sock is self.front:
                    self.client = (addr[0], addr[1])
                    if self.delay:
                        time.sleep(self.delay)
                    if not self._drop(0):
                        self.back.sendto(data, self.server_tid or self.server)
                else:
                    if addr != self.server:
                        self.server_tid = (addr[0], addr[1])
                    if self.drop_reply is not None and self.drop_reply(data):
                        self.dropped[1] += 1
                    elif self.client is not None and not self._drop(1):
                        self.front.sendto(data, self.client)


@pytest.fixture
def tftp_server(tmp_path: Path) -> Iterator[BackgroundTftpServer]:
    """opskit's TFTP server on 127.0.0.1 and a free UDP port; root in tmp_path/tftproot."""
    server = BackgroundTftpServer(tmp_path / "tftproot", "127.0.0.1", 0, max_size=64 << 20)
    server.start()
    yield server
    server.close(drain=0.5)


@pytest.fixture
def in_tftpd(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """tftpd-hpa in the foreground on 127.0.0.1 (a baseline peer); yields (port, root)."""
    binary = shutil.which("in.tftpd") or "/usr/sbin/in.tftpd"
    root = tmp_path / "tftpd-root"
    root.mkdir()
    port = free_port(socket.SOCK_DGRAM)
    peer = start_in_tftpd(binary, root, port, tmp_path / "in.tftpd.log")
    yield port, root
    peer.stop()


def start_in_tftpd(binary: str, root: Path, port: int, log: Path) -> Peer:
    """Start `in.tftpd -L -u root -c -s -a 127.0.0.1:PORT ROOT` and wait until it is bound."""
    peer = Peer([binary, "-L", "-u", "root", "-c", "-s", "-a", f"127.0.0.1:{port}", str(root)], log)

    def bound() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return True
            return False

    wait_until(bound, timeout=10, what="in.tftpd")
    return peer


# --- the fake switch as a TFTP-pushing router -------------------------------------------

# Secrets of the fake switch's canned running-config: never in any output or the history.
FAKESW_SECRETS = ("FakeSwRoCommunity", "FAKESW094F471A1A0A", "FakeSwEnableHash0000")


def write_tftp_inventory(
    path: Path,
    sw: FakeSwitch,
    tftp_port: int,
    *,
    via: str = "telnet",
    address: str = "127.0.0.1",
    keep_secrets: bool = False,
    ping: bool = True,
) -> Path:
    port = sw.telnet_port if via == "telnet" else sw.ssh_port
    path.write_text(
        f"""
settings:
  backup_repo: configs
  tftp: {{listen: "127.0.0.1:{tftp_port}", address: "{address}", timeout: 1}}
credentials:
  lab: {{username: {sw.username}, password: {sw.password}, enable_password: {sw.enable_secret}}}
sites:
  lab: {{}}
devices:
  {sw.name}:
    site: lab
    host: 127.0.0.1
    port: {port}
    platform: cisco_ios
    credentials: lab
    backup:
      method: tftp
      via: {via}
      ping: {str(ping).lower()}
      keep_secrets: {str(keep_secrets).lower()}
      timeout: 40
"""
    )
    return path


def push_from_switch(sw: FakeSwitch, name: str) -> str:
    """Drive the switch's CLI: `copy running-config tftp://127.0.0.1/<name>`, as a person
    would (pressing Enter at the host and file name questions)."""
    from opskit.platforms import Dialog
    from opskit.transport.cli import run_dialog

    dialog = Dialog(
        command=f"copy running-config tftp://127.0.0.1/{name}",
        prompts=(("remote host", ""), ("Destination filename", "")),
    )
    conn = switch_cli(sw)
    try:
        return run_dialog(conn, dialog, "", "", 40)
    finally:
        conn.disconnect()


@pytest.fixture
def tftp_lab(fake_switches: Callable[..., FakeSwitches]) -> tuple[FakeSwitch, int]:
    """One fake switch whose `copy ... tftp:` goes to a free UDP port (where opskit serves)."""
    port = free_port(socket.SOCK_DGRAM)
    return fake_switches(["sw1"], tftp_port=port)["sw1"], port


def switch_cli(sw: FakeSwitch, via: str = "ssh") -> Any:
    """A netmiko session on the fake switch, enabled (the test's own hands on the CLI)."""
    from netmiko import ConnectHandler

    conn = ConnectHandler(
        device_type="cisco_ios_telnet" if via == "telnet" else "cisco_ios",
        host=sw.host,
        port=sw.telnet_port if via == "telnet" else sw.ssh_port,
        username=sw.username,
        password=sw.password,
        secret=sw.enable_secret,
        timeout=20,
    )
    conn.enable()
    return conn


def set_description(sw: FakeSwitch, text: str) -> None:
    """`interface FastEthernet0/1` / `description TEXT` through the switch's config mode."""
    conn = switch_cli(sw)
    try:
        conn.send_config_set(["interface FastEthernet0/1", f"description {text}"])
    finally:
        conn.disconnect()


def running_config(sw: FakeSwitch) -> str:
    """`show running-config` on the switch."""
    conn = switch_cli(sw)
    try:
        return str(conn.send_command("show running-config"))
    finally:
        conn.disconnect()


def git(repo: Path, *args: str) -> str:
    """Plain git in the backup repository."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def assert_no_secrets(*texts: str) -> None:
    """None of the fake switch's secrets appears in any of `texts`."""
    for text in texts:
        for secret in FAKESW_SECRETS:
            assert secret not in text
