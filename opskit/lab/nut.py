"""NUT's own upsd with dummy-ups drivers on loopback, for tests and `opskit demo`.

Facts these helpers rely on (Debian 12, nut-server 2.8.0):

* Run `/lib/nut/upsd` and `/lib/nut/dummy-ups`, not `/sbin/upsd`: Debian's wrapper
  sources /etc/nut/nut.conf, ignores NUT_CONFPATH and says "upsd disabled".
* As root pass `-u root`, else the driver drops to user `nut` and cannot create its
  socket in a root-owned state dir. As another user, leave `-u` out.
* `mode = dummy-loop` with `pollinterval = 1` re-reads the `.dev` every second, so every
  edit shows (the default dummy-once compares whole-second mtimes and misses edits).
* After a start upsd answers "driver not connected", then WAIT, then the real status,
  in 1-3 s: readiness is a GET VAR answering with the status we wrote.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opskit.lab.peers import Peer, free_port, wait_until

DATA_DIR = Path(__file__).resolve().parent / "data" / "nut"
NUT_LIBEXEC = Path("/lib/nut")
# Lab users in data/nut/upsd.users (fake secrets; tests grep outputs for them).
MONITOR_USER, MONITOR_PASSWORD = "monitor", "lab-mon-pass"
ADMIN_USER, ADMIN_PASSWORD = "admin", "lab-admin-pass"


def read_dev(path: Path) -> dict[str, str]:
    """A `.dev` file (`name: value` lines) as a dict."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            out[name.strip()] = value.strip()
    return out


def online_values() -> dict[str, str]:
    """The variables of a healthy UPS on line (data/nut/online.dev)."""
    return read_dev(DATA_DIR / "online.dev")


def nut_binaries() -> tuple[Path, Path]:
    """Paths of upsd and dummy-ups; FileNotFoundError naming the package when absent."""
    upsd, dummy = NUT_LIBEXEC / "upsd", NUT_LIBEXEC / "dummy-ups"
    for path in (upsd, dummy):
        if not path.exists():
            raise FileNotFoundError(f"{path} not found (apt-get install nut-server)")
    return upsd, dummy


def nut_get(port: int, ups: str, name: str, host: str = "127.0.0.1") -> str:
    """One raw `GET VAR` over a plain socket (the readiness probe; needs no opskit code).

    Returns the reply line (`VAR ups name "value"` or `ERR ...`).
    """
    with socket.create_connection((host, port), timeout=1.0) as s:
        s.sendall(f"GET VAR {ups} {name}\n".encode())
        data = b""
        while not data.endswith(b"\n") and len(data) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace").strip()


