"""SNMP agents on loopback for tests and `opskit demo`: snmpsim serving `.snmprec`
recordings, and net-snmp's snmpd with v2c and a v3 authPriv user.

Facts these helpers rely on (checked on Debian 12, snmpsim 1.2.2, net-snmp 5.9.3):

* snmpsim refuses to run as root unless SNMPSIM_ALLOW_ROOT=true; the community is the
  data file's path relative to --data-dir without `.snmprec` (`.snmprec.bz2` works too).
* snmpd reads a v3 `createUser` line only from the persistent dir, and only when that dir
  is on SNMPCONFPATH; ports go on the command line.
* A wrong community is dropped silently, so readiness is "a GET answers".
"""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from opskit.lab.peers import Peer, free_port, wait_until

DATA_DIR = Path(__file__).resolve().parent / "data" / "snmp"

# Lab v3 user for snmpd (obviously fake secrets; tests grep outputs for them).
V3_USER = "opskitv3"
V3_AUTH = "labauthpass123"
V3_PRIV = "labprivpass123"


def _ber_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _ber_len(len(body)) + body


def _v2c_get_sysuptime(community: str) -> bytes:
    # sysUpTime.0 = 1.3.6.1.2.1.1.3.0, encoded by hand so the probe needs no library.
    oid = _tlv(0x06, bytes([0x2B, 6, 1, 2, 1, 1, 3, 0]))
    varbind = _tlv(0x30, oid + b"\x05\x00")
    pdu = _tlv(
        0xA0,
        _tlv(0x02, b"\x01") + _tlv(0x02, b"\x00") + _tlv(0x02, b"\x00") + _tlv(0x30, varbind),
    )
    return _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, community.encode()) + pdu)


def snmp_answers(port: int, community: str = "public", host: str = "127.0.0.1") -> bool:
    """True when a v2c GET of sysUpTime gets any answer within 0.5 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        s.sendto(_v2c_get_sysuptime(community), (host, port))
        try:
            s.recvfrom(65535)
        except TimeoutError:
            return False
        return True


@dataclass
class SnmpAgent:
    """A running agent: where it listens and how to stop it."""

    peer: Peer
    port: int
    host: str = "127.0.0.1"

    def stop(self) -> None:
        """Stop the agent process."""
        self.peer.stop()


def snmpsim_binary() -> str:
    """Path of snmpsim-command-responder (next to the running Python first)."""
    local = Path(sys.executable).parent / "snmpsim-command-responder"
    if local.exists():
        return str(local)
    found = shutil.which("snmpsim-command-responder")
    if found is None:
        raise FileNotFoundError("snmpsim-command-responder not found (pip install snmpsim)")
    return found


def start_snmpsim(
    files: Iterable[Path],
    workdir: Path,
    *,
    port: int | None = None,
    probe_community: str | None = None,
    ready_timeout: float = 60.0,
) -> SnmpAgent:
    """Start snmpsim serving copies of `files` (each file's stem is its community).

    Args:
        files: `.snmprec` / `.snmprec.bz2` files; copied into `workdir/data`.
        workdir: a writable directory for data, cache and log.
        port: UDP port (a free one when None).
        probe_community: a community for the readiness probe; by default every file's
            community is probed, since snmpsim indexes each file on its first request
            (about 2 s for a 28,000-row recording) and drops requests meanwhile.
        ready_timeout: seconds to wait for every answer.

    Returns:
        The running agent.
    """
    data = workdir / "snmpsim-data"
    data.mkdir(parents=True, exist_ok=True)
    names = []
    for f in files:
        shutil.copyfile(f, data / f.name)  # copyfile: a read-only source stays writable here
        names.append(f.name.split(".snmprec")[0])
    if not names:
        raise ValueError("start_snmpsim needs at least one .snmprec file")
    port = port or free_port(socket.SOCK_DGRAM)
    peer = Peer(
        [
            snmpsim_binary(),
            f"--data-dir={data}",
            f"--cache-dir={workdir / 'snmpsim-cache'}",
            f"--agent-udpv4-endpoint=127.0.0.1:{port}",
            # Logging every request costs snmpsim more CPU than answering it.
            "--log-level=error",
        ],
        workdir / "snmpsim.log",
        env={"SNMPSIM_ALLOW_ROOT": "true"},
    )
    pending = [probe_community] if probe_community else list(names)

    def ready() -> bool:
        if not peer.alive():
            raise RuntimeError("snmpsim exited")
        while pending and snmp_answers(port, pending[0]):
            pending.pop(0)
        return not pending

    try:
        wait_until(ready, timeout=ready_timeout, what="snmpsim")
    except TimeoutError:
        peer.stop()
        raise TimeoutError(f"snmpsim not ready: {peer.log_text()[-2000:]}") from None
    return SnmpAgent(peer, port)


SNMPD_CONF = """\
# Written by opskit.lab.snmp: loopback only, v2c + one v3 authPriv user.
rocommunity {community} 127.0.0.1
rouser {user} authpriv
sysName {sysname}
sysLocation Lab rack 1
sysContact noc@example.net
load 12 10 5
disk / 1%
mibs :
"""


def start_snmpd(
    workdir: Path,
    *,
    ports: Iterable[int] = (),
    community: str = "public",
    user: str = V3_USER,
    auth_password: str = V3_AUTH,
    priv_password: str = V3_PRIV,
    sysname: str = "lab-host",
    extra_conf: str = "",
    wait: bool = True,
) -> SnmpAgent:
    """Start net-snmp's snmpd on 127.0.0.1 (v2c community + v3 SHA/AES authPriv user).

    Args:
        workdir: a writable directory (config, persistent dir, log).
        ports: UDP ports to listen on, given on the command line (a config line is cut
            at 2,559 characters, so many ports must not go in snmpd.conf); a free port
            when empty. The returned agent's `port` is the first.
        community, user, auth_password, priv_password: access.
        sysname: the sysName the agent reports.
        extra_conf: more snmpd.conf lines (e.g. `pass`/`override` for fixed values).
        wait: wait until the first port answers.
    """
    port_list = list(ports) or [free_port(socket.SOCK_DGRAM)]
    conf = workdir / "snmpd-conf"
    persist = workdir / "snmpd-persist"
    conf.mkdir(parents=True, exist_ok=True)
    persist.mkdir(mode=0o700, parents=True, exist_ok=True)
    (conf / "snmpd.conf").write_text(
        SNMPD_CONF.format(community=community, user=user, sysname=sysname) + extra_conf
    )
    (conf / "snmp.conf").write_text("mibs :\n")
    (persist / "snmpd.conf").write_text(
        f'createUser {user} SHA "{auth_password}" AES "{priv_password}"\n'
    )
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    endpoints = ",".join(f"udp:127.0.0.1:{p}" for p in port_list)
    peer = Peer(
        [binary, "-f", "-Lo", endpoints],
        workdir / "snmpd.log",
        env={"SNMPCONFPATH": f"{conf}:{persist}", "SNMP_PERSISTENT_DIR": str(persist)},
    )
    if wait:
        try:
            wait_until(
                lambda: peer.alive() and snmp_answers(port_list[0], community),
                timeout=15,
                what="snmpd",
            )
        except TimeoutError:
            peer.stop()
            raise TimeoutError(f"snmpd not ready: {peer.log_text()[-2000:]}") from None
    return SnmpAgent(peer, port_list[0])