@dataclass
class NutLab:
    """A running upsd with one dummy-ups driver per UPS, all in `root`."""

    root: Path
    port: int
    upses: tuple[str, ...]
    upsd: Peer | None = None
    drivers: dict[str, Peer] = field(default_factory=dict)
    host: str = "127.0.0.1"
    ca_file: Path | None = None  # the certificate to trust when STARTTLS is on

    @property
    def conf(self) -> Path:
        """NUT_CONFPATH (ups.conf, upsd.conf, upsd.users and the .dev files)."""
        return self.root / "nut"

    @property
    def env(self) -> dict[str, str]:
        """Environment for the NUT processes."""
        return {"NUT_CONFPATH": str(self.conf), "NUT_STATEPATH": str(self.root / "nut-state")}

    def dev_path(self, ups: str) -> Path:
        """The `.dev` file the driver of `ups` replays."""
        return self.conf / f"{ups}.dev"

    def write_dev(self, ups: str, values: Mapping[str, str | float | int]) -> None:
        """Replace the UPS's variables (temp file + os.replace: the driver never reads half
        a file)."""
        text = "".join(f"{k}: {v}\n" for k, v in values.items())
        fd, tmp = tempfile.mkstemp(prefix=f".{ups}.", dir=self.conf)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, self.dev_path(ups))

    def set_state(self, ups: str, **changes: str | float | int) -> None:
        """Write the healthy on-line values with `changes` (dots as `__`: battery__charge)."""
        values: dict[str, str | float | int] = dict(online_values())
        for key, value in changes.items():
            values[key.replace("__", ".")] = value
        self.write_dev(ups, values)

    def status(self, ups: str) -> str:
        """ups.status as upsd serves it now ("" when upsd does not answer with a value)."""
        line = nut_get(self.port, ups, "ups.status", self.host)
        prefix = f"VAR {ups} ups.status "
        return line[len(prefix) :].strip('"') if line.startswith(prefix) else ""

    def wait_for(self, ups: str, name: str, value: str, timeout: float = 15.0) -> None:
        """Wait until upsd serves `value` for variable `name` (after a .dev edit)."""
        expected = f'VAR {ups} {name} "{value}"'
        wait_until(
            lambda: nut_get(self.port, ups, name, self.host) == expected,
            timeout=timeout,
            what=f"NUT {ups} {name}={value}",
        )

    def start_driver(self, ups: str) -> None:
        """Start (or restart) the dummy-ups driver of one UPS."""
        _, dummy = nut_binaries()
        log = self.root / f"dummy-ups-{ups}.log"
        self.drivers[ups] = Peer([str(dummy), "-a", ups, "-F", *_as_root()], log, env=self.env)

    def stop_driver(self, ups: str) -> None:
        """Stop one driver (upsd then answers ERR DRIVER-NOT-CONNECTED for it)."""
        peer = self.drivers.pop(ups, None)
        if peer is not None:
            peer.stop()

    def stop_upsd(self) -> None:
        """Stop upsd only (clients then get connection refused)."""
        if self.upsd is not None:
            self.upsd.stop()
            self.upsd = None

    def stop(self) -> None:
        """Stop every NUT process of this lab."""
        self.stop_upsd()
        for ups in list(self.drivers):
            self.stop_driver(ups)

    def logs(self) -> str:
        """Everything the NUT processes printed (for a failing test's report)."""
        parts = []
        for log in sorted(self.root.glob("*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')}")
        return "\n".join(parts)


def make_nss_db(where: Path, host: str) -> str:
    """A self-signed certificate for `host` in a new NSS database; returns the upsd.conf
    lines that serve it (CERTPATH, CERTIDENT).

    Raises:
        FileNotFoundError: openssl, certutil or pk12util is missing (libnss3-tools).
    """
    for tool in ("openssl", "certutil", "pk12util"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} not found (apt-get install openssl libnss3-tools)")
    where.mkdir(parents=True, exist_ok=True)
    db, p12_pass, db_pass = where / "nssdb", "lab-p12-pass", "lab-nssdb-pass"
    db.mkdir(exist_ok=True)
    (where / "dbpass.txt").write_text(db_pass + "\n")

    def run(*argv: str) -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=60)

    run(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", str(where / "key.pem"), "-out", str(where / "cert.pem"), "-days", "30",
        "-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host},DNS:localhost",
    )  # fmt: skip
    run(
        "openssl", "pkcs12", "-export", "-in", str(where / "cert.pem"),
        "-inkey", str(where / "key.pem"), "-name", "upsd",
        "-out", str(where / "upsd.p12"), "-passout", f"pass:{p12_pass}",
    )  # fmt: skip
    run("certutil", "-N", "-d", f"sql:{db}", "-f", str(where / "dbpass.txt"))
    run(
        "pk12util", "-i", str(where / "upsd.p12"), "-d", f"sql:{db}",
        "-k", str(where / "dbpass.txt"), "-W", p12_pass,
    )  # fmt: skip
    return f"CERTPATH {db}\nCERTIDENT upsd {db_pass}\n"


def _as_root() -> list[str]:
    return ["-u", "root"] if os.geteuid() == 0 else []


def start_nut(
    root: Path,
    upses: Sequence[str] = ("rack1",),
    *,
    port: int | None = None,
    tls: bool = False,
    ready_timeout: float = 20.0,
) -> NutLab:
    """Start upsd on a free loopback port with one dummy-ups per UPS, all on line.

    Args:
        root: an empty directory for the config, state and logs.
        upses: UPS names (each gets `<name>.dev` with the on-line values).
        port: the TCP port (default: a free one).
        tls: offer STARTTLS with a fresh self-signed certificate for 127.0.0.1
            (`lab.ca_file` is the PEM a client trusts); needs openssl and NSS's certutil
            and pk12util (Debian's upsd uses NSS).
        ready_timeout: seconds to wait until every UPS reports OL.

    Returns:
        The running lab; call `stop()` when done.
    """
    upsd, _ = nut_binaries()
    lab = NutLab(root=Path(root), port=port or free_port(), upses=tuple(upses))
    lab.conf.mkdir(parents=True, exist_ok=True)
    (lab.root / "nut-state").mkdir(exist_ok=True)
    # File by file with copyfile: copytree/copy would carry a read-only mode over.
    for name in ("nut.conf", "upsd.users"):
        shutil.copyfile(DATA_DIR / name, lab.conf / name)
    os.chmod(lab.conf / "upsd.users", 0o600)
    upsd_conf = f"LISTEN {lab.host} {lab.port}\n"
    if tls:
        upsd_conf += make_nss_db(lab.root / "tls", lab.host)
        lab.ca_file = lab.root / "tls" / "cert.pem"
    (lab.conf / "upsd.conf").write_text(upsd_conf)
    sections = [
        f"[{ups}]\n    driver = dummy-ups\n    port = {ups}.dev\n    mode = dummy-loop\n"
        f'    desc = "opskit lab UPS {ups}"\n'
        for ups in lab.upses
    ]
    (lab.conf / "ups.conf").write_text("pollinterval = 1\n\n" + "\n".join(sections))
    for ups in lab.upses:
        lab.set_state(ups)
    try:
        for ups in lab.upses:
            lab.start_driver(ups)
        lab.upsd = Peer([str(upsd), "-F", *_as_root()], lab.root / "upsd.log", env=lab.env)
        for ups in lab.upses:
            lab.wait_for(ups, "ups.status", "OL", timeout=ready_timeout)
    except BaseException:
        lab.stop()
        raise
    return lab
